"""Who is calling, as established by a verified token (or the local stand-in)."""

from __future__ import annotations

from dataclasses import dataclass

from api.auth.scopes import READ, WRITE
from api.config import EMAIL_PREFIX, SUBJECT_PREFIX


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    subject: str
    email: str | None = None
    issuer: str
    scopes: frozenset[str]

    @property
    def name(self) -> str:
        """How logs and tags name the caller: the verified email if there is one, else
        the subject as ``sub:<subject>`` - so a subject spelled like an address never
        reads as that address."""
        return self.email or SUBJECT_PREFIX + self.subject

    @property
    def key(self) -> str:
        """The caller's identity in the form ``LEDGER_AUTH_PRINCIPAL_SCOPES`` keys take;
        the two namespaces are disjoint by construction."""
        return EMAIL_PREFIX + self.email if self.email else SUBJECT_PREFIX + self.subject

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or (scope == READ and WRITE in self.scopes)

    @property
    def can_read(self) -> bool:
        return self.has_scope(READ)

    @property
    def can_write(self) -> bool:
        return self.has_scope(WRITE)


# Every request's principal when authentication is off (auth_mode = "none").
LOCAL_PRINCIPAL = Principal(subject="local", issuer="local", scopes=frozenset({READ, WRITE}))

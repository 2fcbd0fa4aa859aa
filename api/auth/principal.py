"""Who is calling, as established by a verified token (or the local stand-in)."""

from __future__ import annotations

from dataclasses import dataclass

from api.auth.scopes import READ, WRITE


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    subject: str
    email: str | None = None
    issuer: str
    scopes: frozenset[str]

    @property
    def name(self) -> str:
        """How logs name the caller: the email if the token has a verified one."""
        return self.email or self.subject

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

"""The worker's database handles: one per Spanner database role.

Reads run through the reader handle and writes through the writer handle, so that
with fine-grained access control on, Spanner itself refuses a write made with a
read-only caller's rights. With roles off, both names point at one handle.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.cloud import spanner

from api.config import Settings
from api.spanner.database import LedgerDatabase, build_client


@dataclass(frozen=True)
class DatabaseHandles:
    reader: LedgerDatabase
    writer: LedgerDatabase

    @classmethod
    def open(cls, settings: Settings, client: spanner.Client | None = None) -> DatabaseHandles:
        client = client or build_client(settings)
        if settings.use_database_roles:
            handles = cls(
                reader=LedgerDatabase(settings, client, role=settings.reader_role),
                writer=LedgerDatabase(settings, client, role=settings.writer_role),
            )
        else:
            shared = LedgerDatabase(settings, client)
            handles = cls(reader=shared, writer=shared)
        for handle in handles.distinct():
            handle.open()
        return handles

    def distinct(self) -> list[LedgerDatabase]:
        return [self.reader] if self.reader is self.writer else [self.reader, self.writer]

    def close(self) -> None:
        for handle in self.distinct():
            handle.close()

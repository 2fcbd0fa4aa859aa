"""The app's wiring of the Spanner layer: settings in, one handle per database role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.cloud import spanner

from api.config import Settings
from api.spanner.config import SpannerConfig
from api.spanner.database import SpannerDatabase
from api.spanner.env import configure_client_environment


def spanner_config(settings: Settings) -> SpannerConfig:
    return SpannerConfig(
        instance=settings.spanner_instance,
        database=settings.spanner_database,
        session_mode=settings.effective_session_mode,
        pool_size=settings.pool_size,
        pool_ping_interval_seconds=settings.pool_ping_interval_seconds,
        max_inflight_writes=settings.effective_max_inflight_writes,
        abort_retry_base_ms=settings.abort_retry_base_ms,
        abort_retry_cap_ms=settings.abort_retry_cap_ms,
        background_timeout_seconds=settings.pool_timeout_seconds,
        stale_read_replica_type=settings.stale_read_replica_type,
        stale_read_location=settings.stale_read_location,
    )


def build_client(settings: Settings, **kwargs: Any) -> spanner.Client:
    configure_client_environment(
        multiplexed=settings.effective_session_mode == "multiplexed",
        emulator_host=settings.emulator_host,
    )
    return spanner.Client(project=settings.project, **kwargs)


@dataclass(frozen=True)
class DatabaseHandles:
    """One handle per Spanner database role.

    Reads run through the reader handle and writes through the writer handle, so that
    with fine-grained access control on, Spanner itself refuses a write made with a
    read-only caller's rights. With roles off, both names point at one handle.
    """

    reader: SpannerDatabase
    writer: SpannerDatabase

    @classmethod
    def open(cls, settings: Settings, client: spanner.Client | None = None) -> DatabaseHandles:
        client = client or build_client(settings)
        config = spanner_config(settings)
        if settings.use_database_roles:
            handles = cls(
                reader=SpannerDatabase(config, client, role=settings.reader_role),
                writer=SpannerDatabase(config, client, role=settings.writer_role),
            )
        else:
            shared = SpannerDatabase(config, client)
            handles = cls(reader=shared, writer=shared)
        for handle in handles.distinct():
            handle.open()
        return handles

    def distinct(self) -> list[SpannerDatabase]:
        return [self.reader] if self.reader is self.writer else [self.reader, self.writer]

    def close(self) -> None:
        for handle in self.distinct():
            handle.close()

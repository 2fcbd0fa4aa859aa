"""How this layer is told to behave: plain values, no knowledge of the app's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

SessionMode = Literal["pooled", "multiplexed"]


@dataclass(frozen=True)
class SpannerConfig:
    instance: str
    database: str
    session_mode: SessionMode = "pooled"
    pool_size: int = 16
    # Idle sessions are deleted by Spanner after an hour; ping well inside that.
    pool_ping_interval_seconds: int = 1800
    # Read-write transactions in flight per handle; None = no limit.
    max_inflight_writes: int | None = None
    abort_retry_base_ms: float = 2.0
    abort_retry_cap_ms: float = 200.0
    # The budget of an RPC made outside any request (start-up, the pinger).
    background_timeout_seconds: float = 30.0
    # Where stale reads go: a replica type ("READ_ONLY", "READ_WRITE") and optionally a
    # location (a region of the instance's configuration). None: wherever Spanner likes.
    stale_read_replica_type: str | None = None
    stale_read_location: str | None = None

    @property
    def directed_read_options(self) -> dict[str, Any] | None:
        if self.stale_read_replica_type is None and self.stale_read_location is None:
            return None
        selection: dict[str, Any] = {}
        if self.stale_read_replica_type is not None:
            selection["type_"] = self.stale_read_replica_type
        if self.stale_read_location is not None:
            selection["location"] = self.stale_read_location
        # Falls back to other replicas when the chosen ones are unavailable.
        return {"include_replicas": {"replica_selections": [selection]}}

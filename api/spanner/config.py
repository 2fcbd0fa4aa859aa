"""How this layer is told to behave: plain values, no knowledge of the app's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

"""Process environment the Spanner client library reads at call time.

The client decides per transaction whether to use multiplexed sessions by reading
these variables, so they must be set before the first Spanner call of the process.
"""

from __future__ import annotations

import os

from api.config import Settings

MULTIPLEXED_ENV_VARS = (
    "GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS",
    "GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS_FOR_RW",
    "GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS_PARTITIONED_OPS",
)


def configure_client_environment(settings: Settings) -> None:
    # The emulator (1.5.x) has no multiplexed sessions: with the library's default,
    # concurrent read-write transactions fail with "Transaction not found".
    multiplexed = settings.effective_session_mode == "multiplexed"
    for name in MULTIPLEXED_ENV_VARS:
        os.environ[name] = "true" if multiplexed else "false"
    if settings.on_emulator:
        os.environ["SPANNER_EMULATOR_HOST"] = settings.emulator_host or ""
        # The built-in metrics exporter would install a no-op global MeterProvider.
        os.environ["SPANNER_DISABLE_BUILTIN_METRICS"] = "true"

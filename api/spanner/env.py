"""Process environment the Spanner client library reads at call time.

The client decides per transaction whether to use multiplexed sessions by reading
these variables, so they must be set before the first Spanner call of the process.
"""

from __future__ import annotations

import os

MULTIPLEXED_ENV_VARS = (
    "GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS",
    "GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS_FOR_RW",
    "GOOGLE_CLOUD_SPANNER_MULTIPLEXED_SESSIONS_PARTITIONED_OPS",
)


def configure_client_environment(*, multiplexed: bool, emulator_host: str | None) -> None:
    # The emulator (1.5.x) has no multiplexed sessions: with the library's default,
    # concurrent read-write transactions fail with "Transaction not found".
    for name in MULTIPLEXED_ENV_VARS:
        os.environ[name] = "true" if multiplexed else "false"
    if emulator_host:
        os.environ["SPANNER_EMULATOR_HOST"] = emulator_host
        # The built-in metrics exporter would install a no-op global MeterProvider.
        os.environ["SPANNER_DISABLE_BUILTIN_METRICS"] = "true"

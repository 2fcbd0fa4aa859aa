"""``make run``: the service on $PORT against a Spanner emulator, for local use.

Uses the emulator at SPANNER_EMULATOR_HOST when that is set; otherwise starts a private
one on free ports and stops it (by PID) on exit. Creates the instance and database if
missing, applies spanner_ddl/, and serves with uvicorn. Local defaults (authentication
off, local project) apply only to variables the caller has not set.
"""

from __future__ import annotations

import os
import sys

import uvicorn
from google.cloud import spanner

from api.app import create_app
from api.config import Settings
from api.spanner.migrations import apply_migrations
from api.storage import build_client
from devtools.admin import ensure_instance_and_database
from devtools.emulator import Emulator, EmulatorNotFound

LOCAL_DEFAULTS = {
    "LEDGER_AUTH_MODE": "none",
    "LEDGER_PROJECT": "local-project",
    "LEDGER_SPANNER_INSTANCE": "ledger",
    "LEDGER_SPANNER_DATABASE": "ledger",
}


def main() -> int:
    # Settings read the environment when built, below: defaults go in first.
    for name, value in LOCAL_DEFAULTS.items():
        os.environ.setdefault(name, value)

    emulator: Emulator | None = None
    if not os.environ.get("SPANNER_EMULATOR_HOST"):
        try:
            emulator = Emulator().start()
        except EmulatorNotFound as exc:
            print(exc, file=sys.stderr)
            return 1
        os.environ["SPANNER_EMULATOR_HOST"] = emulator.address
        print(f"Started Spanner emulator at {emulator.address} (pid {emulator.pid})")
    try:
        settings = Settings()
        client = build_client(settings)
        ensure_instance_and_database(client, settings.spanner_instance, settings.spanner_database)
        database = client.instance(settings.spanner_instance).database(
            settings.spanner_database, pool=spanner.BurstyPool(target_size=1)
        )
        apply_migrations(database, settings.ddl_dir, emulator=True)
        port = int(os.environ.get("PORT", "8080"))
        host = os.environ.get("HOST", "127.0.0.1")
        print(f"Serving spanner-ledger on http://{host}:{port} (authentication: "
              f"{settings.auth_mode}); Ctrl-C stops it.")  # fmt: skip
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_config=None,
            timeout_graceful_shutdown=8,
        )
    finally:
        if emulator is not None:
            pid = emulator.pid
            emulator.stop()
            print(f"Stopped Spanner emulator (pid {pid}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

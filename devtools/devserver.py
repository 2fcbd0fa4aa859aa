"""``make run``: the service on $PORT against a Spanner emulator, for local use.

Uses the emulator at SPANNER_EMULATOR_HOST when that is set; otherwise starts a private
one on free ports and stops it (by PID) on exit. Creates the instance and database if
missing, applies spanner_ddl/, and serves with uvicorn. Local defaults (authentication
off, local project) apply only to variables the caller has not set.

Beside it runs the event pipeline (``python -m api.events``: the relay, Pub/Sub and any
``LEDGER_EVENTS_WEBHOOKS``) with a private Pub/Sub emulator, topic ``ledger-events`` and
an ordered subscription ``ledger-events-local``; all stopped with the service.
``LEDGER_EVENTS_ENABLED=false`` runs the service alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import uvicorn
from google.cloud import spanner

from api.app import create_app
from api.config import Settings
from api.spanner.migrations import apply_migrations
from api.storage import build_client
from devtools.admin import ensure_instance_and_database
from devtools.emulator import Emulator, EmulatorNotFound
from devtools.pubsub import ensure_topic_and_subscription, pubsub_emulator

EVENTS_TOPIC = "ledger-events"
EVENTS_SUBSCRIPTION = "ledger-events-local"

LOCAL_DEFAULTS = {
    "LEDGER_AUTH_MODE": "none",
    "LEDGER_PROJECT": "local-project",
    "LEDGER_SPANNER_INSTANCE": "ledger",
    "LEDGER_SPANNER_DATABASE": "ledger",
}


def main() -> int:
    _stop_on_sigterm()
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
        with _event_pipeline(settings):
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


def _stop_on_sigterm() -> None:
    """SIGTERM (a process supervisor, CI, ``kill``) stops ``make run`` as Ctrl-C does.

    Python's default ends the process at once, skipping every ``finally``: the emulators
    it started, each in a session of its own, would run on. uvicorn handles the signal
    while it serves and raises it again once it has stopped: this handler is what then
    unwinds through the clean-ups.
    """

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


@contextlib.contextmanager
def _event_pipeline(settings: Settings) -> Iterator[None]:
    """The relay and its deliveries beside the service, with a Pub/Sub emulator."""
    if os.environ.get("LEDGER_EVENTS_ENABLED", "true").lower() in ("0", "false", "no"):
        yield
        return
    with contextlib.ExitStack() as stack:
        env = {key: value for key, value in os.environ.items() if key != "PORT"}
        if not os.environ.get("PUBSUB_EMULATOR_HOST"):
            try:
                emulator = stack.enter_context(pubsub_emulator())
                env["PUBSUB_EMULATOR_HOST"] = emulator.address
                print(f"Started Pub/Sub emulator at {emulator.address} (pid {emulator.pid})")
            except EmulatorNotFound as exc:
                print(f"Events go to the feed and webhooks only: {exc}", file=sys.stderr)
        if "PUBSUB_EMULATOR_HOST" in env:
            env.setdefault("LEDGER_EVENTS_PUBSUB_TOPIC", EVENTS_TOPIC)
            ensure_topic_and_subscription(
                env["PUBSUB_EMULATOR_HOST"], settings.project,
                env["LEDGER_EVENTS_PUBSUB_TOPIC"], EVENTS_SUBSCRIPTION,
            )  # fmt: skip
            where = f"projects/{settings.project}/subscriptions/{EVENTS_SUBSCRIPTION}"
            print(
                f"Events on Pub/Sub: {where} (PUBSUB_EMULATOR_HOST={env['PUBSUB_EMULATOR_HOST']})"
            )
        relay = subprocess.Popen([sys.executable, "-m", "api.events"], env=env)
        print(f"Started the event pipeline (pid {relay.pid}): GET /v1/events")
        try:
            yield
        finally:
            relay.send_signal(signal.SIGTERM)
            try:
                relay.wait(15)
            except subprocess.TimeoutExpired:
                relay.kill()
            print(f"Stopped the event pipeline (pid {relay.pid}).")


if __name__ == "__main__":
    sys.exit(main())

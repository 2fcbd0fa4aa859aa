"""``python -m api.events``: the event pipeline (relay, Pub/Sub, webhooks) until SIGTERM.

Configured like the service (``LEDGER_*``, ``SPANNER_EMULATOR_HOST``) plus
``LEDGER_EVENTS_*`` (api/events/config.py); ``PUBSUB_EMULATOR_HOST`` points the Pub/Sub
client at an emulator. With ``PORT`` set (Cloud Run) it answers health checks on it.

Exits 0 when stopped, and ``EXIT_REFUSED`` (3) when the relay refused to leave a gap in
the events (its log line starts with "events relay refused:": alert on it).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from api.config import Settings
from api.events.config import EventSettings
from api.events.pipeline import PARTS, Pipeline, build_pipeline
from api.observability import configure_logging

log = logging.getLogger("api.events")

EXIT_REFUSED = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.events", description=__doc__)
    parser.add_argument(
        "--parts", default=",".join(PARTS),
        help=f"what this process runs, of {', '.join(PARTS)} (default: all)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        parser.error(f"--parts takes some of {', '.join(PARTS)}; not {', '.join(unknown)}")
    settings = Settings()
    configure_logging(settings.log_level, settings.project)
    pipeline = build_pipeline(settings, EventSettings(), parts)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("events pipeline: signal %d, stopping", signum)
        pipeline.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = os.environ.get("PORT")
    if port:
        _serve_health(pipeline, int(port))
    pipeline.start()
    log.info(
        "events pipeline running: %s and %d deliveries (%s)",
        "relay" if pipeline.relay is not None else "no relay", len(pipeline.runners),
        ", ".join(r.sink_id for r in pipeline.runners) or "feed only",
    )  # fmt: skip
    try:
        pipeline.wait()
    finally:
        pipeline.close()
    return EXIT_REFUSED if pipeline.refused else 0


def _serve_health(pipeline: Pipeline, port: int) -> None:
    """Cloud Run wants a port: 200 while every thread of the pipeline runs, else 503."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            alive = all(t.is_alive() for t in pipeline.threads) and not pipeline.stop.is_set()
            self.send_response(200 if alive else 503)
            self.end_headers()
            self.wfile.write(b"ok\n" if alive else b"stopping\n")

        def log_message(self, *_args: object) -> None:
            return  # probes every few seconds: not worth a log line each

    server = ThreadingHTTPServer(("0.0.0.0", port), Health)  # noqa: S104 - Cloud Run's port
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())

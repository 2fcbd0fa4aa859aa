"""The event pipeline's cost and lag, against the service's in the same run.

``python -m bench.events [--seconds 15]`` writes docs/BENCHMARKS-events.md; ``make
bench`` runs it too. On these 2-core machines the pipeline shares the CPU and the
emulator (one read-write transaction at a time) with the service, so it is measured in
three ways, one after the other, on one database:

1. **The service alone**: 32 clients of single POSTs, closed loop, no pipeline running:
   its rate and its process CPU per transfer.
2. **The pipeline on its own**: the events of pass 1 wait in the change stream; each part
   then runs alone, as a process of its own (``python -m api.events --parts ...``), until
   it has caught up, the service idle: its process CPU per event (from the moment the
   process reports it runs, so its imports are not counted). The relay reads the stream
   into Events; the Pub/Sub delivery and the webhook delivery each read Events and send.
3. **The service with the pipeline beside it**, as deployed (one process, every part):
   32 clients again: the rate the service sustains so, and commit -> Pub/Sub and commit
   -> webhook lag over the ``transfer.created`` events of that pass (receipt time minus
   commit timestamp, one clock; Pub/Sub: the primary copy).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from google.cloud import pubsub_v1  # type: ignore[attr-defined]

from bench import cpu, harness, scenarios
from devtools.emulator import Emulator, free_port
from devtools.pubsub import ensure_topic_and_subscription, pubsub_emulator

DOC = harness.ROOT / "docs" / "BENCHMARKS-events.md"
KEY = os.urandom(32)
CLIENTS = 32
TARGET_P99_MS = 2000.0
TARGET_CPU_RATIO = 1.5  # a part's CPU per event against the service's per transfer
DATABASE = "events"
TOPIC = "ledger-events"


@dataclass(frozen=True)
class Part:
    name: str
    events: int
    cpu_ms_per_event: float
    seconds: float  # to catch up alone
    emulator_cpu_ms_per_event: float  # what the part cost the Spanner emulator


@dataclass(frozen=True)
class EventsBench:
    alone: scenarios.Measurement  # pass 1: the service, no pipeline
    parts: list[Part]  # pass 2: each part on its own
    beside: scenarios.Measurement  # pass 3: the service with the pipeline beside it
    events: int  # pass 3's transfer.created events
    pubsub_p50_ms: float
    pubsub_p99_ms: float
    webhook_p50_ms: float
    webhook_p99_ms: float
    pipeline_cpu_ms_per_event: float  # pass 3, the whole pipeline process
    missing_pubsub: int
    missing_webhook: int


class Receipts:
    """When each event first arrived."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.committed: dict[str, float] = {}
        self.lock = threading.Lock()

    def add(self, event: dict[str, object]) -> None:
        now = time.time()
        with self.lock:
            if event["id"] not in self.at:
                self.at[str(event["id"])] = now
                stamp = datetime.fromisoformat(str(event["occurred_at"]))
                self.committed[str(event["id"])] = stamp.timestamp()

    def count(self) -> int:
        with self.lock:
            return len(self.at)

    def lags_ms(self, ids: set[str]) -> list[float]:
        with self.lock:
            return [(self.at[i] - self.committed[i]) * 1000 for i in ids if i in self.at]


def _webhook_server(receipts: Receipts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            receipts.add(json.loads(body))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class PipelineProcess:
    """``python -m api.events --parts ...``; its CPU counted from when it runs."""

    def __init__(self, env: dict[str, str], parts: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.events", "--parts", parts], cwd=harness.ROOT,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.running = threading.Event()
        self.cpu_at_start = 0.0
        threading.Thread(target=self._read, daemon=True).start()
        if not self.running.wait(60):
            self.stop()
            raise RuntimeError("the pipeline did not start:\n" + "".join(self.lines[-20:]))

    def _read(self) -> None:
        for line in self.process.stdout or ():
            self.lines.append(line)
            if not self.running.is_set() and "events pipeline running" in line:
                self.cpu_at_start = cpu.process_seconds(self.process.pid)
                self.running.set()

    def cpu_seconds(self) -> float:
        return cpu.process_seconds(self.process.pid) - self.cpu_at_start

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def _wait(condition: Callable[[], bool], timeout: float = 600) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError("the pipeline did not catch up")
        time.sleep(0.1)
    return time.monotonic() - started


def _feed(http: httpx.Client) -> list[dict[str, Any]]:
    """Every event the feed serves now."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"after": cursor} if cursor else {})}
        page = http.get("/v1/events", params=params).json()
        items += page["items"]
        if len(page["items"]) < 1000:
            return items
        cursor = page["next_cursor"]


def _feed_count(http: httpx.Client) -> int:
    return len(_feed(http))


def _created_since(http: httpx.Client, started: float) -> set[str]:
    """The ids of the transfer.created events committed since ``started`` (epoch s)."""
    return {
        e["id"]
        for e in _feed(http)
        if e["type"] == "transfer.created"
        and datetime.fromisoformat(e["occurred_at"]).timestamp() >= started
    }


def measure(emulator: Emulator, seconds: float, accounts: int = 100) -> EventsBench:
    host = emulator.address
    settings = harness.create_database(host, DATABASE)
    pubsub_receipts, webhook_receipts = Receipts(), Receipts()
    webhook = _webhook_server(webhook_receipts)
    with pubsub_emulator() as pubsub, harness.service(host, DATABASE, {}) as url:
        _, subscription = ensure_topic_and_subscription(
            pubsub.address, settings.project, TOPIC, "bench"
        )
        subscriber = pubsub_v1.SubscriberClient()

        def on_message(message: pubsub_v1.subscriber.message.Message) -> None:
            if message.attributes.get("primary") == "true":
                pubsub_receipts.add(json.loads(message.data))
            message.ack()

        streaming = subscriber.subscribe(subscription, on_message)
        secret = "whsec_" + base64.b64encode(KEY).decode()
        hook = f"http://127.0.0.1:{webhook.server_port}/hook"
        env = {
            **os.environ, "SPANNER_EMULATOR_HOST": host,
            "LEDGER_PROJECT": settings.project, "LEDGER_SPANNER_INSTANCE": harness.INSTANCE,
            "LEDGER_SPANNER_DATABASE": DATABASE, "LEDGER_LOG_LEVEL": "INFO",
            "PUBSUB_EMULATOR_HOST": pubsub.address, "LEDGER_EVENTS_PUBSUB_TOPIC": TOPIC,
            "LEDGER_EVENTS_WEBHOOKS": json.dumps([{"id": "bench", "url": hook, "secret": secret}]),
        }  # fmt: skip
        watched = cpu.Watched(emulator.pid or 0, harness.SERVICE_PIDS[url])
        ids = harness.open_accounts(url, accounts, "lag")
        http = httpx.Client(base_url=url, timeout=30)
        try:
            scenarios.single_posts(url, ids, 4, 2.0, "warm-up")
            alone = cpu.measured(
                watched,
                lambda: scenarios.single_posts(url, ids, CLIENTS, seconds, "service alone"),
            )
            parts = _parts_alone(env, http, pubsub_receipts, webhook_receipts, emulator.pid or 0)
            whole = PipelineProcess(env, "relay,pubsub,webhooks")
            try:
                before = whole.cpu_seconds()
                started = time.time()
                beside = cpu.measured(
                    watched,
                    lambda: scenarios.single_posts(
                        url, ids, CLIENTS, seconds, "service, pipeline beside"
                    ),
                )
                expected = _caught_up(http, started, beside.transfers)
                _wait(
                    lambda: (
                        expected <= pubsub_receipts.at.keys()
                        and expected <= webhook_receipts.at.keys()
                    ),
                    timeout=120,
                )
                spent = whole.cpu_seconds() - before
            finally:
                whole.stop()
        finally:
            http.close()
            streaming.cancel()
            subscriber.close()
            webhook.shutdown()
    pubsub_lags = pubsub_receipts.lags_ms(expected)
    webhook_lags = webhook_receipts.lags_ms(expected)
    return EventsBench(
        alone=alone, parts=parts, beside=beside, events=len(expected),
        pubsub_p50_ms=_pct(pubsub_lags, 50), pubsub_p99_ms=_pct(pubsub_lags, 99),
        webhook_p50_ms=_pct(webhook_lags, 50), webhook_p99_ms=_pct(webhook_lags, 99),
        pipeline_cpu_ms_per_event=spent * 1000 / max(len(expected), 1),
        missing_pubsub=len(expected - pubsub_receipts.at.keys()),
        missing_webhook=len(expected - webhook_receipts.at.keys()),
    )  # fmt: skip


def _parts_alone(
    env: dict[str, str], http: httpx.Client, pubsub: Receipts, webhook: Receipts, emulator_pgid: int
) -> list[Part]:
    """Each part of the pipeline on its own, through the backlog pass 1 left."""
    upto = datetime.now().astimezone()  # the relay's first start: it reads from the beginning
    waits: list[tuple[str, Callable[[], bool]]] = [
        ("relay", lambda: _complete_past(http, upto)),
        ("pubsub", lambda: pubsub.count() >= total),
        ("webhooks", lambda: webhook.count() >= total),
    ]
    parts = []
    total = 0
    for name, caught_up in waits:
        process = PipelineProcess(env, name)
        emulator_before = cpu.group_seconds(emulator_pgid)
        try:
            took = _wait(caught_up)
            total = total or _feed_count(http)
            spent = process.cpu_seconds()
            emulator = cpu.group_seconds(emulator_pgid) - emulator_before
        finally:
            process.stop()
        per = 1000 / max(total, 1)
        parts.append(Part(name, total, spent * per, took, emulator * per))
    return parts


def _complete_past(http: httpx.Client, instant: datetime) -> bool:
    until = http.get("/v1/events").json()["complete_until"]
    return until is not None and datetime.fromisoformat(until) >= instant


def _caught_up(http: httpx.Client, started: float, made: int) -> set[str]:
    """The ids of pass 3's transfer.created events, once the feed has them all."""
    deadline = time.monotonic() + 120
    while True:
        ids = _created_since(http, started)
        if len(ids) >= made or time.monotonic() > deadline:
            return ids
        time.sleep(0.5)


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def render(bench: EventsBench) -> str:
    service_ms = bench.alone.service_cpu_ms or float("nan")

    def cpu_verdict(ms: float) -> str:
        ratio = ms / service_ms
        met = "met" if ratio <= TARGET_CPU_RATIO else "**not met**"
        return f"{ratio:.2f}x ({met})"

    def lag_verdict(p99: float) -> str:
        return "met" if p99 <= TARGET_P99_MS else "**not met**"

    parts = "\n".join(
        f"| {p.name} | {p.events:,} | {p.seconds:.1f} s | {p.events / p.seconds:,.0f}/s "
        f"| {p.cpu_ms_per_event:.3f} ms | {cpu_verdict(p.cpu_ms_per_event)} "
        f"| {p.emulator_cpu_ms_per_event:.3f} ms |"
        for p in bench.parts
    )
    kept = bench.beside.transfers_per_second / bench.alone.transfers_per_second
    return f"""# Event pipeline benchmark

Written by `make bench` (or `python -m bench.events`); one run on this machine (2 cores):
a private Spanner emulator, the service as a uvicorn process, the pipeline as processes
of its own (`python -m api.events`), the gcloud SDK's Pub/Sub emulator, a local webhook
receiver and the load generator, all on the same two cores. How each figure is taken is
in bench/events.py's docstring: the service alone, each part of the pipeline alone
through the backlog the service left, then the two together.

## The service alone (pass 1)

{CLIENTS} clients of single POSTs, closed loop, no pipeline: **{bench.alone.transfers_per_second:,.0f} transfers/s**, service CPU per transfer **{service_ms:.3f} ms** (emulator {bench.alone.emulator_cpu_ms:.3f} ms).

## Each part of the pipeline alone (pass 2)

The events pass 1 committed (and the accounts opened before it), read and sent by one
part at a time, the service idle. Target: CPU per event at most {TARGET_CPU_RATIO}x the
service's CPU per transfer of pass 1.

| part | events | to catch up | rate | CPU per event | against the service's per transfer | the emulator's CPU per event |
|---|---:|---:|---:|---:|---|---:|
{parts}

## The service with the pipeline beside it (pass 3)

{CLIENTS} clients of single POSTs again, the pipeline running as deployed (one process,
every part): **{bench.beside.transfers_per_second:,.0f} transfers/s**, {kept:.0%} of the
rate without it (the emulator runs the pipeline's writes and the service's one at a time,
and they share two cores). Lag over the pass's {bench.events:,} `transfer.created`
events; target p99 at most {TARGET_P99_MS / 1000:.0f} s.

| | p50 | p99 | verdict | not received |
|---|---:|---:|---|---:|
| commit -> Pub/Sub | {bench.pubsub_p50_ms:,.0f} ms | {bench.pubsub_p99_ms:,.0f} ms | {lag_verdict(bench.pubsub_p99_ms)} | {bench.missing_pubsub} |
| commit -> webhook | {bench.webhook_p50_ms:,.0f} ms | {bench.webhook_p99_ms:,.0f} ms | {lag_verdict(bench.webhook_p99_ms)} | {bench.missing_webhook} |

The whole pipeline process spent {bench.pipeline_cpu_ms_per_event:.3f} ms of CPU per event
in this pass (relay and both deliveries; with the service beside it, its polls and
flushes wait behind the service's transactions).
"""  # noqa: E501


def write(bench: EventsBench) -> Path:
    DOC.write_text(render(bench))
    return DOC


def measure_all(emulator: Emulator, seconds: float) -> EventsBench:
    result = measure(emulator, seconds)
    print(result, flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    with Emulator() as emulator:
        result = measure_all(emulator, args.seconds)
    print(render(result))
    if not args.no_docs:
        print(f"wrote {write(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

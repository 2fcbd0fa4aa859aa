"""End-to-end lag of the event pipeline: commit -> Pub/Sub receipt and -> webhook receipt,
at a steady rate of single-transfer POSTs, and the pipeline process's CPU per event.

``python -m bench.events [--rate 300] [--seconds 15]`` writes docs/BENCHMARKS-events.md;
``make bench`` runs it too. Lag is receipt time minus the event's commit timestamp
(one machine, one clock). The rate is paced by the load generator (open loop): if the
service cannot keep it, the achieved rate is what the report says.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from google.cloud import pubsub_v1  # type: ignore[attr-defined]

from bench import harness
from devtools.emulator import Emulator, free_port
from devtools.pubsub import ensure_topic_and_subscription, pubsub_emulator

DOC = harness.ROOT / "docs" / "BENCHMARKS-events.md"
KEY = os.urandom(32)
TARGET_P99_MS = 2000.0
RATE = 300.0  # transfers/s, the steady load


@dataclass(frozen=True)
class Lag:
    rate_asked: float
    rate_achieved: float
    events: int
    pubsub_p50_ms: float
    pubsub_p99_ms: float
    webhook_p50_ms: float
    webhook_p99_ms: float
    pipeline_cpu_ms_per_event: float
    missing_pubsub: int
    missing_webhook: int


class Receipts:
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


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _paced_posts(url: str, accounts: list[str], rate: float, seconds: float) -> tuple[int, float]:
    """Open loop: transfer n is sent at start + n / rate, whatever came back before."""
    count = int(rate * seconds)
    local = threading.local()

    def post(n: int, due: float) -> bool:
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        http = getattr(local, "http", None) or httpx.Client(base_url=url, timeout=30)
        local.http = http
        debit, credit = accounts[n % len(accounts)], accounts[(n * 7 + 1) % len(accounts)]
        if debit == credit:
            credit = accounts[(n + 1) % len(accounts)]
        body = {"id": f"lag-{n:06d}", "debit_account_id": debit, "credit_account_id": credit,
                "amount": 1}  # fmt: skip
        return http.post("/v1/transfers", json=body).status_code == 201

    start = time.monotonic() + 0.5
    with ThreadPoolExecutor(64) as pool:
        futures = [pool.submit(post, n, start + n / rate) for n in range(count)]
        made = sum(f.result() for f in futures)
    return made, made / (time.monotonic() - start)


def measure(emulator_host: str, rate: float, seconds: float, accounts: int = 100) -> Lag:
    settings = harness.create_database(emulator_host, "events")
    receipts_pubsub, receipts_webhook = Receipts(), Receipts()
    webhook = _webhook_server(receipts_webhook)
    with pubsub_emulator() as pubsub, harness.service(emulator_host, "events", {}) as url:
        _, subscription = ensure_topic_and_subscription(
            pubsub.address, settings.project, "ledger-events", "bench"
        )
        subscriber = pubsub_v1.SubscriberClient()

        def on_message(message: pubsub_v1.subscriber.message.Message) -> None:
            if message.attributes.get("primary") == "true":
                receipts_pubsub.add(json.loads(message.data))
            message.ack()

        streaming = subscriber.subscribe(subscription, on_message)
        ids = harness.open_accounts(url, accounts, "lag")
        secret = "whsec_" + base64.b64encode(KEY).decode()
        hook = f"http://127.0.0.1:{webhook.server_port}/hook"
        env = {
            **os.environ, "SPANNER_EMULATOR_HOST": emulator_host,
            "LEDGER_PROJECT": settings.project, "LEDGER_SPANNER_INSTANCE": harness.INSTANCE,
            "LEDGER_SPANNER_DATABASE": "events", "LEDGER_LOG_LEVEL": "WARNING",
            "PUBSUB_EMULATOR_HOST": pubsub.address, "LEDGER_EVENTS_PUBSUB_TOPIC": "ledger-events",
            "LEDGER_EVENTS_WEBHOOKS": json.dumps([{"id": "bench", "url": hook, "secret": secret}]),
        }  # fmt: skip
        pipeline = subprocess.Popen([sys.executable, "-m", "api.events"], cwd=harness.ROOT, env=env)
        try:
            with httpx.Client(base_url=url, timeout=10) as http:
                while http.get("/v1/events").json()["complete_until"] is None:
                    time.sleep(0.2)
            time.sleep(1)
            cpu_before = _cpu_seconds(pipeline.pid)
            made, achieved = _paced_posts(url, ids, rate, seconds)
            with httpx.Client(base_url=url, timeout=30) as http:
                expected = _feed_ids_after(http, made)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                expected <= receipts_pubsub.at.keys() and expected <= receipts_webhook.at.keys()
            ):
                time.sleep(0.2)
            cpu = _cpu_seconds(pipeline.pid) - cpu_before
        finally:
            pipeline.send_signal(signal.SIGTERM)
            pipeline.wait(20)
            streaming.cancel()
            subscriber.close()
            webhook.shutdown()
    pubsub_lags, webhook_lags = (
        receipts_pubsub.lags_ms(expected),
        receipts_webhook.lags_ms(expected),
    )
    return Lag(
        rate_asked=rate, rate_achieved=achieved, events=len(expected),
        pubsub_p50_ms=_pct(pubsub_lags, 50), pubsub_p99_ms=_pct(pubsub_lags, 99),
        webhook_p50_ms=_pct(webhook_lags, 50), webhook_p99_ms=_pct(webhook_lags, 99),
        pipeline_cpu_ms_per_event=cpu * 1000 / max(len(expected), 1),
        missing_pubsub=len(expected - receipts_pubsub.at.keys()),
        missing_webhook=len(expected - receipts_webhook.at.keys()),
    )  # fmt: skip


def _feed_ids_after(http: httpx.Client, made: int) -> set[str]:
    """The ids of the load's transfer.created events, once the feed has them all."""
    deadline = time.monotonic() + 120
    while True:
        ids, cursor = set(), None
        while True:
            page = http.get(
                "/v1/events", params={"limit": 1000, **({"after": cursor} if cursor else {})}
            ).json()
            ids |= {e["id"] for e in page["items"] if _is_load(e)}
            if len(page["items"]) < 1000:
                break
            cursor = page["next_cursor"]
        if len(ids) >= made or time.monotonic() > deadline:
            return ids
        time.sleep(0.5)


def _is_load(event: dict[str, Any]) -> bool:
    return bool(event["type"] == "transfer.created" and event["data"]["id"].startswith("lag-"))


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def render(lag: Lag) -> str:
    def verdict(p99: float) -> str:
        return "**met**" if p99 <= TARGET_P99_MS else "**not met**"

    return f"""# Event pipeline benchmark

Written by `make bench` (or `python -m bench.events`); one run on this machine: a private
Spanner emulator, the service as a uvicorn process, the pipeline (`python -m api.events`)
as a process of its own, the gcloud SDK's Pub/Sub emulator, and a local webhook
receiver. Load: single-transfer POSTs paced at {lag.rate_asked:.0f}/s (open loop).
Lag: receipt time minus the event's commit timestamp (one clock), over the
{lag.events:,} `transfer.created` events of the load (Pub/Sub: the primary copy).

| measure | value | target |
|---|---|---|
| rate asked / achieved (transfers/s) | {lag.rate_asked:.0f} / {lag.rate_achieved:.0f} | steady 300 |
| commit -> Pub/Sub receipt, p50 / p99 | {lag.pubsub_p50_ms:.0f} ms / {lag.pubsub_p99_ms:.0f} ms | p99 <= 2 s: {verdict(lag.pubsub_p99_ms)} |
| commit -> webhook receipt, p50 / p99 | {lag.webhook_p50_ms:.0f} ms / {lag.webhook_p99_ms:.0f} ms | p99 <= 2 s: {verdict(lag.webhook_p99_ms)} |
| pipeline CPU per event (relay + Pub/Sub + webhook, one process) | {lag.pipeline_cpu_ms_per_event:.2f} ms | - |
| events not received (Pub/Sub / webhook) | {lag.missing_pubsub} / {lag.missing_webhook} | 0 |

Where the lag goes: the relay stores events in batches every
`LEDGER_EVENTS_FLUSH_INTERVAL_MS` (100 ms), a delivery polls Events every
`LEDGER_EVENTS_POLL_INTERVAL_MS` (200 ms), and on the emulator every one of those reads and
writes waits its turn behind the service's transactions (the emulator runs one
read-write transaction at a time). A Pub/Sub event counts two messages for a transfer
(one per account's ordering key).
"""  # noqa: E501


def write(lag: Lag) -> Path:
    DOC.write_text(render(lag))
    return DOC


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    with Emulator() as emulator:
        lag = measure(emulator.address, args.rate, args.seconds)
    print(lag)
    if not args.no_docs:
        DOC.write_text(render(lag))
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

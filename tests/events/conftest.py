"""Event tests: the pipeline as a real process (``python -m api.events``) over a fresh
database, the service over real HTTP, the Pub/Sub emulator of the gcloud SDK, and
webhook receivers that are real HTTP servers."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.cloud import pubsub_v1, spanner  # type: ignore[attr-defined]
from google.cloud.spanner_v1 import param_types
from google.cloud.spanner_v1.database import Database

from api.events.signing import verify
from devtools.emulator import Emulator, free_port
from devtools.pubsub import ensure_topic_and_subscription
from devtools.pubsub import pubsub_emulator as make_pubsub_emulator
from devtools.testdeps import PUBSUB_EMULATOR_ENV
from tests.conftest import ExternalEmulator, LiveServer
from tests.support import TEST_PROJECT, child_env, database_handle, make_settings

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_KEY = b"0123456789abcdef0123456789abcdef"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
# Quick enough for tests: a quiet partition reports every 300 ms, batches every 50 ms.
FAST_PIPELINE = {
    "LEDGER_EVENTS_HEARTBEAT_MS": "300",
    "LEDGER_EVENTS_FLUSH_INTERVAL_MS": "50",
    "LEDGER_EVENTS_POLL_INTERVAL_MS": "50",
    "LEDGER_EVENTS_WEBHOOK_TIMEOUT_SECONDS": "0.5",
    "LEDGER_EVENTS_WEBHOOK_MAX_ATTEMPTS": "3",
    "LEDGER_EVENTS_WEBHOOK_BACKOFF_BASE_MS": "20",
    "LEDGER_EVENTS_WEBHOOK_BACKOFF_CAP_MS": "100",
}


class PipelineProcess:
    """``python -m api.events`` on one database; killed hard or stopped gently."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PipelineProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.events"], cwd=ROOT, env=self.env,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def kill(self) -> None:
        """A crash: no flush, no goodbye."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def exit_code(self, timeout: float = 60) -> int:
        """How the process ended (waiting for it, at most ``timeout``)."""
        assert self.process is not None
        return self.process.wait(timeout)


@dataclass
class Ledger:
    """A fresh database with the service in front of it and a pipeline beside it."""

    server: LiveServer
    http: httpx.Client
    start_pipeline: Callable[..., PipelineProcess]
    database: str
    spanner: Database  # the database itself, for what no API does (forging, aging)

    def sql(self, statement: str, params: dict[str, Any] | None = None) -> int:
        """One DML statement, committed; the rows it changed."""
        types = {k: _param_type(v) for k, v in (params or {}).items()}
        changed: int = self.spanner.run_in_transaction(
            lambda tx: tx.execute_update(statement, params=params, param_types=types)
        )
        return changed

    def query(self, statement: str) -> list[list[Any]]:
        with self.spanner.snapshot() as snapshot:
            return [list(row) for row in snapshot.execute_sql(statement)]

    def feed(self, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Every event the feed serves now, in its order."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["after"] = cursor
            page = self.http.get("/v1/events", params=params).json()
            items += page["items"]
            if len(page["items"]) < limit:
                return items
            cursor = page["next_cursor"]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 60
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            items = self.feed()
            if predicate(items):
                return items
            if time.monotonic() > deadline:
                raise AssertionError(f"the feed never got there; it has {len(items)} events")
            time.sleep(0.2)


def _param_type(value: object) -> Any:
    if isinstance(value, datetime):
        return param_types.TIMESTAMP
    if isinstance(value, int):
        return param_types.INT64
    return param_types.STRING


@pytest.fixture
def ledger_factory(
    emulator: Emulator | ExternalEmulator,
    ledger_database_factory: Callable[[], str],
    spanner_client: spanner.Client,
    tmp_path: Path,
) -> Iterator[Callable[..., Ledger]]:
    made: list[tuple[LiveServer, httpx.Client, list[PipelineProcess]]] = []

    def make() -> Ledger:
        database = ledger_database_factory()
        server = LiveServer(make_settings(emulator.address, database)).__enter__()
        http = httpx.Client(base_url=server.url, timeout=30)
        pipelines: list[PipelineProcess] = []

        def start_pipeline(*, wait: bool = True, **extra: str) -> PipelineProcess:
            """The pipeline as a process; ``wait``: until its relay has begun."""
            env = child_env(emulator.address, database, **{**FAST_PIPELINE, **extra})
            log = tmp_path / f"pipeline-{database}.log"
            pipeline = PipelineProcess(env, log).start()
            pipelines.append(pipeline)
            if wait:
                _wait_until_relaying(http, pipeline)
            return pipeline

        made.append((server, http, pipelines))
        handle = database_handle(spanner_client, database)
        return Ledger(server, http, start_pipeline, database, handle)

    yield make
    for server, http, pipelines in made:
        for pipeline in pipelines:
            pipeline.stop()
        http.close()
        server.__exit__()


def _wait_until_relaying(http: httpx.Client, pipeline: PipelineProcess) -> None:
    """Until the relay has its partitions: it reads from its first start on."""
    deadline = time.monotonic() + 60
    while http.get("/v1/events").json()["complete_until"] is None:
        if time.monotonic() > deadline or (pipeline.process and pipeline.process.poll()):
            raise AssertionError(f"the relay did not start:\n{pipeline.output()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[Emulator | ExternalEmulator]:
    external = os.environ.get(PUBSUB_EMULATOR_ENV)
    if external:
        yield ExternalEmulator(external)
        return
    with make_pubsub_emulator() as running:
        yield running


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


@dataclass
class WebhookReceiver:
    """A real HTTP server. ``behaviour`` decides each answer: "ok", "fail" (500), "slow"
    (answers after the sender's timeout); ``fail_first`` fails that many first tries."""

    behaviour: str = "ok"
    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    port: int = field(default_factory=free_port)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.attempts += 1
                    failing = receiver.behaviour != "ok" or receiver.attempts <= receiver.fail_first
                if receiver.behaviour == "slow":
                    time.sleep(1.0)
                if failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify(WEBHOOK_KEY, headers, body, now=int(time.time()))
                with receiver.lock:
                    receiver.received.append(Received(headers, body, ok))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.event for r in self.received]


@pytest.fixture
def webhook_receiver() -> Iterator[Callable[..., WebhookReceiver]]:
    receivers: list[WebhookReceiver] = []

    def start(**kwargs: Any) -> WebhookReceiver:
        receiver = WebhookReceiver(**kwargs).start()
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.stop()


class Subscriber:
    """Pulls an ordered subscription into per-ordering-key lists, acking as it goes."""

    def __init__(self, subscription: str) -> None:
        self.subscription = subscription
        self.client = pubsub_v1.SubscriberClient()
        self.by_key: dict[str, list[dict[str, Any]]] = {}
        self.attributes: list[dict[str, str]] = []
        self.attributes_ok = True
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._pull, daemon=True)
        self.thread.start()

    def _pull(self) -> None:
        while not self.stop.is_set():
            response = self.client.pull(subscription=self.subscription, max_messages=500, timeout=5)
            for received in response.received_messages:
                message = received.message
                event = json.loads(message.data)
                self.attributes_ok &= message.attributes["event_id"] == event["id"]
                self.attributes.append(dict(message.attributes))
                self.by_key.setdefault(message.ordering_key, []).append(event)
            if response.received_messages:
                self.client.acknowledge(
                    subscription=self.subscription,
                    ack_ids=[r.ack_id for r in response.received_messages],
                )

    def ids(self) -> set[str]:
        return {e["id"] for events in list(self.by_key.values()) for e in events}

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.client.close()


@pytest.fixture
def subscribe(
    pubsub_emulator: Emulator | ExternalEmulator,
) -> Iterator[Callable[[str], Subscriber]]:
    """``subscribe(topic)``: the topic and an ordered subscription to it, pulled."""
    subscribers: list[Subscriber] = []

    def make(topic: str) -> Subscriber:
        _, subscription = ensure_topic_and_subscription(
            pubsub_emulator.address, TEST_PROJECT, topic, f"{topic[:200]}-sub"
        )
        assert subscription is not None
        subscriber = Subscriber(subscription)
        subscribers.append(subscriber)
        return subscriber

    yield make
    for subscriber in subscribers:
        subscriber.close()


def first_seen(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deduplicated by id, in the order first received."""
    seen: set[str] = set()
    return [e for e in events if not (e["id"] in seen or seen.add(e["id"]))]  # type: ignore[func-returns-value]


def in_order_of(events: list[dict[str, Any]], key: Callable[[dict[str, Any]], bool]) -> list[str]:
    """The ids of the events ``key`` selects, deduplicated, in the order received."""
    return [e["id"] for e in first_seen(events) if key(e)]


def webhooks_env(*endpoints: tuple[str, str]) -> dict[str, str]:
    hooks = [{"id": name, "url": url, "secret": WEBHOOK_SECRET} for name, url in endpoints]
    return {"LEDGER_EVENTS_WEBHOOKS": json.dumps(hooks)}


def pubsub_env(pubsub_host: str, topic: str) -> dict[str, str]:
    return {"PUBSUB_EMULATOR_HOST": pubsub_host, "LEDGER_EVENTS_PUBSUB_TOPIC": topic}


__all__ = [
    "TEST_PROJECT", "Ledger", "Subscriber", "WebhookReceiver", "first_seen", "in_order_of",
    "pubsub_env", "webhooks_env",
]  # fmt: skip

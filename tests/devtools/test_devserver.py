"""``make run`` as a newcomer runs it: the service, the event pipeline and both emulators
come up; a transfer reaches the feed and the local Pub/Sub subscription; Ctrl-C stops
every process it started.

Where the test harness is given emulators run elsewhere (the build's containers), ``make
run`` is given them too, as a user who exported their addresses: it then starts only
the pipeline."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from google.cloud import pubsub_v1  # type: ignore[attr-defined]

from devtools.devserver import EVENTS_SUBSCRIPTION
from devtools.emulator import free_port
from devtools.testdeps import PUBSUB_EMULATOR_ENV, SPANNER_EMULATOR_ENV

ROOT = Path(__file__).resolve().parents[2]


def _env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.pop("SPANNER_EMULATOR_HOST", None)
    env.pop("PUBSUB_EMULATOR_HOST", None)
    env.update({"PORT": str(port), "LEDGER_EVENTS_HEARTBEAT_MS": "300",
                "LEDGER_EVENTS_POLL_INTERVAL_MS": "50"})  # fmt: skip
    if spanner := os.environ.get(SPANNER_EMULATOR_ENV):
        # A database of its own: other tests share that emulator.
        env.update(SPANNER_EMULATOR_HOST=spanner, LEDGER_SPANNER_DATABASE=f"devserver-{port}")
    if pubsub := os.environ.get(PUBSUB_EMULATOR_ENV):
        env["PUBSUB_EMULATOR_HOST"] = pubsub
    return env


def _emulators_started() -> int:
    """How many emulators `make run` starts itself: those it is not given."""
    return sum(not os.environ.get(name) for name in (SPANNER_EMULATOR_ENV, PUBSUB_EMULATOR_ENV))


def _alive(pid: int) -> bool:
    """Running: not gone, and not a zombie no one reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _start(log: Path, port: int) -> subprocess.Popen[bytes]:
    """``make run``'s server in a process group of its own, as a shell or supervisor
    starts it."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "devtools.devserver"], cwd=ROOT, env=_env(port),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _wait_until_relaying(
    server: subprocess.Popen[bytes], http: httpx.Client, log: Path, deadline: float
) -> None:
    while True:
        try:
            if http.get("/v1/events").json()["complete_until"] is not None:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        assert server.poll() is None, log.read_text()
        time.sleep(0.3)


def _assert_all_stopped(log: Path) -> None:
    output = log.read_text()
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", output)]
    assert len(set(pids)) == _emulators_started() + 1, output  # the emulators, the pipeline
    time.sleep(1)
    assert [pid for pid in set(pids) if _alive(pid)] == [], output


def test_make_run_serves_the_feed_and_pubsub_and_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "devserver.log"
    server = _start(log, port)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        deadline = time.monotonic() + 120
        _wait_until_relaying(server, http, log, deadline)
        for account_id in ("a", "b"):
            http.post("/v1/accounts", json={"id": account_id, "currency": "EUR"})
        body = {"id": "t1", "debit_account_id": "a", "credit_account_id": "b", "amount": 5}
        assert http.post("/v1/transfers", json=body).status_code == 201

        while not any(
            e["type"] == "transfer.created" for e in http.get("/v1/events").json()["items"]
        ):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        output = log.read_text()
        pubsub_host = re.search(r"PUBSUB_EMULATOR_HOST=([\d.]+:\d+)", output)
        assert pubsub_host, output
        os.environ["PUBSUB_EMULATOR_HOST"] = pubsub_host.group(1)
        subscriber = pubsub_v1.SubscriberClient()
        subscription = subscriber.subscription_path("local-project", EVENTS_SUBSCRIPTION)
        types: set[str] = set()
        while "transfer.created" not in types:
            assert time.monotonic() < deadline, output
            response = subscriber.pull(subscription=subscription, max_messages=50, timeout=5)
            types |= {json.loads(r.message.data)["type"] for r in response.received_messages}
        subscriber.close()
    finally:
        http.close()
        os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        server.send_signal(signal.SIGINT)
        server.wait(60)

    _assert_all_stopped(log)


def test_sigterm_to_make_runs_process_group_stops_every_process_it_started(
    tmp_path: Path,
) -> None:
    """As a process supervisor, CI or ``kill -- -PGID`` stops it."""
    port = free_port()
    log = tmp_path / "devserver.log"
    server = _start(log, port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        _wait_until_relaying(server, http, log, time.monotonic() + 120)

    os.killpg(server.pid, signal.SIGTERM)
    server.wait(60)

    _assert_all_stopped(log)

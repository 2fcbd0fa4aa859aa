"""Every session of the pool is stuck: requests still get a 503 within their deadline.

A worker with ONE pooled session (``LEDGER_POOL_SIZE=1``) sends a transfer whose
commit the network swallows: the proxy's armed blackhole goes off on the commit (made
large by its metadata), so the writer holds the only session in an RPC that never
answers. Every request that needs a session must then fail fast and precisely — a 503
with ``Retry-After`` within the request deadline — not wait for the pool's own timeout
(``LEDGER_POOL_TIMEOUT_SECONDS``, 10 s by default) and then fail with a 500. After the
network heals, the same worker serves again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.faults.conftest import FaultServer
from tests.faults.proxy import FaultProxy

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

DEADLINE = 2.0  # LEDGER_REQUEST_TIMEOUT_SECONDS
POOL_TIMEOUT = 10.0  # LEDGER_POOL_TIMEOUT_SECONDS, the default, spelled out
MARGIN = 1.0
CLIENT_TIMEOUT = POOL_TIMEOUT + 3  # long enough to see what the current code answers
BIG = {"pad": "x" * 3000}  # makes the commit the one chunk above TRIGGER_BYTES
TRIGGER_BYTES = 2500
RECOVERY_BOUND = 10.0


@dataclass
class Answer:
    what: str
    status: int | None
    seconds: float
    headers: dict[str, str]
    text: str

    def describe(self) -> str:
        return (
            f"{self.what}: {self.status} after {self.seconds:.2f}s "
            f"(deadline {DEADLINE}s, pool timeout {POOL_TIMEOUT}s); "
            f"retry-after={self.headers.get('retry-after')!r} "
            f"content-type={self.headers.get('content-type')!r} body={self.text[:200]!r}"
        )


def call(url: str, method: str, path: str, body: Any = None) -> Answer:
    began = time.monotonic()
    try:
        answer = httpx.request(method, url + path, json=body, timeout=CLIENT_TIMEOUT)
    except httpx.HTTPError as exc:
        return Answer(f"{method} {path}", None, time.monotonic() - began, {}, repr(exc))
    return Answer(
        f"{method} {path}",
        answer.status_code,
        time.monotonic() - began,
        {k.lower(): v for k, v in answer.headers.items()},
        answer.text,
    )


def transfer(transfer_id: str, **extra: Any) -> dict[str, Any]:
    body = {"id": transfer_id, "debit_account_id": "a", "credit_account_id": "b", "amount": 5}
    return body | extra


@dataclass
class Exhausted:
    server: FaultServer
    caught: bool  # the blackhole went off on the commit
    stuck_write: Answer  # the transfer whose commit is swallowed
    during: dict[str, Answer]  # what each request got while the session was stuck
    thread_dump: str
    recovered_after: float | None
    replay: Answer | None  # the swallowed transfer sent again after the heal


@pytest.fixture(scope="module")
def exhausted(
    proxy: FaultProxy, start_fault_server: Callable[..., FaultServer]
) -> Iterator[Exhausted]:
    server = start_fault_server(
        proxy,
        LEDGER_POOL_SIZE="1",
        LEDGER_POOL_TIMEOUT_SECONDS=str(POOL_TIMEOUT),
        LEDGER_REQUEST_TIMEOUT_SECONDS=str(DEADLINE),
    )
    for account in ("a", "b"):
        opened = call(server.url, "POST", "/v1/accounts", {"id": account, "currency": "USD"})
        assert opened.status == 201, opened.describe()

    proxy.arm_blackhole(min_upstream_chunk=TRIGGER_BYTES)
    with ThreadPoolExecutor(4) as pool:
        stuck = pool.submit(
            call, server.url, "POST", "/v1/transfers", transfer("big", metadata=BIG)
        )
        caught = proxy.triggered.wait(5)
        if not caught:
            proxy.set_mode("blackhole")
        time.sleep(0.2)  # the writer is now inside the swallowed commit
        requests = {
            "read": ("GET", "/v1/accounts/a", None),
            "balances": ("GET", "/v1/balances?account_ids=a,b", None),
            "write": ("POST", "/v1/transfers", transfer("small")),
            "readyz": ("GET", "/readyz", None),
        }
        futures = {name: pool.submit(call, server.url, *args) for name, args in requests.items()}
        time.sleep(DEADLINE + MARGIN)
        thread_dump = server.thread_dump()  # where everything is while it should be over
        during = {name: future.result() for name, future in futures.items()}
        stuck_write = stuck.result()

    proxy.set_mode("reset")
    time.sleep(0.5)
    proxy.set_mode("pass")
    healed = time.monotonic()
    recovered_after = None
    probe = 0
    while time.monotonic() - healed < RECOVERY_BOUND:
        probe += 1
        answer = call(server.url, "POST", "/v1/transfers", transfer(f"after-{probe}"))
        if answer.status == 201:
            recovered_after = time.monotonic() - healed
            break
        time.sleep(0.2)
    replay = None
    if recovered_after is not None:
        replay = call(server.url, "POST", "/v1/transfers", transfer("big", metadata=BIG))
    yield Exhausted(server, caught, stuck_write, during, thread_dump, recovered_after, replay)
    server.stop()


def is_timely_503(answer: Answer) -> bool:
    return (
        answer.status == 503
        and answer.seconds <= DEADLINE + MARGIN
        and answer.headers.get("retry-after", "").isdigit()
        and answer.headers.get("content-type", "").startswith("application/problem+json")
    )


def failure(exhausted: Exhausted, answer: Answer) -> str:
    return (
        f"{answer.describe()}\ncommit caught by the blackhole: {exhausted.caught}\n"
        f"server errors:\n{exhausted.server.logged_errors()}\n"
        f"server threads {DEADLINE + MARGIN:.0f}s in:\n{exhausted.thread_dump[:8000]}"
    )


def test_the_swallowed_commit_is_answered_503_in_time(exhausted):
    assert exhausted.caught, "the armed blackhole never saw the commit: harness problem"
    assert is_timely_503(exhausted.stuck_write), failure(exhausted, exhausted.stuck_write)


@pytest.mark.parametrize("name", ["read", "balances"])
def test_a_read_waiting_for_a_session_gets_503_in_time(exhausted, name):
    answer = exhausted.during[name]
    assert is_timely_503(answer), failure(exhausted, answer)


def test_a_write_behind_the_stuck_one_gets_503_in_time(exhausted):
    answer = exhausted.during["write"]
    assert is_timely_503(answer), failure(exhausted, answer)


def test_readyz_says_not_ready_in_time(exhausted):
    answer = exhausted.during["readyz"]
    assert is_timely_503(answer), failure(exhausted, answer)


def test_the_worker_recovers_after_the_heal(exhausted):
    assert exhausted.server.alive()
    assert exhausted.recovered_after is not None, (
        f"no transfer succeeded within {RECOVERY_BOUND}s of the heal\n"
        f"server errors:\n{exhausted.server.logged_errors()}\n{exhausted.server.thread_dump()}"
    )
    # The swallowed transfer, sent again: stored once (200) or now (201), never a conflict.
    assert exhausted.replay is not None
    assert exhausted.replay.status in (200, 201), exhausted.replay.describe()

"""The network to Spanner fails under load: pass -> slow -> blackhole -> reset -> pass.

One scenario (the ``chaos`` fixture), run with group commit on and off, drives 8
client threads of ``POST /v1/transfers`` with client-chosen ids at one uvicorn worker
while the proxy between the worker and the emulator changes mode. The blackhole starts
the moment the next commit is on the wire (the proxy's armed blackhole; commits are
the large requests), so a commit is always caught in it. Each test checks one promise
about what happened:

- every 5xx is a 503 with ``Retry-After`` and a problem+json body, in time;
- ``/healthz`` answers while every write path is stuck;
- the same worker recovers by itself once the network heals;
- after re-sending whatever got a 503 or no answer (same id, same body), the ledger
  holds exactly what was acknowledged: nothing lost, duplicated or invented.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.faults.conftest import FaultServer
from tests.faults.proxy import FaultProxy

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

DEADLINE = 2.0  # LEDGER_REQUEST_TIMEOUT_SECONDS of the server
MARGIN = 1.0  # an answer may come this late after the deadline
NO_ANSWER = DEADLINE + 5  # the client gives up: the request hung
CLIENTS = 8
MAX_PER_CLIENT = 200
ACCOUNTS = [f"acct-{i}" for i in range(5)]
PHASES = [("pass", 1.0), ("slow", 2.0), ("blackhole", 4.0), ("reset", 0.5)]  # then pass
SLOW_SECONDS = (0.1, 0.3)  # per chunk and direction: some transactions still fit in 2 s
# Load transfers carry metadata so that a commit's request is larger than any read's
# (about 1 KB): the armed blackhole goes off on the first chunk above COMMIT_BYTES.
METADATA = {"note": "m" * 400}
COMMIT_BYTES = 1600
ARM_WAIT = 1.5  # if no commit shows up by then, the blackhole starts anyway
RECOVERY_BOUND = 10.0  # after the heal, a new transfer must succeed within this
LOAD_AFTER_RECOVERY = 0.5
RESEND_BOUND = 15.0
HEALTHZ_MAX_SECONDS = 1.0


@dataclass
class Attempt:
    id: str
    body: dict[str, Any]
    phase: str  # the proxy's mode when the request was sent
    started: float  # seconds since the scenario began
    latency: float = 0.0
    status: int | None = None  # None: no answer (client timeout or connection error)
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def describe(self) -> str:
        outcome = self.status if self.status is not None else f"no answer ({self.error})"
        return (
            f"{self.id} sent in {self.phase} at t={self.started:.2f}s: {outcome} "
            f"after {self.latency:.2f}s; content-type={self.headers.get('content-type')!r} "
            f"retry-after={self.headers.get('retry-after')!r} body={self.text[:200]!r}"
        )


@dataclass
class Chaos:
    variant: str  # group commit on or off
    armed_fired: bool  # the blackhole caught a commit on the wire
    server: FaultServer
    attempts: list[Attempt]  # the load and the recovery probes, first sends only
    timeline: list[tuple[float, str]]  # (t, mode)
    healthz: list[tuple[float, int | None, float, str]]  # (t, status, latency, error)
    stuck_writes_ok: list[Attempt]  # 2xx answers to POSTs sent well inside the blackhole
    blackhole_dump: str  # the server's threads at the end of the blackhole
    healed_at: float
    recovered_after: float | None  # seconds from the heal to the first new 2xx
    recovery_probes: list[Attempt]
    recovery_dump: str  # the server's threads if it did not recover
    pid_before: int
    alive_after: bool
    resends: dict[str, list[Attempt]]  # id -> every re-send, in order
    final: dict[str, Attempt]  # id -> the attempt that settled it (2xx), if any
    logged_errors: str


def post(http: httpx.Client, attempt: Attempt, t0: float) -> Attempt:
    began = time.monotonic()
    try:
        answer = http.post("/v1/transfers", json=attempt.body, timeout=NO_ANSWER)
    except httpx.HTTPError as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"
    else:
        attempt.status = answer.status_code
        attempt.headers = {k.lower(): v for k, v in answer.headers.items()}
        attempt.text = answer.text
    attempt.latency = time.monotonic() - began
    attempt.started = began - t0
    return attempt


def transfer_body(transfer_id: str, rng: random.Random) -> dict[str, Any]:
    debit, credit = rng.sample(ACCOUNTS, 2)
    return {
        "id": transfer_id,
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": rng.randint(1, 1000),
        "metadata": METADATA,
    }


@pytest.fixture(scope="module", params=["group-commit", "no-group-commit"])
def chaos(request, proxy: FaultProxy, start_fault_server) -> Iterator[Chaos]:
    server = start_fault_server(
        proxy,
        LEDGER_REQUEST_TIMEOUT_SECONDS=str(DEADLINE),
        LEDGER_POOL_SIZE="4",
        LEDGER_GROUP_COMMIT_ENABLED=str(request.param == "group-commit").lower(),
    )
    proxy.slow_seconds = SLOW_SECONDS
    yield run_chaos(proxy, server, request.param)
    server.stop()


def run_chaos(proxy: FaultProxy, server: FaultServer, variant: str) -> Chaos:  # noqa: PLR0912 - one script
    """The whole script: load, modes, probes, recovery, re-sends."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for account in ACCOUNTS:
            opened = http.post("/v1/accounts", json={"id": account, "currency": "USD"})
            assert opened.status_code == 201, opened.text

    t0 = time.monotonic()
    mode = ["pass"]
    timeline: list[tuple[float, str]] = [(0.0, "pass")]
    attempts: list[Attempt] = []
    lock = threading.Lock()
    stop = threading.Event()

    def switch(new_mode: str) -> None:
        proxy.set_mode(new_mode)
        mode[0] = new_mode
        timeline.append((time.monotonic() - t0, new_mode))

    def client(number: int) -> None:
        rng = random.Random(number)
        with httpx.Client(base_url=server.url) as http:
            for n in range(MAX_PER_CLIENT):
                if stop.is_set():
                    return
                transfer_id = f"load-{number}-{n}"
                attempt = Attempt(transfer_id, transfer_body(transfer_id, rng), mode[0], 0.0)
                with lock:
                    attempts.append(attempt)
                post(http, attempt, t0)
                time.sleep(0.02)

    clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in clients:
        thread.start()

    healthz: list[tuple[float, int | None, float, str]] = []
    blackhole_dump = ""
    armed_fired = False
    for phase, seconds in PHASES:
        if phase == "blackhole":
            proxy.arm_blackhole(min_upstream_chunk=COMMIT_BYTES)
            armed_fired = proxy.triggered.wait(ARM_WAIT)
        switch(phase)
        began = time.monotonic()
        if phase == "blackhole":
            # Once every write sent into the blackhole has used up its deadline.
            time.sleep(DEADLINE + 0.5)
            with httpx.Client(base_url=server.url) as http:
                for _ in range(3):
                    probe_began = time.monotonic()
                    try:
                        status: int | None = http.get("/healthz", timeout=NO_ANSWER).status_code
                        error = ""
                    except httpx.HTTPError as exc:
                        status, error = None, f"{type(exc).__name__}: {exc}"
                    healthz.append(
                        (probe_began - t0, status, time.monotonic() - probe_began, error)
                    )
                    time.sleep(0.2)
        time.sleep(max(0.0, seconds - (time.monotonic() - began)))
        if phase == "blackhole":
            blackhole_dump = server.thread_dump()
    blackhole_start = next(t for t, m in timeline if m == "blackhole")
    blackhole_end = next(t for t, m in timeline if m == "reset")

    switch("pass")
    healed_at = time.monotonic() - t0
    recovered_after = None
    recovery_probes: list[Attempt] = []
    rng = random.Random(99)
    with httpx.Client(base_url=server.url) as http:
        while time.monotonic() - t0 - healed_at < RECOVERY_BOUND:
            transfer_id = f"probe-{len(recovery_probes)}"
            probe = Attempt(transfer_id, transfer_body(transfer_id, rng), "pass", 0.0)
            recovery_probes.append(probe)
            post(http, probe, t0)
            if probe.status in (200, 201):
                recovered_after = probe.started + probe.latency - healed_at
                break
            time.sleep(0.1)
    recovery_dump = "" if recovered_after is not None else server.thread_dump()
    time.sleep(LOAD_AFTER_RECOVERY if recovered_after is not None else 0.0)
    stop.set()
    for thread in clients:
        thread.join(NO_ANSWER + 2)
    assert not any(t.is_alive() for t in clients), "a load client outlived its own timeout"

    with lock:
        first_sends = attempts + recovery_probes
    stuck_writes_ok = [
        a
        for a in first_sends
        if a.status in (200, 201)
        and blackhole_start + 0.5 <= a.started
        and a.started + a.latency < blackhole_end
    ]

    # Re-send every transfer that got a 503 or no answer, same id and body, until 2xx.
    final = {a.id: a for a in first_sends if a.status in (200, 201)}
    resends: dict[str, list[Attempt]] = {}
    pending = [a for a in first_sends if a.status is None or a.status == 503]
    resend_until = time.monotonic() + RESEND_BOUND

    def resend(original: Attempt) -> Attempt:
        again = Attempt(original.id, original.body, "pass", 0.0)
        with httpx.Client(base_url=server.url) as http:
            return post(http, again, t0)

    with ThreadPoolExecutor(CLIENTS) as pool:
        while pending and time.monotonic() < resend_until:
            answers = list(pool.map(resend, pending))
            retry = []
            for original, answer in zip(pending, answers, strict=True):
                resends.setdefault(original.id, []).append(answer)
                if answer.status in (200, 201):
                    final[original.id] = answer
                elif answer.status is None or answer.status == 503:
                    retry.append(original)
            pending = retry
            if pending:
                time.sleep(0.2)

    return Chaos(
        variant=variant,
        armed_fired=armed_fired,
        server=server,
        attempts=attempts,
        timeline=timeline,
        healthz=healthz,
        stuck_writes_ok=stuck_writes_ok,
        blackhole_dump=blackhole_dump,
        healed_at=healed_at,
        recovered_after=recovered_after,
        recovery_probes=recovery_probes,
        recovery_dump=recovery_dump,
        pid_before=server.pid,
        alive_after=server.alive(),
        resends=resends,
        final=final,
        logged_errors=server.logged_errors(),
    )


def everything_sent(chaos: Chaos) -> list[Attempt]:
    resent = [a for tries in chaos.resends.values() for a in tries]
    return chaos.attempts + chaos.recovery_probes + resent


def summary(chaos: Chaos) -> str:
    counts = Counter((a.phase, a.status) for a in chaos.attempts)
    by_phase = ", ".join(
        f"{phase}/{status}: {n}" for (phase, status), n in sorted(counts.items(), key=str)
    )
    timeline = " -> ".join(f"{mode}@{t:.1f}s" for t, mode in chaos.timeline)
    return (
        f"[{chaos.variant}] timeline {timeline} (commit caught: {chaos.armed_fired}); "
        f"first sends by (mode, status): {by_phase}"
    )


def test_the_scenario_exercised_every_mode(chaos):
    """A guard on the harness: load ran in every mode and the blackhole did block writes."""
    phases = {a.phase for a in chaos.attempts}
    assert phases >= {"pass", "slow", "blackhole"}, summary(chaos)
    assert any(a.status in (200, 201) for a in chaos.attempts if a.phase == "pass"), summary(chaos)
    assert not chaos.stuck_writes_ok, (
        "writes succeeded while the proxy was blackholed: the harness is not cutting "
        f"the network: {[a.describe() for a in chaos.stuck_writes_ok[:5]]}"
    )


def test_every_5xx_is_a_503_problem_with_retry_after(chaos):
    wrong = [
        a
        for a in everything_sent(chaos)
        if a.status is not None
        and a.status >= 500
        and not (
            a.status == 503
            and a.headers.get("retry-after", "").isdigit()
            and a.headers.get("content-type", "").startswith("application/problem+json")
            and '"code":"backend_unavailable"' in a.text.replace(" ", "")
        )
    ]
    assert not wrong, (
        f"{len(wrong)} answers were 5xx but not 503 + Retry-After + problem+json "
        f"backend_unavailable; first ones:\n"
        + "\n".join(a.describe() for a in wrong[:8])
        + f"\n{summary(chaos)}\nserver errors:\n{chaos.server.logged_errors()}"
    )


def test_no_other_status_than_2xx_or_503(chaos):
    odd = [a for a in everything_sent(chaos) if a.status is not None and a.status not in (200, 201)]
    odd = [a for a in odd if a.status < 500]
    assert not odd, "\n".join(a.describe() for a in odd[:8])


def test_no_request_outlives_its_deadline(chaos):
    hung = [a for a in everything_sent(chaos) if a.status is None]
    late = [
        a for a in everything_sent(chaos) if a.status is not None and a.latency > DEADLINE + MARGIN
    ]
    assert not hung and not late, (
        f"{len(hung)} requests got no answer within {NO_ANSWER}s and {len(late)} were "
        f"answered more than {MARGIN}s after the {DEADLINE}s deadline; first ones:\n"
        + "\n".join(a.describe() for a in (hung + late)[:10])
        + f"\n{summary(chaos)}\nserver threads at the end of the blackhole:\n"
        + chaos.blackhole_dump[:8000]
    )


def test_healthz_answers_while_writes_are_stuck(chaos):
    assert chaos.healthz, "no /healthz probe ran"
    bad = [h for h in chaos.healthz if h[1] != 200 or h[2] > HEALTHZ_MAX_SECONDS]
    assert not bad, (
        "GET /healthz during the blackhole (t, status, seconds, error): "
        f"{chaos.healthz}\nserver threads:\n{chaos.blackhole_dump[:8000]}"
    )


def test_the_same_worker_recovers_by_itself(chaos):
    assert chaos.alive_after, f"the server exited: {chaos.server.stderr()[-3000:]}"
    assert chaos.server.pid == chaos.pid_before
    assert chaos.recovered_after is not None, (
        f"no new transfer succeeded within {RECOVERY_BOUND}s after the network healed "
        f"(at t={chaos.healed_at:.1f}s); probes:\n"
        + "\n".join(a.describe() for a in chaos.recovery_probes[-5:])
        + f"\nserver errors:\n{chaos.server.logged_errors()}"
        + f"\nserver threads then:\n{chaos.recovery_dump[:8000]}"
    )


def test_every_unanswered_transfer_settles_on_resend(chaos):
    """Re-sending with the same id and body ends in 200/201 — never 409, never stuck."""
    unsettled = {
        transfer_id: tries[-1]
        for transfer_id, tries in chaos.resends.items()
        if transfer_id not in chaos.final
    }
    assert not unsettled, (
        f"{len(unsettled)} of {len(chaos.resends)} re-sent transfers never got 2xx within "
        f"{RESEND_BOUND}s; last answers:\n"
        + "\n".join(a.describe() for a in list(unsettled.values())[:8])
    )


def read_all_entries(http: httpx.Client, account_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    token = None
    for _ in range(1000):
        params: dict[str, Any] = {"page_size": 500}
        if token:
            params["page_token"] = token
        page = http.get(f"/v1/accounts/{account_id}/entries", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        entries.extend(body["items"])
        token = body.get("next_page_token")
        if not token:
            return entries
    raise AssertionError("entries never ended")


def test_nothing_lost_duplicated_or_invented(chaos):
    sent = {a.id: a.body for a in chaos.attempts + chaos.recovery_probes}
    acknowledged = set(chaos.final)  # every id that was ever answered 2xx
    with httpx.Client(base_url=chaos.server.url, timeout=30) as http:
        balances = {}
        entries_by_account = {}
        for account in ACCOUNTS:
            answer = http.get(f"/v1/accounts/{account}")
            assert answer.status_code == 200, answer.text
            balances[account] = answer.json()["balance"]
            entries_by_account[account] = read_all_entries(http, account)
        # The interesting ones (first send unanswered or 503) one by one, by id.
        resent_ok = sorted(acknowledged & set(chaos.resends))
        wrong_reads = []
        for transfer_id in resent_ok:
            stored = http.get(f"/v1/transfers/{transfer_id}")
            body = sent[transfer_id]
            if stored.status_code != 200 or any(
                stored.json().get(k) != body[k]
                for k in ("amount", "debit_account_id", "credit_account_id")
            ):
                wrong_reads.append(f"{transfer_id}: {stored.status_code} {stored.text[:200]}")

    legs: dict[str, list[tuple[str, int]]] = {}
    problems: list[str] = []
    for account, entries in entries_by_account.items():
        for entry in entries:
            legs.setdefault(entry["transfer_id"], []).append((account, entry["amount"]))
        total = sum(e["amount"] for e in entries)
        if total != balances[account]:
            problems.append(f"{account}: balance {balances[account]} != sum of entries {total}")
        sequences = sorted(e["sequence"] for e in entries)
        if sequences != list(range(1, len(entries) + 1)):
            problems.append(f"{account}: entry sequences are not 1..{len(entries)}")
    invented = sorted(set(legs) - set(sent))
    lost = sorted(acknowledged - set(legs))
    misbooked = []
    for transfer_id in sorted(set(legs) & set(sent)):
        body = sent[transfer_id]
        expected = sorted(
            [
                (body["debit_account_id"], -body["amount"]),
                (body["credit_account_id"], body["amount"]),
            ]
        )
        if sorted(legs[transfer_id]) != expected:
            misbooked.append(f"{transfer_id}: entries {legs[transfer_id]}, expected {expected}")
    unacknowledged_but_stored = sorted(set(legs) - acknowledged - set(invented))

    assert not lost, f"{len(lost)} acknowledged transfers have no entries: {lost[:10]}"
    assert not invented, f"entries for transfers never sent: {invented[:10]}"
    assert not misbooked, f"duplicated or wrong entries: {misbooked[:10]}"
    assert not wrong_reads, f"GET /v1/transfers/{{id}} disagrees: {wrong_reads[:10]}"
    assert not problems, problems
    assert sum(balances.values()) == 0, f"balances do not sum to 0: {balances}"
    # A transfer stored but never acknowledged is allowed only if its re-send did not
    # settle (then the caller still does not know): that is reported by the test above.
    assert set(unacknowledged_but_stored) <= set(chaos.resends), unacknowledged_but_stored[:10]

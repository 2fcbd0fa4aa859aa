"""The transfer lifecycle against a simple in-memory model, over HTTP on the emulator.

A hypothesis state machine sends random sequences of transfers, holds (without a
timeout, with a short one that expires during the run, with a long one), posts (full
and partial), voids, reversals (full and partial), closes, reopens and expiry sweeps to
a ledger of six accounts (flags, bounds, both, another currency), plus replays of
earlier requests and conflicting ones. The model predicts every status and error code
and every account's totals; after each step the API must agree with it and the
ledger's invariants must hold: balances sum to zero, pending debits equal pending
credits, every account is within its bounds with holds counted, and (every few steps)
each account's entries add up to its balance and its pending totals.

Every example gets a database of its own (cheap on the emulator; dropped after it),
so the expiry sweep's count is exact. Expiry is decided by Spanner's clock, which the
test cannot move: short holds live one second, and the outcome of a call near a
hold's ``expires_at`` is predicted from the local clock (the emulator's), with a
small window either side in which both answers are accepted and the model adopts the
one the server gave. Before expires_at a void must succeed (releasing early is always
safe); a post may be refused as expiring when even a commit cut to its shortest budget
could land after expires_at, never when more than a second is left, and a post that
succeeds must have committed before expires_at. At most one step per example sleeps, until the
short holds are due.

One rule draws what each step does: hypothesis's swarm testing (whole rules switched
off per example) would leave most of so few examples testing one kind of call. A
step with nothing to act on becomes another (see ``feasible``); a failing example
lists the steps as drawn.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from api.app import create_app
from devtools.admin import drop_database
from tests.support import TEST_INSTANCE, make_settings

pytestmark = pytest.mark.emulator

SHORT_TIMEOUT = 1  # seconds: expires during the example
LONG_TIMEOUT = 3600  # never expires during the run
# The local clock and Spanner's (the emulator runs on this machine) may differ a little.
CLOCK_SLACK = timedelta(milliseconds=50)
# A server refuses to post a hold when even a commit cut to its shortest budget
# (api.transfers.posting.MIN_COMMIT_SECONDS) could land after expires_at (a hold past
# expires_at can never be posted), so near expiry either answer is right; with more
# than this left (that budget and the clocks' uncertainty), the post must succeed.
POST_GUARD = timedelta(seconds=1.5)
ENTRIES_EVERY = 5  # steps between full entry checks

ACCOUNTS: dict[str, dict[str, Any]] = {
    "bank": {"currency": "USD"},
    "wallet": {"currency": "USD", "flags": {"debits_must_not_exceed_credits": True}},
    "line": {"currency": "USD", "flags": {"credits_must_not_exceed_debits": True}},
    "bounded": {"currency": "USD", "bounds": {"lower": -40, "upper": 60}},
    # The flag is tighter than the lower bound: the floor is 0.
    "capped": {
        "currency": "USD",
        "flags": {"debits_must_not_exceed_credits": True},
        "bounds": {"lower": -100, "upper": 80},
    },
    "euro": {"currency": "EUR"},
}
ACCOUNT_IDS = list(ACCOUNTS)
USD = ["bank", "wallet", "line", "bounded", "capped"]
# Money mostly moves between the USD accounts; now and then to EUR or to no account.
# The credit side is drawn as a step around this ring from the debit side, so the
# two are seldom the same account (hypothesis likes to draw equal values).
RING = [*USD, "euro", *USD, "ghost"]
# Opening balances, so that the flagged and bounded accounts have room both ways.
SEED = [
    ("bank", "wallet", 50),
    ("bank", "capped", 40),
    ("line", "bank", 50),
    ("bank", "bounded", 20),
]
AMOUNTS = st.integers(min_value=1, max_value=60)
PICK = st.integers(min_value=0, max_value=10_000)  # an index into what the model has
# What the next step does, weighted (hypothesis shrinks towards the first).
STEPS = [
    *["transfer"] * 3, *["hold"] * 4, *["post"] * 4, *["void"] * 3, *["reverse"] * 3,
    "close", "reopen", *["replay"] * 2, "reuse_id", *["expire"] * 2, *["wait"] * 2,
]  # fmt: skip


@dataclass
class ModelAccount:
    currency: str
    floor: int | None
    ceiling: int | None
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    version: int = 0
    closed: bool = False

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.balance - self.debits_pending

    def totals(self) -> dict[str, int]:
        return {
            "balance": self.balance,
            "debits_posted": self.debits_posted,
            "credits_posted": self.credits_posted,
            "debits_pending": self.debits_pending,
            "credits_pending": self.credits_pending,
            "version": self.version,
        }


def model_account(spec: dict[str, Any]) -> ModelAccount:
    """Floor and ceiling: the tighter of the bound and the flag (a flag's limit is 0)."""
    flags, bounds = spec.get("flags", {}), spec.get("bounds", {})
    floors = [bounds.get("lower"), 0 if flags.get("debits_must_not_exceed_credits") else None]
    ceilings = [bounds.get("upper"), 0 if flags.get("credits_must_not_exceed_debits") else None]
    return ModelAccount(
        currency=spec["currency"],
        floor=max((b for b in floors if b is not None), default=None),
        ceiling=min((b for b in ceilings if b is not None), default=None),
    )


@dataclass
class ModelTransfer:
    id: str
    signature: tuple[Any, ...]  # what the request asked: the same again is a replay
    debit: str
    credit: str
    amount: int
    pending: bool
    status: str
    first_answer: dict[str, Any]
    expires_at: datetime | None = None
    posted_amount: int | None = None
    reversed_amount: int = 0
    reverses: str | None = None

    @property
    def reversible(self) -> int:
        if self.status != "posted":
            return 0
        posted = self.posted_amount if self.pending else self.amount
        return (posted or 0) - self.reversed_amount


# What the model accepts as the answer to a step: (status, code or None) -> what to
# apply to the model when the server answered that.
Apply = Callable[[dict[str, Any]], None]
Options = dict[tuple[int, str | None], Apply]


def nothing(_body: dict[str, Any]) -> None:
    return None


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


# The fields of a transfer that never change once it exists.
FIXED_FIELDS = (
    "id", "debit_account_id", "credit_account_id", "amount", "currency", "pending",
    "expires_at", "created_at", "reverses_transfer_id", "metadata",
)  # fmt: skip


class LifecycleModel(RuleBasedStateMachine):
    def __init__(
        self, open_client: Callable[[], contextlib.AbstractContextManager[TestClient]]
    ) -> None:
        super().__init__()
        self._exit = contextlib.ExitStack()
        self.http = self._exit.enter_context(open_client())
        self.accounts = {name: model_account(spec) for name, spec in ACCOUNTS.items()}
        self.transfers: dict[str, ModelTransfer] = {}
        self.sent: list[tuple[Any, ...]] = []  # every step's request, for replays
        self.counter = 0
        self.steps = 0
        self.waited = False
        for name, spec in ACCOUNTS.items():
            response = self.http.post("/v1/accounts", json={"id": name, **spec})
            assert response.status_code == 201, response.text
        for debit, credit, amount in SEED:
            self.call(("create", self.new_id("s"), debit, credit, amount, False, None))

    def teardown(self) -> None:
        self._exit.close()

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # --- sending and comparing --------------------------------------------------------

    def call(self, op: tuple[Any, ...]) -> None:
        """Send ``op``, predict its answer from the model, compare, apply."""
        self.sent.append(op)
        kind = op[0]
        sent_at = datetime.now(UTC)
        if kind == "create":
            _, tid, debit, credit, amount, pending, timeout = op
            body: dict[str, Any] = {
                "id": tid, "debit_account_id": debit, "credit_account_id": credit,
                "amount": amount,
            }  # fmt: skip
            if pending:
                body["pending"] = True
            if timeout is not None:
                body["timeout_seconds"] = timeout
            response = self.http.post("/v1/transfers", json=body)
        elif kind in ("post", "void"):
            _, tid, amount = op
            post_body = {} if amount is None else {"amount": amount}
            response = self.http.post(f"/v1/transfers/{tid}:{kind}", json=post_body)
        elif kind == "reverse":
            _, rid, original, amount = op
            reverse_body: dict[str, Any] = {"id": rid}
            if amount is not None:
                reverse_body["amount"] = amount
            response = self.http.post(f"/v1/transfers/{original}:reverse", json=reverse_body)
        elif kind in ("close", "reopen"):
            response = self.http.post(f"/v1/accounts/{op[1]}:{kind}")
        else:
            raise AssertionError(f"unknown op {op}")
        answered_at = datetime.now(UTC)
        options = self.predict(op, sent_at, answered_at)
        body_out = response.json()
        got = (response.status_code, body_out.get("code") if response.status_code >= 400 else None)
        assert got in options, (
            f"{op}: expected one of {sorted(options, key=str)}, got {got}: {body_out}"
        )
        options[got](body_out)
        if kind in ("create", "post", "void", "reverse"):
            self.check_transfer(op[1])
            if kind == "reverse":
                self.check_transfer(op[2])

    def predict(self, op: tuple[Any, ...], sent_at: datetime, answered_at: datetime) -> Options:
        kind = op[0]
        if kind == "create":
            return self.predict_create(op)
        if kind in ("post", "void"):
            return self.predict_resolve(op, sent_at, answered_at)
        if kind == "reverse":
            return self.predict_reverse(*op[1:])
        return self.predict_status(op[1], closed=kind == "close")

    def replay_of(self, tid: str, signature: tuple[Any, ...]) -> Options | None:
        """A used id: the same request replays (200, nothing changes), another conflicts."""
        known = self.transfers.get(tid)
        if known is None:
            return None
        if known.signature != signature:
            return {(409, "idempotency_conflict"): nothing}

        def same(body: dict[str, Any]) -> None:
            for name in FIXED_FIELDS:
                assert body[name] == known.first_answer[name], (name, body, known.first_answer)
            self.assert_transfer_matches(known, body)

        return {(200, None): same}

    def moving(self, debit_id: str, credit_id: str, amount: int) -> tuple[int, str] | None:
        """Why money (or a hold) may not go from ``debit_id`` to ``credit_id``."""
        if debit_id == credit_id:
            return 422, "same_account"
        if debit_id not in self.accounts or credit_id not in self.accounts:
            return 404, "account_not_found"
        debit, credit = self.accounts[debit_id], self.accounts[credit_id]
        checks = [
            (debit.currency != credit.currency, (422, "currency_mismatch")),
            (debit.closed or credit.closed, (409, "account_closed")),
            # Bounds count holds: the debit side's available balance, and the credit
            # side's balance plus what holds will credit.
            (
                debit.floor is not None and debit.available - amount < debit.floor,
                (409, "insufficient_funds"),
            ),
            (
                credit.ceiling is not None
                and credit.balance + credit.credits_pending + amount > credit.ceiling,
                (409, "insufficient_funds"),
            ),
        ]
        return next((error for failed, error in checks if failed), None)

    def predict_create(self, op: tuple[Any, ...]) -> Options:
        _, tid, debit_id, credit_id, amount, pending, timeout = op
        signature = ("create", debit_id, credit_id, amount, pending, timeout)
        replay = self.replay_of(tid, signature)
        if replay is not None:
            return replay
        refused = self.moving(debit_id, credit_id, amount)
        if refused is not None:
            return {refused: nothing}

        def created(body: dict[str, Any]) -> None:
            debit, credit = self.accounts[debit_id], self.accounts[credit_id]
            if pending:
                debit.debits_pending += amount
                credit.credits_pending += amount
            else:
                debit.debits_posted += amount
                credit.credits_posted += amount
            debit.version += 1
            credit.version += 1
            expires_at = parse_time(body["expires_at"])
            assert (expires_at is not None) == (timeout is not None), body
            if expires_at is not None:
                created_at = parse_time(body["created_at"])
                assert created_at is not None
                lag = expires_at - created_at
                assert timedelta(seconds=timeout - 1) < lag <= timedelta(seconds=timeout), body
            self.transfers[tid] = ModelTransfer(
                id=tid, signature=signature, debit=debit_id, credit=credit_id, amount=amount,
                pending=pending, status="pending" if pending else "posted", first_answer=body,
                expires_at=expires_at,
            )  # fmt: skip

        return {(201, None): created}

    def predict_resolve(
        self, op: tuple[Any, ...], sent_at: datetime, answered_at: datetime
    ) -> Options:
        action, tid, amount = op
        hold = self.transfers.get(tid)
        if hold is None:
            return {(404, "transfer_not_found"): nothing}
        if not hold.pending:
            return {(409, "transfer_not_pending"): nothing}
        requested = amount if amount is not None else hold.amount
        if hold.status != "pending":
            return self.predict_resolved_again(hold, action, requested)
        # Pending: is it past expires_at by the server's (Spanner's) clock?
        if hold.expires_at is not None and sent_at >= hold.expires_at + CLOCK_SLACK:
            return {(409, "transfer_expired"): nothing}
        if action == "void":
            return self.predict_void(hold, answered_at)
        return self.predict_post(hold, requested, answered_at)

    def predict_void(self, hold: ModelTransfer, answered_at: datetime) -> Options:
        # Releasing early is always safe: before expires_at a void must succeed.
        voided = {(200, None): lambda body: self.release(hold, "voided", body)}
        if hold.expires_at is None or answered_at + CLOCK_SLACK < hold.expires_at:
            return voided
        return voided | {(409, "transfer_expired"): nothing}  # due while the call ran

    def predict_post(self, hold: ModelTransfer, requested: int, answered_at: datetime) -> Options:
        if requested > hold.amount:
            answer: Options = {(422, "amount_exceeds_hold"): nothing}
        else:
            answer = {(200, None): lambda body: self.post(hold, requested, body)}
        if hold.expires_at is None or answered_at + POST_GUARD < hold.expires_at:
            return answer
        # The server may refuse a post whose commit could land after expires_at, or
        # find the hold expired by the time the call ran.
        return answer | {(409, "transfer_expiring"): nothing, (409, "transfer_expired"): nothing}

    def predict_resolved_again(self, hold: ModelTransfer, action: str, requested: int) -> Options:
        """A hold resolved already: the same resolution replays, any other conflicts."""
        unchanged = {(200, None): lambda body: self.assert_transfer_matches(hold, body)}
        if hold.status == "expired":
            return {(409, "transfer_expired"): nothing}
        if hold.status == "voided":
            return unchanged if action == "void" else {(409, "transfer_already_voided"): nothing}
        if action == "post" and requested == hold.posted_amount:
            return unchanged
        return {(409, "transfer_already_posted"): nothing}

    def release(self, hold: ModelTransfer, status: str, body: dict[str, Any] | None) -> None:
        debit, credit = self.accounts[hold.debit], self.accounts[hold.credit]
        debit.debits_pending -= hold.amount
        credit.credits_pending -= hold.amount
        debit.version += 1
        credit.version += 1
        hold.status = status
        if body is not None:
            self.assert_transfer_matches(hold, body)

    def post(self, hold: ModelTransfer, amount: int, body: dict[str, Any]) -> None:
        debit, credit = self.accounts[hold.debit], self.accounts[hold.credit]
        debit.debits_pending -= hold.amount
        credit.credits_pending -= hold.amount
        debit.debits_posted += amount
        credit.credits_posted += amount
        debit.version += 1
        credit.version += 1
        hold.status, hold.posted_amount = "posted", amount
        self.assert_transfer_matches(hold, body)
        if hold.expires_at is not None:
            # Never posted after its time: the resolving commit is before expires_at.
            resolved_at = parse_time(body["resolved_at"])
            assert resolved_at is not None and resolved_at < hold.expires_at, body

    def predict_reverse(self, rid: str, original_id: str, amount: int | None) -> Options:
        replay = self.replay_of(rid, ("reverse", original_id, amount))
        if replay is not None:
            return replay
        original = self.transfers.get(original_id)
        if original is None:
            return {(404, "transfer_not_found"): nothing}
        if original.status != "posted":
            return {(409, "transfer_not_posted"): nothing}
        room = original.reversible
        moved = amount if amount is not None else room
        if moved <= 0 or moved > room:
            return {(409, "reversal_exceeds_amount"): nothing}
        # Money goes back: the original's credit account is debited.
        refused = self.moving(original.credit, original.debit, moved)
        if refused is not None:
            return {refused: nothing}

        def reversed_(body: dict[str, Any]) -> None:
            debit, credit = self.accounts[original.credit], self.accounts[original.debit]
            debit.debits_posted += moved
            credit.credits_posted += moved
            debit.version += 1
            credit.version += 1
            original.reversed_amount += moved
            self.transfers[rid] = ModelTransfer(
                id=rid, signature=("reverse", original_id, amount), debit=original.credit,
                credit=original.debit, amount=moved, pending=False, status="posted",
                first_answer=body, reverses=original_id,
            )  # fmt: skip
            assert body["reverses_transfer_id"] == original_id, body

        return {(201, None): reversed_}

    def predict_status(self, account_id: str, *, closed: bool) -> Options:
        account = self.accounts[account_id]

        def settle(body: dict[str, Any]) -> None:
            account.closed = closed
            assert body["status"] == ("closed" if closed else "open"), body

        if closed and not account.closed and (account.debits_pending or account.credits_pending):
            return {(409, "account_has_pending"): nothing}
        return {(200, None): settle}

    def assert_transfer_matches(self, model: ModelTransfer, body: dict[str, Any]) -> None:
        expected = {
            "id": model.id,
            "debit_account_id": model.debit,
            "credit_account_id": model.credit,
            "amount": model.amount,
            "pending": model.pending,
            "status": model.status,
            "posted_amount": model.posted_amount,
            "reversed_amount": model.reversed_amount,
            "reverses_transfer_id": model.reverses,
        }
        assert {name: body[name] for name in expected} == expected, body

    def check_transfer(self, tid: str) -> None:
        model = self.transfers.get(tid)
        response = self.http.get(f"/v1/transfers/{tid}")
        if model is None:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 200, response.text
        self.assert_transfer_matches(model, response.json())

    # --- choosing -----------------------------------------------------------------------

    def pick(self, index: int, *, holds: bool) -> str:
        """An id the model knows (mostly), or one nobody used.

        For holds: mostly a pending one, else any hold (conflicting resolutions), now
        and then a transfer that is not a hold.
        """
        known = list(self.transfers.values())
        if holds and index % 10 < 5:
            known = [t for t in known if t.status == "pending"] or known
        elif holds and index % 10 < 9:
            known = [t for t in known if t.pending] or known
        if not known or index % 13 == 12:
            return "missing"
        return known[index // 10 % len(known)].id

    def due_holds(self) -> list[tuple[ModelTransfer, datetime]]:
        """Pending holds with a short timeout (they expire during the example), and when."""
        soon = datetime.now(UTC) + timedelta(seconds=LONG_TIMEOUT / 2)
        return [
            (t, t.expires_at)
            for t in self.transfers.values()
            if t.status == "pending" and t.expires_at is not None and t.expires_at < soon
        ]

    # --- the steps --------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(STEPS),
        debit_at=st.integers(min_value=0, max_value=len(RING) - 1),
        shift=st.integers(min_value=1, max_value=len(RING)),
        amount=AMOUNTS,
        timeout=st.sampled_from([None, SHORT_TIMEOUT, LONG_TIMEOUT]),
        index=PICK,
        part=st.none() | st.integers(min_value=1, max_value=70),
    )
    def step(
        self, *, kind: str, debit_at: int, shift: int, amount: int, timeout: int | None,
        index: int, part: int | None,
    ) -> None:  # fmt: skip
        debit, credit = RING[debit_at], RING[(debit_at + shift) % len(RING)]
        wanted, kind = kind, self.feasible(kind)
        if wanted in ("expire", "wait") and kind == "hold":
            timeout = SHORT_TIMEOUT  # nothing to expire yet: make something that will
        steps: dict[str, Callable[[], None]] = {
            "transfer": lambda: self.call(
                ("create", self.new_id("t"), debit, credit, amount, False, None)
            ),
            "hold": lambda: self.call(
                ("create", self.new_id("h"), debit, credit, amount, True, timeout)
            ),
            "post": lambda: self.call(("post", self.pick(index, holds=True), part)),
            "void": lambda: self.call(("void", self.pick(index, holds=True), None)),
            "reverse": lambda: self.call(
                ("reverse", self.new_id("r"), self.pick(index, holds=False), part)
            ),
            "close": lambda: self.call(("close", USD[index % len(USD)])),
            "reopen": lambda: self.call(("reopen", USD[index % len(USD)])),
            "replay": lambda: self.replay(index),
            "reuse_id": lambda: self.reuse_id(index),
            "expire": self.expire,
            "wait": self.wait_for_expiry,
        }
        steps[kind]()

    def feasible(self, kind: str) -> str:
        """The step to take instead of one that has nothing to act on yet."""
        if kind == "wait" and (self.waited or not self.due_holds()):
            kind = "expire"
        if kind == "expire" and not self.due_holds():
            return "hold"
        if kind in ("post", "void") and not any(t.pending for t in self.transfers.values()):
            return "hold"
        if kind in ("replay", "reuse_id") and not self.transfers:
            return "transfer"
        return kind

    def replay(self, index: int) -> None:
        """An earlier request again, exactly: a stored one answers the same."""
        self.call(self.sent[index % len(self.sent)])

    def reuse_id(self, index: int) -> None:
        """A used id with a different request: 409 idempotency_conflict, nothing changes."""
        used = list(self.transfers.values())[index % len(self.transfers)]
        change = index % 3
        if change == 0:  # a reversal (of itself, or of what it reversed) under its id
            self.call(("reverse", used.id, used.reverses or used.id, used.amount + 1))
        else:  # another amount, or a hold instead of a transfer (or the other way)
            pending = used.pending != (change == 1)
            amount = used.amount + (change == 2)
            self.call(("create", used.id, used.debit, used.credit, amount, pending, None))

    def expire(self) -> None:
        """The sweep releases exactly the holds past their time (by Spanner's clock)."""
        sent_at = datetime.now(UTC)
        response = self.http.post("/v1/transfers:expire")
        answered_at = datetime.now(UTC)
        assert response.status_code == 200, response.text
        due = [h for h, at in self.due_holds() if sent_at >= at + CLOCK_SLACK]
        maybe = [
            h for h, at in self.due_holds() if h not in due and answered_at + CLOCK_SLACK >= at
        ]
        for hold in due:
            self.release(hold, "expired", None)
        for hold in maybe:  # due while the sweep ran: ask how it ended
            if self.http.get(f"/v1/transfers/{hold.id}").json()["status"] == "expired":
                self.release(hold, "expired", None)
                due.append(hold)
        assert response.json() == {"released": len(due)}, (due, maybe)
        for hold in due:
            self.check_transfer(hold.id)

    def wait_for_expiry(self) -> None:
        """Once per example: sleep until every pending hold with a timeout is due."""
        self.waited = True
        latest = max(at for _, at in self.due_holds())
        pause = (latest + 2 * CLOCK_SLACK - datetime.now(UTC)).total_seconds()
        time.sleep(min(max(0.0, pause), SHORT_TIMEOUT + 1))

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def ledger_agrees_with_model(self) -> None:
        response = self.http.get("/v1/balances", params={"account_ids": ",".join(ACCOUNT_IDS)})
        assert response.status_code == 200, response.text
        balances = {b["account_id"]: b for b in response.json()["balances"]}
        for name, model in self.accounts.items():
            got = {key: balances[name][key] for key in model.totals()}
            assert got == model.totals(), (name, got, model.totals())
        # The ledger's invariants, on the API's numbers.
        assert sum(b["balance"] for b in balances.values()) == 0, balances
        assert sum(b["debits_pending"] for b in balances.values()) == sum(
            b["credits_pending"] for b in balances.values()
        ), balances
        for name, model in self.accounts.items():
            b = balances[name]
            if model.floor is not None:
                assert b["balance"] - b["debits_pending"] >= model.floor, (name, b)
            if model.ceiling is not None:
                assert b["balance"] + b["credits_pending"] <= model.ceiling, (name, b)

    @invariant()
    def entries_add_up(self) -> None:
        self.steps += 1
        if self.steps % ENTRIES_EVERY:
            return
        for name, model in self.accounts.items():
            entries = self.entries(name)
            assert sum(e["amount"] for e in entries) == model.balance, (name, entries)
            assert sum(e["pending_amount"] for e in entries) == (
                model.credits_pending - model.debits_pending
            ), (name, entries)
            # Newest first, one per sequence number, the newest carrying the balance.
            assert [e["sequence"] for e in entries] == list(range(model.version, 0, -1))
            if entries:
                assert entries[0]["balance_after"] == model.balance, (name, entries[0])

    def entries(self, account_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"page_size": 20} | ({"page_token": token} if token else {})
            response = self.http.get(f"/v1/accounts/{account_id}/entries", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            token = page["next_page_token"]
            if not token:
                return items


def test_lifecycle_matches_the_model(
    emulator: Any, ledger_database_factory: Callable[[], str], spanner_client: Any
) -> None:
    @contextlib.contextmanager
    def open_client() -> Iterator[TestClient]:
        """A database of the example's own, dropped after it (shrinking runs many)."""
        database = ledger_database_factory()
        try:
            app = create_app(make_settings(emulator.address, database), configure_logs=False)
            with TestClient(app) as client:
                yield client
        finally:
            drop_database(spanner_client, TEST_INSTANCE, database)

    run_state_machine_as_test(
        lambda: LifecycleModel(open_client),
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            # No shrinking: every example costs a database and real seconds, and
            # shrinking one failure takes minutes. A failure lists its steps as run;
            # add Phase.shrink locally for a minimal one.
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

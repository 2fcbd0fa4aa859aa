"""Multi-leg transactions against a simple in-memory model, over HTTP on the emulator.

A hypothesis state machine sends random transactions of 1 to 5 legs (some pending; FX
ones across two currencies; legs that spend what an earlier leg brought; some made to
fail at a leg in the middle: the same account twice, two currencies in one leg, a
missing account, a wrong ``currency``, an amount near INT64 max, two legs of half of it
each), posts and voids of pending ones, reversals, single transfers, holds and
reversals through /v1/transfers (also on a leg, which is refused), closes and reopens,
replays of earlier requests (some with their defaults spelled out) and conflicting
requests under used ids, to a ledger of nine accounts (flags, bounds, both, another
currency, and two whose totals sit near INT64 max).

The model applies a transaction's legs ONE BY ONE to a copy of its accounts with its own
few lines of rules (the API's code is not imported): the first leg that breaks a rule
names the answer (status, code, and ``errors`` with that leg's index and id) and the
copy is dropped; otherwise the copy becomes the state. A reversal moves the original's
legs back the same way, the last leg first (a leg may spend what an earlier one
brought in), and a failure names the reversal's leg. It predicts every answer and
every account's totals and entries; after each step the API must agree and the
ledger's invariants must hold: balances sum to zero, pending debits equal pending
credits, every account is within its bounds with holds counted; and every few steps
each account's entries (every one of them, in order) are the model's and add up to its
balance. A transaction reads back (GET) as the model has it after every step that
made, failed or touched it, and again (with a leg, through /v1/transfers) in turn every
few steps; one that failed left nothing, not even a leg.

Every example gets a database of its own (dropped after it). No holds have a timeout
(expiry is covered by tests/transfers/test_lifecycle_model.py): the run is
deterministic. One rule draws what each step does (see test_lifecycle_model.py for
why); a step with nothing to act on becomes another (see ``feasible``).
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from api.app import create_app
from devtools.admin import drop_database
from tests.support import TEST_INSTANCE, make_settings

pytestmark = pytest.mark.emulator

INT64_MAX = 2**63 - 1  # the storable range of an account's totals (not imported: a rule)
ENTRIES_EVERY = 5  # steps between full checks of every account's entries
REREAD = 3  # transactions read back again at each of those (in turn)
NEAR_MAX_ROOM = 200  # what "reserve" may still be credited and "mint" debited

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
    # Seeded with INT64_MAX - NEAR_MAX_ROOM from mint: a few more credits to reserve (or
    # debits of mint) overflow its totals, within one transaction or over several.
    "reserve": {"currency": "USD"},
    "mint": {"currency": "USD"},
    "fx": {"currency": "EUR"},  # an FX desk's EUR side
    "purse": {"currency": "EUR", "flags": {"debits_must_not_exceed_credits": True}},
}
ACCOUNT_IDS = list(ACCOUNTS)
USD = [a for a in ACCOUNT_IDS if ACCOUNTS[a]["currency"] == "USD"]
EUR = [a for a in ACCOUNT_IDS if ACCOUNTS[a]["currency"] == "EUR"]
LANES = {"USD": USD, "EUR": EUR}
SEED = [
    ("mint", "reserve", INT64_MAX - NEAR_MAX_ROOM),
    ("bank", "wallet", 100),
    ("bank", "capped", 40),
    ("line", "bank", 50),
    ("bank", "bounded", 20),
    ("fx", "purse", 100),
]

# One leg as drawn: (currency lane, position, step to the credit side, amount, how it
# links to the leg before, whether it names its currency, whether it has metadata).
LEG = st.tuples(
    st.sampled_from(["USD", "USD", "USD", "EUR"]),
    st.integers(min_value=0, max_value=len(USD) - 1),
    st.integers(min_value=1, max_value=len(USD) - 1),
    st.integers(min_value=1, max_value=40),
    # again: the same accounts as the leg before; chain: from the leg before's credit
    # account on (what it just received is what this leg spends).
    st.sampled_from(["fresh", "fresh", "again", "chain"]),
    st.sampled_from([False, False, False, True]),
    st.sampled_from([False, False, False, True]),
)
# A fault put into one leg, so that the transaction fails there (unless an earlier leg
# fails first, or, for "huge", the accounts happen to have room). "halves" adds a copy
# of the spoilt leg: totals overflow at the copy, counted with the first one's hold.
FAULTS = [*[None] * 9, "same", "cross", "ghost", "wrong_currency", "huge", "halves"]
HALF = INT64_MAX // 2 + 1  # two of them overflow any account's totals, held or not
MAX_LEGS = 5
LEGS = st.lists(LEG, min_size=MAX_LEGS, max_size=MAX_LEGS)  # the first 1 to 5 are used
PICK = st.integers(min_value=0, max_value=10_000)  # an index into what the model has
METADATA = [None, None, {"order": 1}, {"order": 2}]
# What a step does, weighted (drawn as a position that the step's turn offsets: ``step``).
STEPS = [
    *["transaction"] * 6, *["post"] * 3, *["void"] * 2, *["reverse"] * 3, *["replay"] * 2,
    *["reuse_id"] * 2, *["plain"] * 2, "leg_call", "close", *["reopen"] * 3,
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
    closed: bool = False
    # (transfer id, amount, pending amount, kind), oldest first; sequence = position + 1.
    entries: list[tuple[str, int, int, str]] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def version(self) -> int:
        return len(self.entries)

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


Accounts = dict[str, ModelAccount]


Problem = tuple[int, str]  # status and code


def first(reasons: Iterator[Problem]) -> Problem | None:
    """The first rule broken (the rules are generators: each ``yield`` is one)."""
    return next(reasons, None)


def reasons_to_refuse(
    accounts: Accounts, debit_id: str, credit_id: str, amount: int, currency: str | None
) -> Iterator[Problem]:
    """Why ``amount`` may not move (or be held) from ``debit_id`` to ``credit_id`` now."""
    if debit_id == credit_id:
        yield 422, "same_account"
    if debit_id not in accounts or credit_id not in accounts:
        yield 404, "account_not_found"
        return
    debit, credit = accounts[debit_id], accounts[credit_id]
    if debit.currency != credit.currency:
        yield 422, "currency_mismatch"
    if debit.closed or credit.closed:
        yield 409, "account_closed"
    if currency is not None and currency != debit.currency:
        yield 422, "currency_mismatch"
    # Totals (holds included, so a post can never overflow) stay within INT64.
    if debit.debits_posted + debit.debits_pending + amount > INT64_MAX:
        yield 422, "amount_overflow"
    if credit.credits_posted + credit.credits_pending + amount > INT64_MAX:
        yield 422, "amount_overflow"
    # Bounds count holds: what the debit side has reserved, what the credit side awaits.
    if debit.floor is not None and debit.balance - debit.debits_pending - amount < debit.floor:
        yield 409, "insufficient_funds"
    if (
        credit.ceiling is not None
        and credit.balance + credit.credits_pending + amount > credit.ceiling
    ):
        yield 409, "insufficient_funds"


def refusal(
    accounts: Accounts, debit_id: str, credit_id: str, amount: int, currency: str | None
) -> Problem | None:
    return first(reasons_to_refuse(accounts, debit_id, credit_id, amount, currency))


def move(accounts: Accounts, debit_id: str, credit_id: str, tid: str, amount: int, *,
         kind: str) -> None:  # fmt: skip
    debit, credit = accounts[debit_id], accounts[credit_id]
    debit.debits_posted += amount
    credit.credits_posted += amount
    debit.entries.append((tid, -amount, 0, kind))
    credit.entries.append((tid, amount, 0, kind))


def hold(accounts: Accounts, debit_id: str, credit_id: str, tid: str, amount: int) -> None:
    debit, credit = accounts[debit_id], accounts[credit_id]
    debit.debits_pending += amount
    credit.credits_pending += amount
    debit.entries.append((tid, 0, -amount, "hold"))
    credit.entries.append((tid, 0, amount, "hold"))


@dataclass
class ModelTransfer:
    """A plain transfer, a hold, a reversal, or a leg of a transaction."""

    id: str
    debit: str
    credit: str
    amount: int
    currency: str
    pending: bool
    status: str
    metadata: dict[str, Any] | None = None
    posted_amount: int | None = None
    reversed_amount: int = 0
    reverses: str | None = None
    transaction_id: str | None = None
    signature: str | None = None  # plain ones: what was asked (the same again: a replay)
    first_answer: dict[str, Any] | None = None

    def settle(self, accounts: Accounts, action: str) -> None:
        """Resolve a pending hold: release it; a post moves all of it."""
        debit, credit = accounts[self.debit], accounts[self.credit]
        posted = self.amount if action == "post" else 0
        debit.debits_pending -= self.amount
        credit.credits_pending -= self.amount
        debit.debits_posted += posted
        credit.credits_posted += posted
        kind = "hold_posted" if action == "post" else "hold_voided"
        debit.entries.append((self.id, -posted, self.amount, kind))
        credit.entries.append((self.id, posted, -self.amount, kind))
        self.status = "posted" if action == "post" else "voided"
        if action == "post":
            self.posted_amount = posted

    @property
    def room(self) -> int:
        """What is left to reverse: what moved, less what was reversed."""
        if self.status != "posted":
            return 0
        moved = self.posted_amount if self.pending else self.amount
        return (moved or 0) - self.reversed_amount

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "debit_account_id": self.debit,
            "credit_account_id": self.credit,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "pending": self.pending,
            "metadata": self.metadata,
            "expires_at": None,
            "posted_amount": self.posted_amount,
            "reversed_amount": self.reversed_amount,
            "reverses_transfer_id": self.reverses,
            "transaction_id": self.transaction_id,
        }


@dataclass
class ModelTransaction:
    id: str
    signature: str
    legs: list[ModelTransfer]
    pending: bool
    metadata: dict[str, Any] | None
    first_answer: dict[str, Any]
    request: dict[str, Any] | None = None  # a created one's body (reversals: None)
    reverses: str | None = None
    reversed_by: str | None = None
    resolved_at: str | None = None

    @property
    def status(self) -> str:
        return self.legs[0].status

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "pending": self.pending,
            "metadata": self.metadata,
            "expires_at": None,
            "resolved_at": self.resolved_at,
            "reverses_transaction_id": self.reverses,
            "reversed_by_transaction_id": self.reversed_by,
        }


def leg_name(tid: str, index: int) -> str:
    return f"{tid}~{index}"


def without_defaults(body: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "id" and (k not in defaults or defaults[k] != v)}


TXN_DEFAULTS = {"metadata": None, "pending": False, "timeout_seconds": None}
LEG_DEFAULTS = {"currency": None, "metadata": None}
TRANSFER_DEFAULTS = {**TXN_DEFAULTS, **LEG_DEFAULTS}
REVERSE_DEFAULTS = {"metadata": None, "amount": None}


def signature(kind: str, body: dict[str, Any], reverses: str | None = None) -> str:
    """What a request asks, as the idempotency rules read it: its defaults left out."""
    if kind == "transaction":
        norm = without_defaults(body, TXN_DEFAULTS)
        norm["legs"] = [without_defaults(leg, LEG_DEFAULTS) for leg in body["legs"]]
    elif kind == "transfer":
        norm = without_defaults(body, TRANSFER_DEFAULTS)
    else:  # a reversal: of what is part of what was asked
        norm = {**without_defaults(body, REVERSE_DEFAULTS), "reverses": reverses}
    return json.dumps([kind, norm], sort_keys=True)


def with_defaults(body: dict[str, Any]) -> dict[str, Any]:
    """The same request with every default spelled out: still the same request."""
    spelled = {**dict.fromkeys(("metadata", "timeout_seconds")), "pending": False, **body}
    if "legs" in body:
        spelled["legs"] = [{**dict.fromkeys(LEG_DEFAULTS), **leg} for leg in body["legs"]]
    else:
        spelled = {**dict.fromkeys(LEG_DEFAULTS), **spelled}
    return spelled


@dataclass
class Expect:
    """The answer the model predicts, and what to do to the model when it comes."""

    status: int
    code: str | None = None
    leg_of: str | None = None  # a leg failed: the transaction whose leg ids name it
    index: int | None = None
    then: Callable[[dict[str, Any]], None] = field(default=lambda _body: None, repr=False)


def failed(status_code: tuple[int, str], leg_of: str | None = None, index: int | None = None
           ) -> Expect:  # fmt: skip
    return Expect(status_code[0], status_code[1], leg_of, index)


# The fields of a transfer or transaction that never change once it exists.
FIXED = ("id", "pending", "metadata", "created_at", "expires_at")
FIXED_LEG = (*FIXED, "debit_account_id", "credit_account_id", "amount", "currency",
             "reverses_transfer_id", "transaction_id")  # fmt: skip


class TransactionsModel(RuleBasedStateMachine):
    def __init__(
        self, open_client: Callable[[], contextlib.AbstractContextManager[TestClient]]
    ) -> None:
        super().__init__()
        self._exit = contextlib.ExitStack()
        self.http = self._exit.enter_context(open_client())
        self.accounts = {name: model_account(spec) for name, spec in ACCOUNTS.items()}
        self.transfers: dict[str, ModelTransfer] = {}  # plain ones and legs
        self.transactions: dict[str, ModelTransaction] = {}
        self.tried: list[str] = []  # transaction ids sent in a create or reversal
        self.sent: list[tuple[Any, ...]] = []  # every step's request, for replays
        self.counter = 0
        self.steps = 0  # invariant checks run
        self.turn = 0  # steps taken
        for name, spec in ACCOUNTS.items():
            response = self.http.post("/v1/accounts", json={"id": name, **spec})
            assert response.status_code == 201, response.text
        for debit, credit, amount in SEED:
            self.call(("transfer", {"id": self.new_id("s"), "debit_account_id": debit,
                                    "credit_account_id": credit, "amount": amount}))  # fmt: skip

    def teardown(self) -> None:
        self._exit.close()

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # --- sending and comparing --------------------------------------------------------

    def call(self, op: tuple[Any, ...]) -> None:
        """Send ``op``, predict its answer from the model, compare, apply."""
        self.sent.append(op)
        expect = self.predict(op)  # before sending: the model as the request finds it
        response = self.send(op)
        body = response.json()
        got = (response.status_code, body.get("code") if response.status_code >= 400 else None)
        assert got == (expect.status, expect.code), f"{op}: expected {expect}, got {got}: {body}"
        if expect.code is not None:
            if expect.index is None:
                assert "errors" not in body, (op, body)
            else:
                leg = leg_name(expect.leg_of or "", expect.index)
                wanted = [{"index": expect.index, "id": leg, "code": expect.code}]
                assert body.get("errors") == wanted, (op, body)
        expect.then(body)
        self.check_after(op)

    def send(self, op: tuple[Any, ...]) -> Any:
        """An op as its request: (kind, body), (kind, id, action) or (kind, id, body)."""
        kind, *args = op
        paths: dict[str, Callable[[], tuple[str, dict[str, Any] | None]]] = {
            "transaction": lambda: ("/v1/transactions", args[0]),
            "transaction_action": lambda: (f"/v1/transactions/{args[0]}:{args[1]}", {}),
            "transaction_reverse": lambda: (f"/v1/transactions/{args[0]}:reverse", args[1]),
            "transfer": lambda: ("/v1/transfers", args[0]),
            "transfer_action": lambda: (f"/v1/transfers/{args[0]}:{args[1]}", {}),
            "transfer_reverse": lambda: (f"/v1/transfers/{args[0]}:reverse", args[1]),
            "close": lambda: (f"/v1/accounts/{args[0]}:close", None),
            "reopen": lambda: (f"/v1/accounts/{args[0]}:reopen", None),
        }
        path, body = paths[kind]()
        return self.http.post(path, json=body)

    def predict(self, op: tuple[Any, ...]) -> Expect:
        kind, *args = op
        predictions: dict[str, Callable[..., Expect]] = {
            "transaction": self.predict_transaction,
            "transaction_action": self.predict_transaction_action,
            "transaction_reverse": self.predict_transaction_reverse,
            "transfer": self.predict_transfer,
            "transfer_action": self.predict_transfer_action,
            "transfer_reverse": self.predict_transfer_reverse,
            "close": lambda account: self.predict_status(account, closed=True),
            "reopen": lambda account: self.predict_status(account, closed=False),
        }
        return predictions[kind](*args)

    # --- transactions -------------------------------------------------------------------

    def replayed_transaction(self, tid: str, sig: str) -> Expect | None:
        """A used id: the same request answers what it made (200), another conflicts."""
        known = self.transactions.get(tid)
        if known is None:
            return None
        if known.signature != sig:
            return failed((409, "idempotency_conflict"))

        def same(body: dict[str, Any]) -> None:
            self.assert_fixed(body, known.first_answer)
            self.assert_transaction(known, body)

        return Expect(200, then=same)

    def predict_transaction(self, body: dict[str, Any]) -> Expect:
        tid, pending, legs = body["id"], bool(body.get("pending")), body["legs"]
        # Checked before anything is read: a leg with one account on both sides.
        for index, leg in enumerate(legs):
            if leg["debit_account_id"] == leg["credit_account_id"]:
                return failed((422, "same_account"), tid, index)
        sig = signature("transaction", body)
        replay = self.replayed_transaction(tid, sig)
        if replay is not None:
            return replay
        # The legs one by one, each on what the ones before it left.
        work = copy.deepcopy(self.accounts)
        for index, leg in enumerate(legs):
            debit, credit, amount = leg["debit_account_id"], leg["credit_account_id"], leg["amount"]
            refused = refusal(work, debit, credit, amount, leg.get("currency"))
            if refused is not None:
                return failed(refused, tid, index)
            if pending:
                hold(work, debit, credit, leg_name(tid, index), amount)
            else:
                move(work, debit, credit, leg_name(tid, index), amount, kind="transfer")

        def created(answer: dict[str, Any]) -> None:
            self.accounts = work
            made = [
                ModelTransfer(
                    id=leg_name(tid, index),
                    debit=leg["debit_account_id"],
                    credit=leg["credit_account_id"],
                    amount=leg["amount"],
                    currency=ACCOUNTS[leg["debit_account_id"]]["currency"],
                    pending=pending,
                    status="pending" if pending else "posted",
                    metadata=leg.get("metadata"),
                    transaction_id=tid,
                )
                for index, leg in enumerate(legs)
            ]
            self.transfers |= {leg.id: leg for leg in made}
            transaction = ModelTransaction(
                id=tid, signature=sig, legs=made, pending=pending,
                metadata=body.get("metadata"), first_answer=answer, request=body,
            )  # fmt: skip
            self.transactions[tid] = transaction
            self.assert_transaction(transaction, answer)

        return Expect(201, then=created)

    def predict_transaction_action(self, tid: str, action: str) -> Expect:
        transaction = self.transactions.get(tid)
        if transaction is None:
            return failed((404, "transaction_not_found"))
        if not transaction.pending:
            return failed((409, "transfer_not_pending"))
        status = transaction.status
        if status == "pending":

            def resolved(answer: dict[str, Any]) -> None:
                for leg in transaction.legs:
                    leg.settle(self.accounts, action)
                transaction.resolved_at = answer["resolved_at"]
                assert transaction.resolved_at is not None, answer
                self.assert_transaction(transaction, answer)

            return Expect(200, then=resolved)
        done = {"post": "posted", "void": "voided"}[action]
        if status == done:  # the same resolution again: the same answer
            return Expect(200, then=lambda answer: self.assert_transaction(transaction, answer))
        code = "transfer_already_voided" if status == "voided" else "transfer_already_posted"
        return failed((409, code))  # the transaction's conflict, not one leg's

    def predict_transaction_reverse(self, tid: str, body: dict[str, Any]) -> Expect:
        rid = body["id"]
        sig = signature("reversal", body, reverses=tid)
        replay = self.replayed_transaction(rid, sig)
        if replay is not None:
            return replay
        original = self.transactions.get(tid)
        if original is None:
            return failed((404, "transaction_not_found"))
        if original.reversed_by is not None:
            return failed((409, "reversal_exceeds_amount"))
        if any(leg.status != "posted" for leg in original.legs):
            return failed((409, "transfer_not_posted"))  # the whole transaction's state
        # Every leg moves back, the last first (a leg may spend what an earlier one
        # brought), each on what the ones undone before it left; a refusal names the
        # reversal's leg.
        work = copy.deepcopy(self.accounts)
        rooms = [leg.room for leg in original.legs]
        for index in reversed(range(len(original.legs))):
            leg, room = original.legs[index], rooms[index]
            refused = first(self.reasons_not_to_reverse(work, leg, room))
            if refused is not None:
                return failed(refused, rid, index)
            move(work, leg.credit, leg.debit, leg_name(rid, index), room, kind="reversal")

        def reversed_(answer: dict[str, Any]) -> None:
            self.accounts = work
            made = []
            for index, (leg, room) in enumerate(zip(original.legs, rooms, strict=True)):
                made.append(
                    ModelTransfer(
                        id=leg_name(rid, index),
                        debit=leg.credit,
                        credit=leg.debit,
                        amount=room,
                        currency=leg.currency,
                        pending=False,
                        status="posted",
                        reverses=leg.id,
                        transaction_id=rid,
                    )
                )
                leg.reversed_amount += room
            self.transfers |= {leg.id: leg for leg in made}
            original.reversed_by = rid
            reversal = ModelTransaction(
                id=rid, signature=sig, legs=made, pending=False, metadata=body.get("metadata"),
                first_answer=answer, reverses=tid,
            )  # fmt: skip
            self.transactions[rid] = reversal
            self.assert_transaction(reversal, answer)

        return Expect(201, then=reversed_)

    @staticmethod
    def reasons_not_to_reverse(
        accounts: Accounts, original: ModelTransfer, room: int
    ) -> Iterator[Problem]:
        """Why ``original`` may not be reversed (``room`` of it: all that is left)."""
        if original.status != "posted":
            yield 409, "transfer_not_posted"
        if room <= 0:
            yield 409, "reversal_exceeds_amount"
        # Money goes back: the original's credit account is debited.
        yield from reasons_to_refuse(accounts, original.credit, original.debit, room, None)

    # --- plain transfers (and legs through /v1/transfers) ----------------------------------

    def predict_transfer(self, body: dict[str, Any]) -> Expect:
        tid, pending = body["id"], bool(body.get("pending"))
        sig = signature("transfer", body)
        known = self.transfers.get(tid)
        if known is not None:
            if known.signature != sig:
                return failed((409, "idempotency_conflict"))

            def same(answer: dict[str, Any]) -> None:
                assert known.first_answer is not None
                self.assert_fixed(answer, known.first_answer, FIXED_LEG)
                self.assert_transfer(known, answer)

            return Expect(200, then=same)
        debit, credit, amount = body["debit_account_id"], body["credit_account_id"], body["amount"]
        refused = refusal(self.accounts, debit, credit, amount, body.get("currency"))
        if refused is not None:
            return failed(refused)

        def created(answer: dict[str, Any]) -> None:
            if pending:
                hold(self.accounts, debit, credit, tid, amount)
            else:
                move(self.accounts, debit, credit, tid, amount, kind="transfer")
            self.transfers[tid] = ModelTransfer(
                id=tid, debit=debit, credit=credit, amount=amount,
                currency=ACCOUNTS[debit]["currency"], pending=pending,
                status="pending" if pending else "posted", metadata=body.get("metadata"),
                signature=sig, first_answer=answer,
            )  # fmt: skip
            self.assert_transfer(self.transfers[tid], answer)

        return Expect(201, then=created)

    def predict_transfer_action(self, tid: str, action: str) -> Expect:
        transfer = self.transfers.get(tid)
        if transfer is None:
            return failed((404, "transfer_not_found"))
        if transfer.transaction_id is not None:
            return failed((409, "transfer_in_transaction"))
        if not transfer.pending:
            return failed((409, "transfer_not_pending"))
        if transfer.status == "pending":

            def resolved(answer: dict[str, Any]) -> None:
                transfer.settle(self.accounts, action)
                self.assert_transfer(transfer, answer)

            return Expect(200, then=resolved)
        if transfer.status == {"post": "posted", "void": "voided"}[action]:
            return Expect(200, then=lambda answer: self.assert_transfer(transfer, answer))
        voided = transfer.status == "voided"
        return failed((409, "transfer_already_voided" if voided else "transfer_already_posted"))

    def predict_transfer_reverse(self, tid: str, body: dict[str, Any]) -> Expect:
        rid = body["id"]
        sig = signature("reversal", body, reverses=tid)
        known = self.transfers.get(rid)
        if known is not None:
            if known.signature != sig:
                return failed((409, "idempotency_conflict"))
            return Expect(200, then=lambda answer: self.assert_transfer(known, answer))
        original = self.transfers.get(tid)
        if original is None:
            return failed((404, "transfer_not_found"))
        if original.transaction_id is not None:
            return failed((409, "transfer_in_transaction"))
        room = original.room
        refused = first(self.reasons_not_to_reverse(self.accounts, original, room))
        if refused is not None:
            return failed(refused)

        def reversed_(answer: dict[str, Any]) -> None:
            move(self.accounts, original.credit, original.debit, rid, room, kind="reversal")
            original.reversed_amount += room
            self.transfers[rid] = ModelTransfer(
                id=rid, debit=original.credit, credit=original.debit, amount=room,
                currency=original.currency, pending=False, status="posted", reverses=tid,
                metadata=body.get("metadata"), signature=sig, first_answer=answer,
            )  # fmt: skip
            self.assert_transfer(self.transfers[rid], answer)

        return Expect(201, then=reversed_)

    def predict_status(self, account_id: str, *, closed: bool) -> Expect:
        account = self.accounts[account_id]
        if closed and not account.closed and (account.debits_pending or account.credits_pending):
            return failed((409, "account_has_pending"))

        def settle(answer: dict[str, Any]) -> None:
            account.closed = closed
            assert answer["status"] == ("closed" if closed else "open"), answer

        return Expect(200, then=settle)

    # --- what the API must show -----------------------------------------------------------

    @staticmethod
    def assert_fixed(body: dict[str, Any], first: dict[str, Any],
                     names: tuple[str, ...] = FIXED) -> None:  # fmt: skip
        assert {n: body[n] for n in names} == {n: first[n] for n in names}, (body, first)
        if "legs" in first:
            assert len(body["legs"]) == len(first["legs"]), (body, first)
            for leg, first_leg in zip(body["legs"], first["legs"], strict=True):
                assert {n: leg[n] for n in FIXED_LEG} == {n: first_leg[n] for n in FIXED_LEG}

    @staticmethod
    def assert_transfer(model: ModelTransfer, body: dict[str, Any]) -> None:
        expected = model.wire()
        assert {name: body[name] for name in expected} == expected, body

    def assert_transaction(self, model: ModelTransaction, body: dict[str, Any]) -> None:
        expected = model.wire()
        assert {name: body[name] for name in expected} == expected, body
        assert len(body["legs"]) == len(model.legs), body
        for leg, got in zip(model.legs, body["legs"], strict=True):
            self.assert_transfer(leg, got)
        # One commit made every leg, and one resolved them.
        assert {g["created_at"] for g in body["legs"]} == {body["created_at"]}, body
        assert {g["resolved_at"] for g in body["legs"]} == {body["resolved_at"]}, body

    def check_after(self, op: tuple[Any, ...]) -> None:
        """Read back what a step made or touched."""
        kind = op[0]
        if kind == "transaction":
            self.check_transaction(op[1]["id"])
        elif kind == "transaction_action":
            self.check_transaction(op[1])
        elif kind == "transaction_reverse":
            self.check_transaction(op[2]["id"])
            self.check_transaction(op[1])
        elif kind in ("transfer", "transfer_reverse"):
            self.check_transfer(op[1]["id"] if kind == "transfer" else op[2]["id"])
        elif kind == "transfer_action":
            self.check_transfer(op[1])
        if kind in ("transaction", "transaction_reverse"):
            tid = op[1]["id"] if kind == "transaction" else op[2]["id"]
            if tid not in self.tried:
                self.tried.append(tid)

    def check_transaction(self, tid: str, *, leg: bool = False) -> None:
        """Read ``tid`` back (and, with ``leg``, its last leg through /v1/transfers)."""
        model = self.transactions.get(tid)
        response = self.http.get(f"/v1/transactions/{tid}")
        if model is None:  # never made (a failed one wrote nothing): no legs either
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "transaction_not_found", response.text
            if leg:
                assert self.http.get(f"/v1/transfers/{leg_name(tid, 0)}").status_code == 404
            return
        assert response.status_code == 200, response.text
        self.assert_fixed(response.json(), model.first_answer)
        self.assert_transaction(model, response.json())
        if leg:
            self.check_transfer(model.legs[-1].id)  # a leg reads the same on its own

    def check_transfer(self, tid: str) -> None:
        model = self.transfers.get(tid)
        response = self.http.get(f"/v1/transfers/{tid}")
        if model is None:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 200, response.text
        self.assert_transfer(model, response.json())

    # --- choosing -----------------------------------------------------------------------

    def build_legs(self, specs: list[tuple[Any, ...]], fault: str | None,
                   at: int) -> list[dict[str, Any]]:  # fmt: skip
        """Legs from what was drawn; ``fault`` goes into leg ``at`` (mod their number)."""
        legs: list[dict[str, Any]] = []
        at %= len(specs)
        for index, (lane, position, step, amount, link, named, meta) in enumerate(specs):
            before = legs[-1] if legs else None
            if before is not None and link == "again":
                debit, credit = before["debit_account_id"], before["credit_account_id"]
            elif before is not None and link == "chain" and before["credit_account_id"] in ACCOUNTS:
                debit = before["credit_account_id"]
                ring = LANES[ACCOUNTS[debit]["currency"]]
                credit = ring[(ring.index(debit) + 1 + (step - 1) % (len(ring) - 1)) % len(ring)]
            else:
                ring = LANES[lane]
                start = (position + index + self.turn) % len(ring)
                debit = ring[start]
                credit = ring[(start + 1 + (step - 1) % (len(ring) - 1)) % len(ring)]
            leg: dict[str, Any] = {
                "debit_account_id": debit, "credit_account_id": credit, "amount": amount,
            }  # fmt: skip
            if named and debit in ACCOUNTS:
                leg["currency"] = ACCOUNTS[debit]["currency"]
            if meta:
                leg["metadata"] = {"leg": index}
            if index == at and fault is not None:
                self.spoil(leg, fault, position)
            legs.append(leg)
            if index == at and fault == "halves":  # the same leg again: one too many
                legs.append(dict(leg))
        return legs

    @staticmethod
    def spoil(leg: dict[str, Any], fault: str, position: int) -> None:
        debit = leg["debit_account_id"]
        currency = ACCOUNTS[debit]["currency"] if debit in ACCOUNTS else "USD"
        other = "EUR" if currency == "USD" else "USD"
        if fault == "same":
            leg["credit_account_id"] = debit
        elif fault == "cross":
            leg["credit_account_id"] = LANES[other][position % len(LANES[other])]
        elif fault == "ghost":
            leg["debit_account_id" if position % 2 else "credit_account_id"] = "ghost"
        elif fault == "wrong_currency":
            leg["currency"] = other
        elif fault == "huge":  # totals overflow, or a bound refuses it (the first rule broken)
            leg["amount"] = INT64_MAX - position
        else:  # halves: this leg and a copy of it, each half of what totals can hold
            leg["amount"] = HALF

    def pick_transaction(self, index: int, want: Callable[[ModelTransaction], bool],
                         then: Callable[[ModelTransaction], bool]) -> str:  # fmt: skip
        """Mostly one ``want`` takes, else one ``then`` takes, else any (each if there is
        one); now and then one nobody made."""
        known = list(self.transactions.values())
        if index % 10 < 6:
            known = [t for t in known if want(t)] or known
        elif index % 10 < 8:
            known = [t for t in known if then(t)] or known
        if not known or index % 17 == 16:
            return "missing"
        return known[index // 10 % len(known)].id

    def plain(self) -> list[ModelTransfer]:
        """Transfers that are not legs (the seed's too)."""
        return [t for t in self.transfers.values() if t.transaction_id is None]

    # --- the steps --------------------------------------------------------------------

    # Choices are drawn as numbers that the step's turn offsets: hypothesis's first
    # examples are all zeros, which would otherwise be thirty times one leg from bank to
    # wallet; this way they cycle through every kind of step (a random draw stays random).
    @rule(
        kind_at=st.integers(min_value=0, max_value=len(STEPS) - 1),
        count=st.integers(min_value=0, max_value=MAX_LEGS - 1),
        legs=LEGS,
        fault_at=st.integers(min_value=0, max_value=len(FAULTS) - 1),
        pending_at=st.integers(min_value=0, max_value=1),
        metadata=st.sampled_from(METADATA),
        index=PICK,
    )
    def step(self, *, kind_at: int, count: int, legs: list[tuple[Any, ...]], fault_at: int,
             pending_at: int, metadata: dict[str, Any] | None, index: int) -> None:  # fmt: skip
        turn = self.turn = self.turn + 1
        kind = self.feasible(STEPS[(kind_at + 5 * turn) % len(STEPS)])
        specs = legs[: (count + turn) % MAX_LEGS + 1]
        fault = FAULTS[(fault_at + 3 * turn) % len(FAULTS)]
        pending = (pending_at + turn // 3) % 2 == 1
        index += 37 * turn
        if kind == "transaction":
            self.create(specs, fault, index, pending=pending, metadata=metadata)
        elif kind in ("post", "void"):
            tid = self.pick_transaction(  # pending; else resolved: repeats and conflicts
                index,
                lambda t: t.status == "pending",
                lambda t: t.pending and t.status != "pending",
            )
            self.call(("transaction_action", tid, kind))
        elif kind == "reverse":
            tid = self.pick_transaction(  # reversible; else pending, voided or reversed
                index,
                lambda t: t.status == "posted" and t.reversed_by is None,
                lambda t: t.status != "posted" or t.reversed_by is not None,
            )
            body: dict[str, Any] = {"id": self.new_id("r")}
            if metadata is not None:
                body["metadata"] = metadata
            self.call(("transaction_reverse", tid, body))
        elif kind == "replay":
            self.replay(index)
        elif kind == "reuse_id":
            self.reuse_id(specs, index)
        elif kind == "plain":
            self.plain_step(specs, fault, index, pending=pending)
        elif kind == "leg_call":
            self.leg_call(index)
        elif kind == "close":
            self.call(("close", ACCOUNT_IDS[index % len(ACCOUNT_IDS)]))
        else:  # reopen: mostly one that is closed
            closed = [a for a, m in self.accounts.items() if m.closed] or ACCOUNT_IDS
            self.call(("reopen", closed[index % len(closed)]))

    def feasible(self, kind: str) -> str:
        """The step to take instead of one that has nothing to act on yet."""
        nothing_to = {
            "post": not any(t.status == "pending" for t in self.transactions.values()),
            "void": not any(t.status == "pending" for t in self.transactions.values()),
            "reverse": not any(t.status == "posted" for t in self.transactions.values()),
            "reuse_id": not self.transactions,
            "leg_call": not self.transactions,
        }
        return "transaction" if nothing_to.get(kind) else kind

    def create(self, specs: list[tuple[Any, ...]], fault: str | None, index: int, *,
               pending: bool, metadata: dict[str, Any] | None) -> None:  # fmt: skip
        body: dict[str, Any] = {
            "id": self.new_id("x"),
            "legs": self.build_legs(specs, fault, index),
        }
        if pending:
            body["pending"] = True
        if metadata is not None:
            body["metadata"] = metadata
        self.call(("transaction", body))

    def replay(self, index: int) -> None:
        """An earlier request again; a third of the creates with their defaults spelled out."""
        op = self.sent[index % len(self.sent)]
        if op[0] in ("transaction", "transfer") and index % 3 == 0:
            op = (op[0], with_defaults(op[1]))
        self.call(op)

    def reuse_id(self, specs: list[tuple[Any, ...]], index: int) -> None:
        """A used transaction id for another request: 409 idempotency_conflict."""
        known = list(self.transactions)
        used = self.transactions[known[index % len(known)]]
        change = index // 7 % 5
        if change == 4:  # a reversal under its id (of what a reversal reversed: a replay)
            self.call(("transaction_reverse", known[index // 5 % len(known)], {"id": used.id}))
            return
        if used.request is None:  # a reversal's id for a new transaction
            self.call(("transaction", {"id": used.id, "legs": self.build_legs(specs, None, 0)}))
            return
        body = copy.deepcopy(used.request)
        legs = body["legs"]
        which = legs[index % len(legs)]
        if change == 0:  # a leg names its currency (or, if it does, moves one more)
            if "currency" in which:
                which["amount"] += 1
            else:
                which["currency"] = ACCOUNTS[which["debit_account_id"]]["currency"]
        elif change == 1:
            body["pending"] = not body.get("pending", False)
        elif change == 2:
            body["metadata"] = {"changed": True}
        elif len(legs) > 1:
            legs.pop()
        else:
            legs.append(dict(legs[0]))
        self.call(("transaction", body))

    def plain_step(self, specs: list[tuple[Any, ...]], fault: str | None, index: int, *,
                   pending: bool) -> None:  # fmt: skip
        """A single transfer or hold; or a plain hold settled; or a plain one reversed."""
        holds = [t for t in self.plain() if t.pending]
        holds = [t for t in holds if t.status == "pending"] or holds
        posted = [t for t in self.plain() if t.room > 0]
        if index % 4 == 0 and holds:
            action = "post" if index % 8 == 0 else "void"
            self.call(("transfer_action", holds[index // 8 % len(holds)].id, action))
        elif index % 4 == 1 and posted:
            original = posted[index // 4 % len(posted)].id
            self.call(("transfer_reverse", original, {"id": self.new_id("p")}))
        else:
            spoilt = fault if index % 3 == 0 and fault != "halves" else None  # halves: 2 legs
            leg = self.build_legs(specs[:1], spoilt, 0)[0]
            body = {"id": self.new_id("h" if pending else "t"), **leg}
            if pending:
                body["pending"] = True
            self.call(("transfer", body))

    def leg_call(self, index: int) -> None:
        """One leg through /v1/transfers: a leg is never settled or reversed on its own."""
        transaction = list(self.transactions.values())[index % len(self.transactions)]
        leg = transaction.legs[index // 3 % len(transaction.legs)].id
        if index % 3 == 2:
            self.call(("transfer_reverse", leg, {"id": self.new_id("p")}))
        else:
            self.call(("transfer_action", leg, "post" if index % 3 == 0 else "void"))

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
    def history_agrees_with_model(self) -> None:
        self.steps += 1
        if self.steps % ENTRIES_EVERY:
            return
        for name, model in self.accounts.items():
            entries = self.entries(name)
            got = [
                (e["sequence"], e["transfer_id"], e["amount"], e["pending_amount"], e["kind"],
                 e["balance_after"])
                for e in reversed(entries)
            ]  # fmt: skip
            expected, balance = [], 0
            for sequence, (tid, amount, pending, kind) in enumerate(model.entries, start=1):
                balance += amount
                expected.append((sequence, tid, amount, pending, kind, balance))
            assert got == expected, (name, got, expected)
            assert sum(e["amount"] for e in entries) == model.balance, name
            assert sum(e["pending_amount"] for e in entries) == (
                model.credits_pending - model.debits_pending
            ), name
        # Some transactions again, in turn: made, failed (nothing left), and their legs.
        for turn in range(REREAD):
            at = (self.steps // ENTRIES_EVERY * REREAD + turn) % len(self.tried)
            self.check_transaction(self.tried[at], leg=True)

    def entries(self, account_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"page_size": 100} | ({"page_token": token} if token else {})
            response = self.http.get(f"/v1/accounts/{account_id}/entries", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            token = page["next_page_token"]
            if not token:
                return items


def test_transactions_match_the_model(
    emulator: Any, ledger_database_factory: Callable[[], str], spanner_client: Any
) -> None:
    @contextlib.contextmanager
    def open_client() -> Iterator[TestClient]:
        """A database of the example's own, dropped after it."""
        database = ledger_database_factory()
        try:
            app = create_app(make_settings(emulator.address, database), configure_logs=False)
            with TestClient(app) as client:
                yield client
        finally:
            drop_database(spanner_client, TEST_INSTANCE, database)

    run_state_machine_as_test(
        lambda: TransactionsModel(open_client),
        settings=settings(
            max_examples=12,
            stateful_step_count=30,
            deadline=None,
            derandomize=True,
            database=None,
            # No shrinking (each example costs a database and real seconds); a failure
            # lists its steps as run. Add Phase.shrink locally for a minimal one.
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

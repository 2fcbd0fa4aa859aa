"""Reading history: balances at past instants, entries in a time range, statements."""

from __future__ import annotations

import base64
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.cloud import spanner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.config import Settings
from tests.accounts.conftest import clear_totals

Ids = Callable[[str], str]

pytestmark = pytest.mark.emulator


def open_account(client: TestClient, account_id: str) -> None:
    response = client.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
    assert response.status_code == 201, response.text


def move(client: TestClient, tid: str, debit: str, credit: str, amount: int, **extra: Any) -> Any:
    body = {"id": tid, "debit_account_id": debit, "credit_account_id": credit, "amount": amount}
    response = client.post("/v1/transfers", json={**body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def entries(client: TestClient, account_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/v1/accounts/{account_id}/entries", params={"page_size": 500, **params})
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


def at(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


US = timedelta(microseconds=1)


@pytest.fixture
def history(client: TestClient, unique: Ids) -> tuple[str, str, list[datetime]]:
    """A bank pays alice 100, 20 and 5, then alice pays 30 back: four commits."""
    bank, alice = unique("bank"), unique("alice")
    open_account(client, bank)
    open_account(client, alice)
    stamps = []
    for amount in (100, 20, 5):
        stamps.append(parse(move(client, unique("t"), bank, alice, amount)["created_at"]))
    stamps.append(parse(move(client, unique("t"), alice, bank, 30)["created_at"]))
    return bank, alice, stamps


def balance_at(client: TestClient, account_id: str, instant: datetime) -> dict[str, Any]:
    response = client.get(f"/v1/accounts/{account_id}", params={"as_of": at(instant)})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_as_of_is_the_balance_after_the_last_entry_at_or_before_it(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    _, alice, stamps = history
    seen = [balance_at(client, alice, s)["balance"] for s in stamps]
    assert seen == [100, 120, 125, 95]
    assert balance_at(client, alice, stamps[2] - US)["balance"] == 120
    later = balance_at(client, alice, stamps[3] + timedelta(milliseconds=1))
    assert (later["balance"], later["sequence"], later["existed"]) == (95, 4, True)
    assert later["as_of"] == at(stamps[3] + timedelta(milliseconds=1))


def test_an_instant_before_the_account_was_opened_says_so(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    _, alice, stamps = history
    before = balance_at(client, alice, stamps[0] - timedelta(hours=1))
    assert (before["existed"], before["balance"], before["sequence"]) == (False, 0, 0)


def test_an_instant_in_the_future_is_422(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    _, alice, stamps = history
    future = at(stamps[-1] + timedelta(hours=1))
    response = client.get(f"/v1/accounts/{alice}", params={"as_of": future})
    assert (response.status_code, response.json()["code"]) == (422, "instant_in_future")


@pytest.mark.parametrize("bad", ["2026-12-01T23:59:59", "yesterday", "2026-13-01T00:00:00Z"])
def test_an_instant_without_a_zone_or_malformed_is_422(
    client: TestClient, history: tuple[str, str, list[datetime]], bad: str
) -> None:
    _, alice, _ = history
    response = client.get(f"/v1/accounts/{alice}", params={"as_of": bad})
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


@pytest.mark.parametrize(
    ("as_of", "status"), [("8902-01-02T09:17:33Z", 422), ("0001-01-01T00:00:00.5Z", 200)]
)
def test_an_instant_at_the_ends_of_the_calendar_is_an_answer_not_a_500(
    client: TestClient, history: tuple[str, str, list[datetime]], as_of: str, status: int
) -> None:
    """Found by Schemathesis: looking back from year 8902 for the last entry overflowed."""
    _, alice, _ = history
    response = client.get(f"/v1/accounts/{alice}", params={"as_of": as_of})
    assert response.status_code == status, response.text


INSTANTS = {
    "as_of": ("", {"as_of": "{}"}),
    "balances as_of": ("/v1/balances", {"as_of": "{}"}),
    "entries from": ("/entries", {"from": "{}"}),
    "statement to": ("/statement", {"from": "2026-01-01T00:00:00Z", "to": "{}"}),
    "transfers created_from": ("/v1/transfers", {"created_from": "{}"}),
}


@pytest.mark.parametrize("value", ["0.5", "1767225600", "2026-01-01", "2026-01-01T00:00:00"])
@pytest.mark.parametrize(("where", "params"), INSTANTS.values(), ids=INSTANTS.keys())
def test_an_instant_is_rfc3339_with_a_zone_never_a_number_or_a_bare_date(
    client: TestClient, history: tuple[str, str, list[datetime]],
    where: str, params: dict[str, str], value: str,
) -> None:  # fmt: skip
    """``?as_of=0.5`` was read as 1970-01-01T00:00:00.5Z: a typo became a date."""
    _, alice, _ = history
    path = where if where.startswith("/v1") else f"/v1/accounts/{alice}{where}"
    query = {name: text.replace("{}", value) for name, text in params.items()}
    if path == "/v1/balances":
        query["account_ids"] = alice
    response = client.get(path, params=query)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_balances_as_of_are_one_cut_across_accounts(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    bank, alice, stamps = history
    response = client.get(
        "/v1/balances", params={"account_ids": f"{alice},{bank}", "as_of": at(stamps[1])}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == at(stamps[1])
    assert [(b["account_id"], b["balance"]) for b in body["balances"]] == [
        (alice, 120), (bank, -120),
    ]  # fmt: skip


def test_entries_in_a_time_range(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    _, alice, stamps = history
    ranged = entries(client, alice, **{"from": at(stamps[1]), "to": at(stamps[3])})
    assert [e["amount"] for e in ranged] == [20, 5]
    assert [e["amount"] for e in entries(client, alice, **{"from": at(stamps[2])})] == [5, -30]
    assert [e["amount"] for e in entries(client, alice, to=at(stamps[1]))] == [100]


def test_entries_in_a_range_are_paginated(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    _, alice, stamps = history
    params = {"from": at(stamps[0]), "to": at(stamps[3]), "page_size": 2}
    first = client.get(f"/v1/accounts/{alice}/entries", params=params).json()
    assert [e["amount"] for e in first["items"]] == [5, 20]
    token = first["next_page_token"]
    second = client.get(f"/v1/accounts/{alice}/entries", params={**params, "page_token": token})
    assert [e["amount"] for e in second.json()["items"]] == [100]
    assert second.json()["next_page_token"] is None


def test_an_entries_page_token_is_bound_to_its_account_and_range(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    bob, alice, stamps = history
    params = {"from": at(stamps[0]), "page_size": 1}
    token = client.get(f"/v1/accounts/{alice}/entries", params=params).json()["next_page_token"]
    for account_id, query in (
        (bob, params),  # another account's history
        (alice, {**params, "from": at(stamps[1])}),  # another range
        (alice, {"page_size": 1}),
    ):
        response = client.get(
            f"/v1/accounts/{account_id}/entries", params={**query, "page_token": token}
        )
        assert (response.status_code, response.json()["code"]) == (422, "invalid_page_token")


def test_an_entries_page_token_cannot_be_forged_from_a_sequence(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    """Unsigned, a token was base64 of [sequence]: any caller could make one."""
    _, alice, _ = history
    forged = base64.urlsafe_b64encode(b"[3]").decode().rstrip("=")
    response = client.get(f"/v1/accounts/{alice}/entries", params={"page_token": forged})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_page_token")


def test_a_statement_sums_its_range(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    _, alice, stamps = history
    response = client.get(
        f"/v1/accounts/{alice}/statement", params={"from": at(stamps[1]), "to": at(stamps[3] + US)}
    )
    assert response.status_code == 200, response.text
    s = response.json()
    assert (s["opening_balance"], s["closing_balance"]) == (100, 95)
    assert (s["debits"], s["credits"], s["entry_count"]) == (30, 25, 3)
    assert (s["from"], s["to"]) == (at(stamps[1]), at(stamps[3] + US))


def test_a_statement_without_to_runs_to_its_snapshot(
    client: TestClient, history: tuple[str, str, list[datetime]]
) -> None:
    _, alice, stamps = history
    s = client.get(f"/v1/accounts/{alice}/statement", params={"from": at(stamps[0])}).json()
    assert (s["opening_balance"], s["closing_balance"], s["entry_count"]) == (0, 95, 4)
    assert parse(s["to"]) == parse(s["read_timestamp"])


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T09:00:00Z"}, "invalid_time_range"),
        ({"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T10:00:00Z"}, "invalid_time_range"),
        ({"from": "2999-01-01T00:00:00Z"}, "instant_in_future"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"}, "instant_in_future"),
        ({"to": "2026-01-01T00:00:00Z"}, "validation_error"),  # from is required
        ({"from": "2026-01-01T00:00:00"}, "validation_error"),
    ],
)
def test_bad_statement_ranges_are_422(
    client: TestClient, history: tuple[str, str, list[datetime]], params: dict[str, str], code: str
) -> None:
    _, alice, _ = history
    response = client.get(f"/v1/accounts/{alice}/statement", params=params)
    assert (response.status_code, response.json()["code"]) == (422, code)


# --- properties over random histories --------------------------------------------------


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(st.tuples(st.booleans(), st.integers(1, 1000)), min_size=1, max_size=8),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=4),
)
def test_as_of_equals_replaying_the_entries_and_statements_chain(
    client: TestClient, unique: Ids, moves: list[tuple[bool, int]], cuts: list[float]
) -> None:
    a, b = unique("a"), unique("b")
    open_account(client, a)
    open_account(client, b)
    for outgoing, amount in moves:
        debit, credit = (a, b) if outgoing else (b, a)
        move(client, unique("t"), debit, credit, amount)
    history = entries(client, a)
    first, last = parse(history[0]["posted_at"]), parse(history[-1]["posted_at"])
    # Random instants across the history (to the microsecond), in order.
    instants = sorted({first - US + (last - first + 2 * US) * c for c in cuts})
    for instant in instants:
        replayed = sum(e["amount"] for e in history if parse(e["posted_at"]) <= instant)
        assert balance_at(client, a, instant)["balance"] == replayed
    bounds = [first - US, *instants, last + US]
    statements = [
        client.get(f"/v1/accounts/{a}/statement", params={"from": at(s), "to": at(e)}).json()
        for s, e in itertools.pairwise(bounds)
        if s < e
    ]
    for earlier, later in itertools.pairwise(statements):
        assert earlier["closing_balance"] == later["opening_balance"]
    for s in statements:
        assert s["closing_balance"] == s["opening_balance"] + s["credits"] - s["debits"]
    assert sum(s["entry_count"] for s in statements) == len(history)


# --- many entries of one account in one commit -----------------------------------------

MOVES_IN_ONE_COMMIT = 50


@dataclass(frozen=True)
class OneCommit:
    """alice: 1,000 from the bank, then ONE atomic batch moving her 50 times (every
    entry of it at one commit timestamp), then 7 more."""

    alice: str
    at: datetime  # the batch's commit timestamp
    later: datetime  # the commit of the 7
    amounts: list[int]  # alice's side of each batch item, in order

    @property
    def before(self) -> int:
        return 1000

    @property
    def after(self) -> int:
        return self.before + sum(self.amounts)


@pytest.fixture
def one_commit(client: TestClient, unique: Ids) -> OneCommit:
    bank, alice = unique("bank"), unique("alice")
    open_account(client, bank)
    open_account(client, alice)
    move(client, unique("t"), bank, alice, 1000)
    # Every fifth item is a payment out, so the commit has debits and credits.
    amounts = [-n if n % 5 == 0 else n for n in range(1, MOVES_IN_ONE_COMMIT + 1)]
    items = [
        {"id": unique("t"), "debit_account_id": alice if a < 0 else bank,
         "credit_account_id": bank if a < 0 else alice, "amount": abs(a)}
        for a in amounts
    ]  # fmt: skip
    response = client.post("/v1/transfers:batch", json={"transfers": items, "atomic": True})
    assert response.status_code == 200, response.text
    stamps = {r["transfer"]["created_at"] for r in response.json()["results"]}
    assert len(stamps) == 1, "the batch was not one commit"
    later = parse(move(client, unique("t"), bank, alice, 7)["created_at"])
    return OneCommit(alice, parse(stamps.pop()), later, amounts)


def test_as_of_a_commit_that_moved_an_account_many_times_is_after_all_of_them(
    client: TestClient, one_commit: OneCommit
) -> None:
    seen = balance_at(client, one_commit.alice, one_commit.at)
    assert (seen["balance"], seen["sequence"]) == (one_commit.after, 1 + MOVES_IN_ONE_COMMIT)
    just_before = balance_at(client, one_commit.alice, one_commit.at - US)
    assert (just_before["balance"], just_before["sequence"]) == (one_commit.before, 1)


def test_statements_bounded_at_a_commit_count_every_entry_of_it(
    client: TestClient, one_commit: OneCommit
) -> None:
    alice, t = one_commit.alice, one_commit.at

    def statement(start: datetime, end: datetime) -> dict[str, Any]:
        response = client.get(
            f"/v1/accounts/{alice}/statement", params={"from": at(start), "to": at(end)}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    inside, after = statement(t, t + US), statement(t, one_commit.later + US)
    before = statement(t - timedelta(hours=1), t)
    assert (inside["opening_balance"], inside["closing_balance"]) == (
        one_commit.before, one_commit.after,
    )  # fmt: skip
    assert (inside["debits"], inside["credits"], inside["entry_count"]) == (
        -sum(a for a in one_commit.amounts if a < 0),
        sum(a for a in one_commit.amounts if a > 0),
        MOVES_IN_ONE_COMMIT,
    )
    assert (before["closing_balance"], before["entry_count"]) == (one_commit.before, 1)
    assert (after["opening_balance"], after["entry_count"]) == (
        one_commit.before, MOVES_IN_ONE_COMMIT + 1,
    )  # fmt: skip


def test_pages_bounded_at_a_commit_hold_every_entry_of_it(
    client: TestClient, one_commit: OneCommit
) -> None:
    alice, t = one_commit.alice, one_commit.at
    params: dict[str, Any] = {"from": at(t), "to": at(t + US), "page_size": 7}
    pages = []
    while True:
        response = client.get(f"/v1/accounts/{alice}/entries", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        if not (token := response.json()["next_page_token"]):
            break
        params["page_token"] = token
    seen = [e for page in pages for e in page]
    assert [e["sequence"] for e in seen] == list(range(1 + MOVES_IN_ONE_COMMIT, 1, -1))
    assert [e["amount"] for e in reversed(seen)] == one_commit.amounts
    assert [e["sequence"] for e in entries(client, alice, to=at(t))] == [1]
    assert len(entries(client, alice, **{"from": at(t)})) == MOVES_IN_ONE_COMMIT + 1


# --- what a read costs, whatever the range holds ---------------------------------------

COMMITS, MOVES_PER_COMMIT = 4, 40


@dataclass(frozen=True)
class LongHistory:
    """alice credited 1 by the bank 160 times: four commits of 40."""

    alice: str
    stamps: list[datetime]  # each commit's timestamp


@pytest.fixture
def long_history(client: TestClient, unique: Ids) -> LongHistory:
    bank, alice = unique("bank"), unique("alice")
    open_account(client, bank)
    open_account(client, alice)
    stamps = []
    for _ in range(COMMITS):
        items = [
            {"id": unique("t"), "debit_account_id": bank, "credit_account_id": alice, "amount": 1}
            for _ in range(MOVES_PER_COMMIT)
        ]
        response = client.post("/v1/transfers:batch", json={"transfers": items, "atomic": True})
        assert response.status_code == 200, response.text
        stamps.append(parse(response.json()["results"][0]["transfer"]["created_at"]))
    return LongHistory(alice, stamps)


def test_a_statement_reads_two_entries_however_many_its_range_holds(
    client: TestClient, long_history: LongHistory, entry_rows_read: Counter[str]
) -> None:
    second_commit, last = long_history.stamps[1], long_history.stamps[-1]
    response = client.get(
        f"/v1/accounts/{long_history.alice}/statement",
        params={"from": at(second_commit), "to": at(last + US)},
    )
    s = response.json()
    inside = (COMMITS - 1) * MOVES_PER_COMMIT
    assert (s["opening_balance"], s["closing_balance"], s["credits"], s["entry_count"]) == (
        MOVES_PER_COMMIT, COMMITS * MOVES_PER_COMMIT, inside, inside,
    )  # fmt: skip
    assert sum(entry_rows_read.values()) == 2  # the last entry before either bound


def test_as_of_reads_one_entry(
    client: TestClient, long_history: LongHistory, entry_rows_read: Counter[str]
) -> None:
    seen = balance_at(client, long_history.alice, long_history.stamps[2])
    assert seen["balance"] == 3 * MOVES_PER_COMMIT
    assert sum(entry_rows_read.values()) == 1


def test_a_page_inside_a_long_range_reads_its_bounds_and_its_page(
    client: TestClient, long_history: LongHistory, entry_rows_read: Counter[str]
) -> None:
    second_commit, last = long_history.stamps[1], long_history.stamps[-1]
    params = {"from": at(second_commit), "to": at(last + US), "page_size": 10}
    page = client.get(f"/v1/accounts/{long_history.alice}/entries", params=params).json()
    token = page["next_page_token"]
    entry_rows_read.clear()
    params["page_token"] = token
    second = client.get(f"/v1/accounts/{long_history.alice}/entries", params=params).json()
    assert [e["sequence"] for e in second["items"]] == list(range(150, 140, -1))
    # Two bounds, then the page and the row that says another page follows.
    assert sum(entry_rows_read.values()) == 2 + 10 + 1


# --- entries written before their totals were (spanner_ddl/0015) -----------------------


@pytest.mark.parametrize(
    "untotalled",
    [(1, 2, 3, 4), (1,), (4,), (2, 3)],
    ids=["every entry", "the opening bound", "the closing bound", "only inside the range"],
)
def test_a_statement_is_right_whichever_entries_carry_no_totals(
    client: TestClient,
    history: tuple[str, str, list[datetime]],
    ledger_settings: Settings,
    spanner_client: spanner.Client,
    untotalled: tuple[int, ...],
) -> None:
    _, alice, stamps = history
    clear_totals(spanner_client, ledger_settings.spanner_database, alice, untotalled)
    response = client.get(
        f"/v1/accounts/{alice}/statement", params={"from": at(stamps[1]), "to": at(stamps[3] + US)}
    )
    s = response.json()
    assert (s["opening_balance"], s["closing_balance"]) == (100, 95)
    assert (s["debits"], s["credits"], s["entry_count"]) == (30, 25, 3)

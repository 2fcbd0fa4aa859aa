"""Reading history: balances at past instants, entries in a time range, statements."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

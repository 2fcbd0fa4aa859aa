"""Multi-leg transactions over HTTP: applied, settled, released, expired and reversed
as one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.ids import INT64_MAX, MAX_LEGS

Ids = Callable[[str], str]
OpenAccount = Callable[..., str]


def account_opener(client: TestClient, unique: Ids) -> OpenAccount:
    def open_(currency: str = "USD", **body: Any) -> str:
        account_id = unique("acct")
        response = client.post(
            "/v1/accounts", json={"id": account_id, "currency": currency, **body}
        )
        assert response.status_code == 201, response.text
        return account_id

    return open_


@pytest.fixture
def open_account(client: TestClient, unique: Ids) -> OpenAccount:
    return account_opener(client, unique)


def account(client: TestClient, account_id: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/accounts/{account_id}").json())


def leg(debit: str, credit: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"debit_account_id": debit, "credit_account_id": credit, "amount": amount, **extra}


def create(client: TestClient, tid: str, *legs: dict[str, Any], **extra: Any) -> Any:
    return client.post("/v1/transactions", json={"id": tid, "legs": list(legs), **extra})


def call(client: TestClient, tid: str, action: str, **body: Any) -> Any:
    return client.post(f"/v1/transactions/{tid}:{action}", json=body)


def entries(client: TestClient, account_id: str) -> list[dict[str, Any]]:
    items = client.get(f"/v1/accounts/{account_id}/entries", params={"page_size": 500})
    return list(reversed(items.json()["items"]))  # oldest first


def problem(response: Any) -> tuple[int, str, list[Any] | None]:
    body = response.json()
    return response.status_code, body["code"], body.get("errors")


@pytest.fixture
def purchase(client: TestClient, unique: Ids) -> dict[str, str]:
    return open_purchase_accounts(client, unique)


def open_purchase_accounts(client: TestClient, unique: Ids) -> dict[str, str]:
    """A buyer holding 1,000 (no overdraft), a merchant, a fee and a tax account."""
    open_account = account_opener(client, unique)
    bank = open_account()
    names = {"bank": bank, "buyer": open_account(flags={"debits_must_not_exceed_credits": True})}
    names |= {name: open_account() for name in ("merchant", "fees", "tax")}
    fund = {"id": unique("fund"), "debit_account_id": bank, "credit_account_id": names["buyer"]}
    assert client.post("/v1/transfers", json={**fund, "amount": 1000}).status_code == 201
    return names


def buy(client: TestClient, tid: str, p: dict[str, str], **extra: Any) -> Any:
    """100 from the buyer: 90 to the merchant, 8 to tax; then 3 from the merchant to fees."""
    return create(
        client,
        tid,
        leg(p["buyer"], p["merchant"], 92),
        leg(p["buyer"], p["tax"], 8),
        leg(p["merchant"], p["fees"], 3),
        **extra,
    )


def balances(client: TestClient, p: dict[str, str]) -> dict[str, int]:
    return {
        name: account(client, p[name])["balance"] for name in ("buyer", "merchant", "fees", "tax")
    }


# --- creating -------------------------------------------------------------------------


def test_a_transaction_applies_all_its_legs_in_one_commit(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    response = buy(client, tid, purchase, metadata={"order": "A-1"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["status"], body["pending"], body["metadata"]) == (
        tid, "posted", False, {"order": "A-1"},
    )  # fmt: skip
    assert [leg["id"] for leg in body["legs"]] == [f"{tid}~0", f"{tid}~1", f"{tid}~2"]
    assert {leg["transaction_id"] for leg in body["legs"]} == {tid}
    assert {leg["created_at"] for leg in body["legs"]} == {body["created_at"]}
    assert balances(client, purchase) == {"buyer": 900, "merchant": 89, "fees": 3, "tax": 8}


def test_each_leg_is_a_transfer_in_the_accounts_history(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    buy(client, tid, purchase)
    leg1 = client.get(f"/v1/transfers/{tid}~1")
    assert leg1.status_code == 200
    assert (leg1.json()["transaction_id"], leg1.json()["amount"]) == (tid, 8)
    history = [(e["transfer_id"], e["amount"]) for e in entries(client, purchase["merchant"])]
    assert history == [(f"{tid}~0", 92), (f"{tid}~2", -3)]


def test_the_same_transaction_again_is_a_replay_and_a_changed_one_a_conflict(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    first = buy(client, tid, purchase)
    again = buy(client, tid, purchase)
    assert (again.status_code, again.json()) == (200, first.json())
    changed = create(client, tid, leg(purchase["buyer"], purchase["merchant"], 1))
    assert problem(changed)[:2] == (409, "idempotency_conflict")
    assert balances(client, purchase)["buyer"] == 900


def test_get_returns_the_whole_transaction(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    made = buy(client, tid, purchase).json()
    assert client.get(f"/v1/transactions/{tid}").json() == made
    missing = client.get(f"/v1/transactions/{unique('none')}")
    assert problem(missing)[:2] == (404, "transaction_not_found")


def test_a_failing_leg_fails_the_transaction_with_its_index_and_writes_nothing(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    response = create(
        client,
        tid,
        leg(purchase["buyer"], purchase["merchant"], 600),
        leg(purchase["buyer"], purchase["tax"], 500),  # 1,100 > 1,000: no overdraft
    )
    status, code, errors = problem(response)
    assert (status, code) == (409, "insufficient_funds")
    assert errors == [{"index": 1, "id": f"{tid}~1", "code": "insufficient_funds"}]
    assert balances(client, purchase) == {"buyer": 1000, "merchant": 0, "fees": 0, "tax": 0}
    assert client.get(f"/v1/transactions/{tid}").status_code == 404
    assert client.get(f"/v1/transfers/{tid}~0").status_code == 404
    assert entries(client, purchase["merchant"]) == []


def test_legs_may_be_in_different_currencies(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    """An FX trade: USD from the customer to the desk, EUR from the desk to the customer."""
    usd_customer, usd_desk = open_account("USD"), open_account("USD")
    eur_desk, eur_customer = open_account("EUR"), open_account("EUR")
    response = create(
        client,
        unique("fx"),
        leg(usd_customer, usd_desk, 1100, currency="USD"),
        leg(eur_desk, eur_customer, 1000, currency="EUR"),
    )
    assert response.status_code == 201, response.text
    assert [leg["currency"] for leg in response.json()["legs"]] == ["USD", "EUR"]
    assert account(client, eur_customer)["balance"] == 1000


# --- bad input: 422, nothing written ----------------------------------------------------


def test_no_legs_is_422(client: TestClient, unique: Ids) -> None:
    response = create(client, unique("t"))
    assert problem(response)[:2] == (422, "validation_error")


def test_more_legs_than_the_cap_is_422(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    a, b = open_account(), open_account()
    response = create(client, unique("t"), *[leg(a, b, 1)] * (MAX_LEGS + 1))
    assert problem(response)[:2] == (422, "validation_error")
    assert account(client, a)["version"] == 0
    assert create(client, unique("t"), *[leg(a, b, 1)] * MAX_LEGS).status_code == 201


def test_a_leg_with_the_same_account_twice_is_422_with_its_index(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    a, b = open_account(), open_account()
    tid = unique("t")
    response = create(client, tid, leg(a, b, 1), leg(b, b, 1))
    assert problem(response) == (
        422,
        "same_account",
        [{"index": 1, "id": f"{tid}~1", "code": "same_account"}],
    )
    assert account(client, a)["version"] == 0


def test_a_leg_between_two_currencies_is_422_with_its_index(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    usd, usd2, eur = open_account("USD"), open_account("USD"), open_account("EUR")
    response = create(client, unique("t"), leg(usd, usd2, 1), leg(usd, eur, 1))
    status, code, errors = problem(response)
    assert (status, code, errors and errors[0]["index"]) == (422, "currency_mismatch", 1)
    assert account(client, usd)["version"] == 0


def test_a_leg_whose_currency_differs_from_its_accounts_is_422(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    a, b = open_account("USD"), open_account("USD")
    response = create(client, unique("t"), leg(a, b, 1, currency="EUR"))
    assert problem(response)[:2] == (422, "currency_mismatch")


def test_an_amount_overflow_across_legs_is_422_at_the_leg_that_overflows(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    a, b, c = open_account(), open_account(), open_account()
    half = INT64_MAX // 2 + 1
    response = create(client, unique("t"), leg(a, b, half), leg(a, c, half))
    status, code, errors = problem(response)
    assert (status, code, errors and errors[0]["index"]) == (422, "amount_overflow", 1)
    assert account(client, a)["debits_posted"] == 0


def test_a_client_cannot_choose_a_leg_id_for_a_transfer(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    a, b = open_account(), open_account()
    body = {"id": unique("t") + "~0", "debit_account_id": a, "credit_account_id": b, "amount": 1}
    assert problem(client.post("/v1/transfers", json=body))[:2] == (422, "validation_error")


def test_a_timeout_needs_a_pending_transaction(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    response = buy(client, unique("t"), purchase, timeout_seconds=60)
    assert problem(response)[:2] == (422, "validation_error")


# --- pending: settled, released and expired together -----------------------------------


def test_a_pending_transaction_holds_every_leg_and_posts_them_together(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    held = buy(client, tid, purchase, pending=True).json()
    assert (held["status"], {leg["status"] for leg in held["legs"]}) == ("pending", {"pending"})
    buyer = account(client, purchase["buyer"])
    assert (buyer["balance"], buyer["debits_pending"]) == (1000, 100)
    posted = call(client, tid, "post")
    assert posted.status_code == 200
    assert posted.json()["status"] == "posted" and posted.json()["resolved_at"] is not None
    assert [leg["posted_amount"] for leg in posted.json()["legs"]] == [92, 8, 3]
    assert balances(client, purchase) == {"buyer": 900, "merchant": 89, "fees": 3, "tax": 8}
    assert account(client, purchase["buyer"])["debits_pending"] == 0
    again = call(client, tid, "post")
    assert (again.status_code, again.json()) == (200, posted.json())
    assert problem(call(client, tid, "void"))[:2] == (409, "transfer_already_posted")


def test_voiding_a_pending_transaction_releases_every_leg(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    buy(client, tid, purchase, pending=True)
    voided = call(client, tid, "void")
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert {leg["status"] for leg in voided.json()["legs"]} == {"voided"}
    assert balances(client, purchase) == {"buyer": 1000, "merchant": 0, "fees": 0, "tax": 0}
    assert account(client, purchase["buyer"])["available_balance"] == 1000
    assert problem(call(client, tid, "post"))[:2] == (409, "transfer_already_voided")


def test_a_posted_transaction_cannot_be_posted_or_voided(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    buy(client, tid, purchase)
    assert problem(call(client, tid, "post"))[:2] == (409, "transfer_not_pending")
    assert problem(call(client, unique("none"), "void"))[:2] == (404, "transaction_not_found")


def test_a_leg_cannot_be_settled_voided_or_reversed_on_its_own(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    held, posted = unique("held"), unique("posted")
    buy(client, held, purchase, pending=True)
    buy(client, posted, purchase)
    for tid, action, body in (
        (held, "post", {}),
        (held, "void", {}),
        (posted, "reverse", {"id": unique("r")}),
    ):
        response = client.post(f"/v1/transfers/{tid}~0:{action}", json=body)
        assert problem(response)[:2] == (409, "transfer_in_transaction"), action
    assert client.get(f"/v1/transactions/{held}").json()["status"] == "pending"


def test_an_expired_transaction_cannot_be_posted_and_is_released_by_the_sweep(
    fresh_client: TestClient, unique: Ids
) -> None:
    # A database of its own: the sweep releases every expired hold of its database, and
    # other tests leave theirs in the shared one.
    client = fresh_client
    purchase = open_purchase_accounts(client, unique)
    tid = unique("buy")
    held = buy(client, tid, purchase, pending=True, timeout_seconds=1).json()
    assert held["expires_at"] is not None
    assert {leg["expires_at"] for leg in held["legs"]} == {held["expires_at"]}
    time.sleep(1.2)
    assert problem(call(client, tid, "post"))[:2] == (409, "transfer_expired")
    assert client.post("/v1/transfers:expire").json()["released"] == 3
    expired = client.get(f"/v1/transactions/{tid}").json()
    assert (expired["status"], {leg["status"] for leg in expired["legs"]}) == (
        "expired",
        {"expired"},
    )
    assert account(client, purchase["buyer"])["debits_pending"] == 0
    assert problem(call(client, tid, "void"))[:2] == (409, "transfer_expired")


# --- reversing ------------------------------------------------------------------------


def test_a_reversal_moves_every_leg_back_as_one_transaction_linked_both_ways(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid, rid = unique("buy"), unique("refund")
    buy(client, tid, purchase)
    response = call(client, tid, "reverse", id=rid, metadata={"reason": "returned"})
    assert response.status_code == 201, response.text
    refund = response.json()
    assert (refund["reverses_transaction_id"], refund["metadata"]) == (tid, {"reason": "returned"})
    assert [(g["id"], g["reverses_transfer_id"]) for g in refund["legs"]] == [
        (f"{rid}~{i}", f"{tid}~{i}") for i in range(3)
    ]
    assert balances(client, purchase) == {"buyer": 1000, "merchant": 0, "fees": 0, "tax": 0}
    original = client.get(f"/v1/transactions/{tid}").json()
    assert original["reversed_by_transaction_id"] == rid
    assert {leg["reversed_amount"] for leg in original["legs"]} == {92, 8, 3}


def test_a_reversal_again_is_a_replay_and_another_one_a_conflict(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid, rid = unique("buy"), unique("refund")
    buy(client, tid, purchase)
    first = call(client, tid, "reverse", id=rid)
    again = call(client, tid, "reverse", id=rid)
    assert (again.status_code, again.json()) == (200, first.json())
    assert problem(call(client, tid, "reverse", id=unique("r2")))[:2] == (
        409,
        "reversal_exceeds_amount",
    )
    assert balances(client, purchase)["buyer"] == 1000


def test_a_pending_transaction_cannot_be_reversed(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("buy")
    buy(client, tid, purchase, pending=True)
    response = call(client, tid, "reverse", id=unique("r"))
    assert problem(response) == (409, "transfer_not_posted", None)


def test_a_reversal_that_would_overdraw_fails_and_writes_nothing(
    client: TestClient, purchase: dict[str, str], open_account: OpenAccount, unique: Ids
) -> None:
    """The merchant spent what it received: taking it back would break its bound."""
    p = purchase
    strict = open_account(flags={"debits_must_not_exceed_credits": True})
    tid = unique("buy")
    assert create(client, tid, leg(p["buyer"], strict, 50)).status_code == 201
    assert client.post("/v1/transfers", json={
        "id": unique("spend"), "debit_account_id": strict, "credit_account_id": p["merchant"],
        "amount": 50,
    }).status_code == 201  # fmt: skip
    response = call(client, tid, "reverse", id=unique("r"))
    assert problem(response)[:2] == (409, "insufficient_funds")
    assert client.get(f"/v1/transactions/{tid}").json()["reversed_by_transaction_id"] is None


# --- in a batch -----------------------------------------------------------------------


@pytest.mark.parametrize("atomic", [True, False])
def test_a_batch_item_may_be_a_transaction(
    client: TestClient, purchase: dict[str, str], unique: Ids, atomic: bool
) -> None:
    p, tid = purchase, unique("buy")
    legs = [leg(p["buyer"], p["merchant"], 10), leg(p["merchant"], p["fees"], 1)]
    plain = {"id": unique("t"), "debit_account_id": p["buyer"], "credit_account_id": p["tax"]}
    items = [{"op": "transaction", "id": tid, "legs": legs}, {**plain, "amount": 2}]
    response = client.post("/v1/transfers:batch", json={"transfers": items, "atomic": atomic})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201]
    assert results[0]["transaction"]["id"] == tid and len(results[0]["transaction"]["legs"]) == 2
    assert balances(client, p) == {"buyer": 988, "merchant": 9, "fees": 1, "tax": 2}


def test_a_failing_transaction_in_a_batch_fails_alone_unless_atomic(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    p = purchase
    bad = {"op": "transaction", "id": unique("bad"), "legs": [
        leg(p["buyer"], p["merchant"], 10), leg(p["buyer"], p["tax"], 5000),
    ]}  # fmt: skip
    good = {
        "id": unique("t"),
        "debit_account_id": p["buyer"],
        "credit_account_id": p["tax"],
        "amount": 2,
    }
    each = client.post("/v1/transfers:batch", json={"transfers": [bad, good]}).json()
    assert [r["status"] for r in each["results"]] == [409, 201]
    assert each["results"][0]["problem"]["code"] == "insufficient_funds"
    assert balances(client, p)["merchant"] == 0  # the failed transaction's first leg undone
    atomic = client.post("/v1/transfers:batch", json={"transfers": [good, bad], "atomic": True})
    assert problem(atomic)[:2] == (409, "insufficient_funds")


def test_a_batch_counts_a_transaction_by_its_legs(
    client: TestClient, open_account: OpenAccount, unique: Ids
) -> None:
    a, b = open_account(), open_account()
    items = [{"op": "transaction", "id": unique("t"), "legs": [leg(a, b, 1)] * MAX_LEGS}
             for _ in range(11)]  # fmt: skip
    response = client.post("/v1/transfers:batch", json={"transfers": items})
    assert problem(response)[:2] == (422, "validation_error")
    assert "1100" in response.json()["detail"]


def test_the_same_transaction_in_a_batch_and_on_its_own_is_one_request(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    p, tid = purchase, unique("buy")
    body = {"id": tid, "legs": [leg(p["buyer"], p["merchant"], 10)]}
    batch = client.post("/v1/transfers:batch", json={"transfers": [{"op": "transaction", **body}]})
    assert batch.json()["results"][0]["status"] == 201
    again = client.post("/v1/transactions", json=body)
    assert again.status_code == 200
    assert again.json() == batch.json()["results"][0]["transaction"]


def test_a_reversal_undoes_the_last_leg_first(
    client: TestClient, purchase: dict[str, str], open_account: OpenAccount, unique: Ids
) -> None:
    """The merchant (no overdraft) paid its fee out of the payment: taking the payment
    back before the fee would overdraw it, though the end state is fine."""
    p = purchase
    merchant = open_account(flags={"debits_must_not_exceed_credits": True})
    tid, rid = unique("buy"), unique("refund")
    made = create(client, tid, leg(p["buyer"], merchant, 92), leg(merchant, p["fees"], 3))
    assert made.status_code == 201, made.text
    response = call(client, tid, "reverse", id=rid)
    assert response.status_code == 201, response.text
    assert [g["id"] for g in response.json()["legs"]] == [f"{rid}~0", f"{rid}~1"]
    assert account(client, merchant)["balance"] == 0
    assert [e["transfer_id"] for e in entries(client, merchant)][-2:] == [f"{rid}~1", f"{rid}~0"]


def test_a_failed_reversal_names_the_reversal_leg(
    client: TestClient, purchase: dict[str, str], open_account: OpenAccount, unique: Ids
) -> None:
    p = purchase
    strict = open_account(flags={"debits_must_not_exceed_credits": True})
    tid, rid = unique("buy"), unique("r")
    assert create(client, tid, leg(p["buyer"], strict, 50)).status_code == 201
    spend = {"id": unique("spend"), "debit_account_id": strict, "credit_account_id": p["tax"]}
    assert client.post("/v1/transfers", json={**spend, "amount": 50}).status_code == 201
    _, code, errors = problem(call(client, tid, "reverse", id=rid))
    assert (code, errors) == ("insufficient_funds", [
        {"index": 0, "id": f"{rid}~0", "code": "insufficient_funds"}
    ])  # fmt: skip


def test_an_atomic_batch_names_the_item_and_the_leg_that_failed(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    p, bad = purchase, unique("bad")
    item = {"op": "transaction", "id": bad, "legs": [
        leg(p["buyer"], p["merchant"], 10), leg(p["buyer"], p["tax"], 5000),
    ]}  # fmt: skip
    response = client.post("/v1/transfers:batch", json={"transfers": [item], "atomic": True})
    body = response.json()
    assert body["errors"] == [{
        "index": 0, "id": bad, "code": "insufficient_funds", "leg_index": 1, "leg_id": f"{bad}~1",
    }]  # fmt: skip
    assert body["detail"].count("Nothing was written.") == 1


def test_a_batch_call_on_a_leg_is_the_same_conflict_as_on_its_own(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("held")
    buy(client, tid, purchase, pending=True)
    item = {"op": "post", "transfer_id": f"{tid}~0"}
    result = client.post("/v1/transfers:batch", json={"transfers": [item]}).json()["results"][0]
    assert (result["status"], result["problem"]["code"]) == (409, "transfer_in_transaction")


def test_a_conflict_of_the_whole_transaction_is_not_blamed_on_a_leg(
    client: TestClient, purchase: dict[str, str], unique: Ids
) -> None:
    tid = unique("held")
    buy(client, tid, purchase, pending=True)
    call(client, tid, "post")
    status, code, errors = problem(call(client, tid, "void"))
    assert (status, code, errors) == (409, "transfer_already_posted", None)
    assert call(client, tid, "void").json()["detail"].startswith(f"Transaction {tid!r}")

"""Holds, their resolution and expiry, reversals, closed accounts and bounds, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings

Ids = Callable[[str], str]


@pytest.fixture
def open_account(client: TestClient, unique: Ids) -> Callable[..., str]:
    def open_(**body: Any) -> str:
        account_id = unique("acct")
        response = client.post("/v1/accounts", json={"id": account_id, "currency": "USD", **body})
        assert response.status_code == 201, response.text
        return account_id

    return open_


def account(client: TestClient, account_id: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/accounts/{account_id}").json())


def move(client: TestClient, tid: str, debit: str, credit: str, amount: int, **extra: Any) -> Any:
    body = {"id": tid, "debit_account_id": debit, "credit_account_id": credit, "amount": amount}
    return client.post("/v1/transfers", json={**body, **extra})


def call(client: TestClient, tid: str, action: str, **body: Any) -> Any:
    return client.post(f"/v1/transfers/{tid}:{action}", json=body)


def entries(client: TestClient, account_id: str) -> list[dict[str, Any]]:
    items = client.get(f"/v1/accounts/{account_id}/entries", params={"page_size": 500})
    return list(reversed(items.json()["items"]))  # oldest first


@pytest.fixture
def funded(client: TestClient, open_account: Callable[..., str], unique: Ids) -> tuple[str, str]:
    """A bank and a wallet (no overdraft) holding 100."""
    bank, wallet = open_account(), open_account(flags={"debits_must_not_exceed_credits": True})
    assert move(client, unique("fund"), bank, wallet, 100).status_code == 201
    return bank, wallet


def test_a_hold_reserves_without_moving_money(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    shop = open_account()
    response = move(client, unique("h"), wallet, shop, 60, pending=True)
    assert response.status_code == 201
    hold = response.json()
    assert (hold["status"], hold["pending"], hold["posted_amount"]) == ("pending", True, None)
    w, s = account(client, wallet), account(client, shop)
    assert (w["balance"], w["debits_pending"], w["available_balance"]) == (100, 60, 40)
    assert (s["balance"], s["credits_pending"]) == (0, 60)


def test_balance_flags_count_what_is_held(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    shop = open_account()
    assert move(client, unique("h"), wallet, shop, 60, pending=True).status_code == 201
    refused = move(client, unique("h"), wallet, shop, 50, pending=True)
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_funds"
    plain = move(client, unique("t"), wallet, shop, 41)
    assert plain.status_code == 409 and plain.json()["code"] == "insufficient_funds"
    assert move(client, unique("t"), wallet, shop, 40).status_code == 201


def test_posting_part_of_a_hold_moves_that_much_and_releases_the_rest(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    shop, hid = open_account(), unique("h")
    move(client, hid, wallet, shop, 60, pending=True)
    posted = call(client, hid, "post", amount=45)
    assert posted.status_code == 200, posted.text
    body = posted.json()
    assert (body["status"], body["posted_amount"], body["amount"]) == ("posted", 45, 60)
    assert body["resolved_at"] is not None
    w, s = account(client, wallet), account(client, shop)
    assert (w["balance"], w["debits_pending"], w["available_balance"]) == (55, 0, 55)
    assert (s["balance"], s["credits_pending"]) == (45, 0)
    kinds = [(e["kind"], e["amount"], e["pending_amount"]) for e in entries(client, wallet)]
    assert kinds[-2:] == [("hold", 0, -60), ("hold_posted", -45, 60)]
    assert sum(e["amount"] for e in entries(client, wallet)) == 55


def test_a_resolution_repeated_is_the_same_answer_and_the_other_one_a_conflict(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    shop, posted_id, voided_id = open_account(), unique("h"), unique("h")
    move(client, posted_id, wallet, shop, 10, pending=True)
    move(client, voided_id, wallet, shop, 10, pending=True)
    first = call(client, posted_id, "post")
    assert call(client, posted_id, "post").json() == first.json()
    assert call(client, posted_id, "post", amount=10).status_code == 200  # the same amount
    for action, body, code in [
        ("void", {}, "transfer_already_posted"),
        ("post", {"amount": 5}, "transfer_already_posted"),
    ]:
        response = call(client, posted_id, action, **body)
        assert (response.status_code, response.json()["code"]) == (409, code)
    voided = call(client, voided_id, "void")
    assert voided.json()["status"] == "voided"
    assert call(client, voided_id, "void").json() == voided.json()
    response = call(client, voided_id, "post")
    assert (response.status_code, response.json()["code"]) == (409, "transfer_already_voided")
    assert account(client, wallet)["balance"] == 90


def test_resolving_what_is_not_a_hold(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    tid = unique("t")
    move(client, tid, wallet, open_account(), 5)
    for action in ("post", "void"):
        response = call(client, tid, action)
        assert (response.status_code, response.json()["code"]) == (409, "transfer_not_pending")
    missing = call(client, unique("nope"), "post")
    assert (missing.status_code, missing.json()["code"]) == (404, "transfer_not_found")


def test_posting_more_than_is_held_is_422_and_changes_nothing(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    hid = unique("h")
    move(client, hid, wallet, open_account(), 10, pending=True)
    response = call(client, hid, "post", amount=11)
    assert (response.status_code, response.json()["code"]) == (422, "amount_exceeds_hold")
    assert client.get(f"/v1/transfers/{hid}").json()["status"] == "pending"


def test_a_timeout_needs_a_hold(client: TestClient, funded: tuple[str, str], unique: Ids) -> None:
    bank, wallet = funded
    response = move(client, unique("t"), bank, wallet, 1, timeout_seconds=5)
    assert response.status_code == 422


def test_an_expired_hold_can_never_be_posted_and_is_released_by_the_sweep(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    hid = unique("h")
    hold = move(client, hid, wallet, open_account(), 30, pending=True, timeout_seconds=1).json()
    assert hold["expires_at"] is not None
    time.sleep(1.2)
    for action in ("post", "void"):
        response = call(client, hid, action)
        assert (response.status_code, response.json()["code"]) == (409, "transfer_expired")
    assert account(client, wallet)["debits_pending"] == 30  # refused, and nothing changed
    assert client.post("/v1/transfers:expire").json()["released"] >= 1
    expired = client.get(f"/v1/transfers/{hid}").json()
    assert (expired["status"], expired["resolved_at"] is not None) == ("expired", True)
    assert account(client, wallet)["debits_pending"] == 0
    assert entries(client, wallet)[-1]["kind"] == "hold_expired"
    response = call(client, hid, "post")
    assert (response.status_code, response.json()["code"]) == (409, "transfer_expired")


@pytest.fixture
def sweeping_client(ledger_settings: Settings) -> Iterator[TestClient]:
    settings = ledger_settings.model_copy(update={"hold_sweep_interval_seconds": 0.5})
    with TestClient(create_app(settings, configure_logs=False)) as sweeping:
        yield sweeping


def test_each_worker_sweeps_expired_holds_by_itself(
    sweeping_client: TestClient, unique: Ids
) -> None:
    a, b, hid = unique("acct"), unique("acct"), unique("h")
    for account_id in (a, b):
        sweeping_client.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
    move(sweeping_client, hid, a, b, 7, pending=True, timeout_seconds=1)
    deadline = time.monotonic() + 20
    while sweeping_client.get(f"/v1/transfers/{hid}").json()["status"] == "pending":
        assert time.monotonic() < deadline, "the in-process sweeper did not release the hold"
        time.sleep(0.2)
    assert account(sweeping_client, a)["debits_pending"] == 0


def test_a_reversal_moves_money_back_linked_both_ways(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    shop, tid, rid = open_account(), unique("t"), unique("r")
    move(client, tid, wallet, shop, 40)
    response = client.post(f"/v1/transfers/{tid}:reverse", json={"id": rid, "amount": 15})
    assert response.status_code == 201, response.text
    reversal = response.json()
    assert (reversal["debit_account_id"], reversal["credit_account_id"]) == (shop, wallet)
    assert (reversal["reverses_transfer_id"], reversal["amount"]) == (tid, 15)
    assert client.get(f"/v1/transfers/{tid}").json()["reversed_amount"] == 15
    replay = client.post(f"/v1/transfers/{tid}:reverse", json={"id": rid, "amount": 15})
    assert (replay.status_code, replay.json()) == (200, reversal)
    changed = client.post(f"/v1/transfers/{tid}:reverse", json={"id": rid, "amount": 16})
    assert (changed.status_code, changed.json()["code"]) == (409, "idempotency_conflict")
    too_much = client.post(f"/v1/transfers/{tid}:reverse", json={"id": unique("r"), "amount": 26})
    assert (too_much.status_code, too_much.json()["code"]) == (409, "reversal_exceeds_amount")
    rest = client.post(f"/v1/transfers/{tid}:reverse", json={"id": unique("r")})
    assert rest.json()["amount"] == 25
    assert account(client, wallet)["balance"] == 100
    assert entries(client, wallet)[-1]["kind"] == "reversal"


def test_only_posted_transfers_can_be_reversed(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    hid = unique("h")
    move(client, hid, wallet, open_account(), 10, pending=True)
    response = client.post(f"/v1/transfers/{hid}:reverse", json={"id": unique("r")})
    assert (response.status_code, response.json()["code"]) == (409, "transfer_not_posted")
    call(client, hid, "post", amount=4)
    assert (
        client.post(f"/v1/transfers/{hid}:reverse", json={"id": unique("r")}).json()["amount"] == 4
    )  # a posted hold reverses what it settled


def test_a_reversal_obeys_the_balance_flags(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    bank, wallet = funded
    shop = open_account()
    refill = unique("t")
    move(client, refill, bank, wallet, 50)
    move(client, unique("t"), wallet, shop, 150)  # the wallet spent it all
    response = client.post(f"/v1/transfers/{refill}:reverse", json={"id": unique("r")})
    assert (response.status_code, response.json()["code"]) == (409, "insufficient_funds")


def test_a_closed_account_takes_no_transfers_but_can_be_read(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    bank, wallet = funded
    hid = unique("h")
    move(client, hid, wallet, bank, 10, pending=True)
    refused = client.post(f"/v1/accounts/{wallet}:close")
    assert (refused.status_code, refused.json()["code"]) == (409, "account_has_pending")
    call(client, hid, "void")
    closed = client.post(f"/v1/accounts/{wallet}:close")
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    assert client.post(f"/v1/accounts/{wallet}:close").json()["status"] == "closed"
    for debit, credit in ((bank, wallet), (wallet, bank)):
        response = move(client, unique("t"), debit, credit, 1)
        assert (response.status_code, response.json()["code"]) == (409, "account_closed")
    assert account(client, wallet)["balance"] == 100
    assert client.post(f"/v1/accounts/{wallet}:reopen").json()["status"] == "open"
    assert move(client, unique("t"), bank, wallet, 1).status_code == 201


def test_balance_bounds_allow_an_overdraft_and_cap_a_credit(
    client: TestClient, open_account: Callable[..., str], unique: Ids
) -> None:
    overdraft = open_account(bounds={"lower": -500})
    capped = open_account(bounds={"upper": 300})
    assert move(client, unique("h"), overdraft, capped, 300, pending=True).status_code == 201
    over = move(client, unique("t"), overdraft, capped, 1)
    assert (over.status_code, over.json()["code"]) == (409, "insufficient_funds")  # upper
    other = open_account()
    assert move(client, unique("t"), overdraft, other, 200).status_code == 201
    below = move(client, unique("t"), overdraft, other, 1)
    assert (below.status_code, below.json()["code"]) == (409, "insufficient_funds")  # lower
    assert account(client, overdraft)["bounds"] == {"lower": -500, "upper": None}


def test_bounds_out_of_order_are_422(client: TestClient, unique: Ids) -> None:
    body = {"id": unique("acct"), "currency": "USD", "bounds": {"lower": 5, "upper": 1}}
    assert client.post("/v1/accounts", json=body).status_code == 422


def test_a_batch_carries_holds_and_their_resolutions_in_order(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    shop, hid = open_account(), unique("h")
    hold = {"id": hid, "debit_account_id": wallet, "credit_account_id": shop, "amount": 20,
            "pending": True}  # fmt: skip
    items = [hold, {"op": "post", "transfer_id": hid, "amount": 5},
             {"op": "void", "transfer_id": hid},
             {"op": "reverse", "transfer_id": hid, "id": unique("r")}]  # fmt: skip
    body = client.post("/v1/transfers:batch", json={"transfers": items}).json()
    assert [r["status"] for r in body["results"]] == [201, 200, 409, 201]
    assert body["results"][2]["problem"]["code"] == "transfer_already_posted"
    assert account(client, wallet)["balance"] == 100


def test_racing_resolutions_of_one_hold_have_exactly_one_winner(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    _, wallet = funded
    shop, hid = open_account(), unique("h")
    move(client, hid, wallet, shop, 30, pending=True)
    actions = ["post", "void"] * 8
    with ThreadPoolExecutor(len(actions)) as pool:
        answers = list(pool.map(lambda a: (a, call(client, hid, a)), actions))
    final = client.get(f"/v1/transfers/{hid}").json()["status"]
    winner = {"posted": "post", "voided": "void"}[final]
    for action, response in answers:
        expected = 200 if action == winner else 409
        assert response.status_code == expected, (action, response.text)
    w = account(client, wallet)
    assert (w["balance"], w["debits_pending"]) == ((70, 0) if winner == "post" else (100, 0))


def test_two_workers_racing_to_resolve_one_hold_have_exactly_one_winner(
    client: TestClient, ledger_settings: Settings, funded: tuple[str, str],
    open_account: Callable[..., str], unique: Ids,
) -> None:  # fmt: skip
    _, wallet = funded
    shop, hid = open_account(), unique("h")
    move(client, hid, wallet, shop, 30, pending=True)
    with TestClient(create_app(ledger_settings, configure_logs=False)) as other_worker:
        workers = [(client, "post"), (other_worker, "void")] * 4
        with ThreadPoolExecutor(len(workers)) as pool:
            answers = list(pool.map(lambda w: (w[1], call(w[0], hid, w[1])), workers))
    winner = {"posted": "post", "voided": "void"}[
        client.get(f"/v1/transfers/{hid}").json()["status"]
    ]
    assert all((r.status_code == 200) == (a == winner) for a, r in answers), answers
    assert account(client, shop)["credits_pending"] == 0


def test_a_worker_that_has_seen_no_commit_asks_spanner_for_the_time(
    client: TestClient, ledger_settings: Settings, funded: tuple[str, str],
    open_account: Callable[..., str], unique: Ids,
) -> None:  # fmt: skip
    _, wallet = funded
    hid = unique("h")
    move(client, hid, wallet, open_account(), 5, pending=True, timeout_seconds=1)
    time.sleep(1.2)
    with TestClient(create_app(ledger_settings, configure_logs=False)) as fresh_worker:
        response = call(fresh_worker, hid, "post")  # its first transaction
    assert (response.status_code, response.json()["code"]) == (409, "transfer_expired")


def test_a_hold_shorter_than_the_request_budget_can_be_posted_or_voided_at_once(
    client: TestClient, funded: tuple[str, str], open_account: Callable[..., str], unique: Ids
) -> None:
    """Every timeout the API accepts is honoured: a :post whose whole budget (10 s)
    would outlast the hold (2 s) commits within a budget cut to end before expires_at."""
    _, wallet = funded
    shop, to_post, to_void = open_account(), unique("h"), unique("h")
    for hid in (to_post, to_void):
        move(client, hid, wallet, shop, 5, pending=True, timeout_seconds=2)
    response = call(client, to_post, "post")
    assert (response.status_code, response.json()["status"]) == (200, "posted"), response.text
    assert call(client, to_void, "void").json()["status"] == "voided"

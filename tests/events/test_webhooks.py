"""Webhooks from a real pipeline process to real HTTP receivers: signed, in order per
account, retried, dead-lettered, and never holding up the other endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.cloud import spanner

from devtools.emulator import free_port
from tests.events.conftest import Ledger, WebhookReceiver, webhooks_env
from tests.support import database_handle

ACCOUNTS = ("a", "b", "c")


def _seed(ledger: Ledger, transfers: int) -> None:
    for account_id in ACCOUNTS:
        response = ledger.http.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
        assert response.status_code == 201
    for i in range(transfers):
        debit, credit = ACCOUNTS[i % 3], ACCOUNTS[(i + 1 + i // 3) % 3]
        if debit == credit:
            credit = ACCOUNTS[(i + 2) % 3]
        body = {"id": f"t{i:03d}", "debit_account_id": debit, "credit_account_id": credit,
                "amount": 1 + i}  # fmt: skip
        assert ledger.http.post("/v1/transfers", json=body).status_code == 201


def _wait_received(ledger: Ledger, receiver: WebhookReceiver, count: int) -> list[dict[str, Any]]:
    ledger.wait_for(lambda _items: len({e["id"] for e in receiver.events()}) >= count)
    return receiver.events()


def _dead_letters(spanner_client: spanner.Client, database: str) -> list[tuple[str, str, int]]:
    with database_handle(spanner_client, database).snapshot() as snapshot:
        rows = snapshot.execute_sql("SELECT EndpointId, EventId, Attempts FROM WebhookDeadLetters")
        return [(r[0], r[1], r[2]) for r in rows]


def test_a_receiver_gets_every_event_once_signed(
    ledger_factory: Callable[[], Ledger], webhook_receiver: Callable[..., WebhookReceiver]
) -> None:
    ledger = ledger_factory()
    receiver = webhook_receiver()
    ledger.start_pipeline(**webhooks_env(("erp", receiver.url)))
    _seed(ledger, 10)

    received = _wait_received(ledger, receiver, 13)

    assert sorted(e["id"] for e in received) == sorted(e["id"] for e in ledger.feed())
    assert all(r.verified for r in receiver.received)
    assert {r.headers["webhook-id"] for r in receiver.received} == {e["id"] for e in received}


def test_each_accounts_events_arrive_in_commit_order(
    ledger_factory: Callable[[], Ledger], webhook_receiver: Callable[..., WebhookReceiver]
) -> None:
    ledger = ledger_factory()
    receiver = webhook_receiver()
    ledger.start_pipeline(**webhooks_env(("erp", receiver.url)))
    _seed(ledger, 30)

    received = _wait_received(ledger, receiver, 33)

    feed = ledger.feed()
    for account_id in ACCOUNTS:
        expected = [e["id"] for e in feed if account_id in e["account_ids"]]
        assert [e["id"] for e in received if account_id in e["account_ids"]] == expected


def test_a_flaky_receiver_gets_every_event_after_retries(
    ledger_factory: Callable[[], Ledger], webhook_receiver: Callable[..., WebhookReceiver]
) -> None:
    ledger = ledger_factory()
    receiver = webhook_receiver(fail_first=2)
    ledger.start_pipeline(**webhooks_env(("erp", receiver.url)))
    _seed(ledger, 3)

    received = _wait_received(ledger, receiver, 6)

    assert sorted(e["id"] for e in received) == sorted(e["id"] for e in ledger.feed())
    assert receiver.attempts >= len(received) + 2


def test_failing_endpoints_are_dead_lettered_while_the_others_keep_flowing(
    ledger_factory: Callable[[], Ledger],
    webhook_receiver: Callable[..., WebhookReceiver],
    spanner_client: spanner.Client,
) -> None:
    ledger = ledger_factory()
    good = webhook_receiver()
    failing = webhook_receiver(behaviour="fail")
    slow = webhook_receiver(behaviour="slow")
    unreachable = f"http://127.0.0.1:{free_port()}/hook"
    ledger.start_pipeline(
        **webhooks_env(
            ("good", good.url), ("failing", failing.url), ("slow", slow.url),
            ("unreachable", unreachable),
        )
    )  # fmt: skip
    _seed(ledger, 4)

    received = _wait_received(ledger, good, 7)
    events = {e["id"] for e in ledger.feed()}
    ledger.wait_for(lambda _items: len(_dead_letters(spanner_client, ledger.database)) >= 21)

    assert {e["id"] for e in received} == events
    letters = _dead_letters(spanner_client, ledger.database)
    for endpoint in ("failing", "slow", "unreachable"):
        assert {event for name, event, _ in letters if name == endpoint} == events
    assert {attempts for _, _, attempts in letters} == {3}
    assert failing.attempts == 3 * len(events)

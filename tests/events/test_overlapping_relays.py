"""Two relays on one database, as during a rollout, then one: every event once after
dedup, each account's and each transaction's events in commit order, and complete_until
never moving back; progress written by a relay that is behind never undoes another's."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from api.events import repository
from api.events.model import Place
from api.spanner.tx import Tx
from tests.events.conftest import (
    Ledger,
    Subscriber,
    WebhookReceiver,
    first_seen,
    in_order_of,
    pubsub_env,
    webhooks_env,
)

ACCOUNTS = [f"acct-{i}" for i in range(5)]
WORKERS = 4
ROUNDS = 12


def _workload(ledger: Ledger, worker: int) -> None:
    """Transfers, and pending transactions posted or voided in a later request."""
    for i in range(ROUNDS):
        debit, credit = ACCOUNTS[(worker + i) % 5], ACCOUNTS[(worker + i + 1) % 5]
        body = {"id": f"w{worker}-t{i}", "debit_account_id": debit, "credit_account_id": credit,
                "amount": 1 + i}  # fmt: skip
        assert ledger.http.post("/v1/transfers", json=body).status_code == 201
        if i % 3 == 0:
            legs = [{"debit_account_id": debit, "credit_account_id": credit, "amount": 2}] * 2
            transaction_id = f"w{worker}-x{i}"
            created = ledger.http.post(
                "/v1/transactions", json={"id": transaction_id, "legs": legs, "pending": True}
            )
            assert created.status_code == 201, created.text
            verb = "post" if i % 2 == 0 else "void"
            settled = ledger.http.post(f"/v1/transactions/{transaction_id}:{verb}", json={})
            assert settled.status_code == 200, settled.text


class UntilWatcher:
    """Reads complete_until over and over, keeping every value it saw."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.seen: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stop.is_set():
            until = self.ledger.http.get("/v1/events", params={"limit": 1}).json()
            if until["complete_until"] is not None:
                self.seen.append(until["complete_until"])
            time.sleep(0.05)

    def values(self) -> list[datetime]:
        self.stop.set()
        self.thread.join(10)
        return [datetime.fromisoformat(v.replace("Z", "+00:00")) for v in self.seen]


def test_two_relays_at_once_then_one_deliver_every_event_once_in_order(
    ledger_factory: Callable[[], Ledger],
    webhook_receiver: Callable[..., WebhookReceiver],
    pubsub_emulator: Any,
    subscribe: Callable[[str], Subscriber],
) -> None:
    ledger = ledger_factory()
    topic = f"events-{uuid.uuid4().hex[:8]}"
    subscriber = subscribe(topic)
    receiver = webhook_receiver()
    env = {**pubsub_env(pubsub_emulator.address, topic), **webhooks_env(("erp", receiver.url))}
    old = ledger.start_pipeline(**env)
    watcher = UntilWatcher(ledger)
    for account_id in ACCOUNTS:
        assert ledger.http.post("/v1/accounts", json={"id": account_id, "currency": "USD"})

    with ThreadPoolExecutor(WORKERS) as pool:
        work = [pool.submit(_workload, ledger, w) for w in range(WORKERS)]
        time.sleep(1.0)
        ledger.start_pipeline(**env)  # the new revision's relay, beside the old one
        time.sleep(4.0)
        old.stop()  # the rollout ends: one relay goes on
        for future in work:
            future.result()

    settled = {f"w{w}-x{i}" for w in range(WORKERS) for i in range(0, ROUNDS, 3)}
    feed = ledger.wait_for(
        lambda items: (
            {
                e["data"]["id"]
                for e in items
                if e["type"] in ("transaction.posted", "transaction.voided")
            }
            >= settled
        )
    )
    expected = [e["id"] for e in feed]
    assert len(set(expected)) == len(expected)
    deadline = time.monotonic() + 90
    while (subscriber.ids() < set(expected) or _received(receiver) < set(expected)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.5)
    untils = watcher.values()

    assert _received(receiver) == set(expected)
    assert subscriber.ids() == set(expected)
    assert untils == sorted(untils), "complete_until moved back"
    for account_id in ACCOUNTS:
        of_account = [e["id"] for e in feed if account_id in e["account_ids"]]
        assert in_order_of(receiver.events(), lambda e, a=account_id: a in e["account_ids"]) == (
            of_account
        )
        assert in_order_of(subscriber.by_key.get(account_id, []), lambda _e: True) == of_account
    for transaction_id in settled:
        of_transaction = [e for e in feed if _transaction_of(e) == transaction_id]
        types = [e["type"] for e in of_transaction if e["type"].startswith("transaction.")]
        assert types[0] == "transaction.created" and len(types) == 2, types
        assert in_order_of(
            receiver.events(), lambda e, t=transaction_id: _transaction_of(e) == t
        ) == [e["id"] for e in of_transaction]
        # Deduplicated as for the accounts above: two relays may both publish an event.
        by_key = first_seen(subscriber.by_key.get(f"transaction:{transaction_id}", []))
        assert [e["type"] for e in by_key if e["id"] in {x["id"] for x in of_transaction}] == (
            types
        )


def _tx(raw: Any) -> Tx:
    return Tx(raw, "test", time.monotonic() + 30)


def _received(receiver: WebhookReceiver) -> set[str]:
    return {e["id"] for e in receiver.events()}


def _transaction_of(event: dict[str, Any]) -> str | None:
    if event["type"].startswith("transaction."):
        return str(event["data"]["id"])
    leg_of = event["data"].get("transaction_id")
    return str(leg_of) if leg_of else None


def test_a_relay_behind_never_moves_a_watermark_back_nor_reopens_a_partition(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline().stop()
    token, watermark = ledger.query(
        "SELECT PartitionToken, Watermark FROM EventPartitions ORDER BY Watermark DESC LIMIT 1"
    )[0]

    def behind(tx: Tx) -> None:
        earlier = watermark - timedelta(seconds=5)
        repository.save_progress(tx, token=token, watermark=earlier, finished=False, events=[])

    ledger.sql("UPDATE EventPartitions SET Finished = TRUE WHERE PartitionToken = @t", {"t": token})
    ledger.spanner.run_in_transaction(lambda tx: behind(_tx(tx)))

    assert ledger.query(
        f"SELECT Watermark, Finished FROM EventPartitions WHERE PartitionToken = '{token}'"  # noqa: S608
    ) == [[watermark, True]]


def test_a_delivery_behind_never_moves_its_sink_cursor_back(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    now = datetime.now(UTC)

    def save(place: Place) -> None:
        ledger.spanner.run_in_transaction(
            lambda tx: repository.save_sink_cursor(_tx(tx), sink_id="webhook:erp", place=place)
        )

    save(Place(now, "b"))
    save(Place(now, "a"))
    save(Place(now - timedelta(seconds=1)))

    stored = ledger.query("SELECT CommitTimestamp, Position FROM EventSinkCursors")
    assert stored == [[now, "b"]]

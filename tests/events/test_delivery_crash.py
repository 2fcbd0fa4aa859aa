"""The issue's proof: a concurrent transfer workload, the pipeline killed twice (SIGKILL:
no flush, no goodbye) and restarted; a Pub/Sub subscriber and a webhook receiver each
got every committed transfer's events, each exactly once after dedup by id, and each
account's events in commit order."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devtools.emulator import Emulator
from tests.conftest import ExternalEmulator
from tests.events.conftest import (
    Ledger,
    Subscriber,
    WebhookReceiver,
    in_order_of,
    pubsub_env,
    webhooks_env,
)

ACCOUNTS = [f"acct-{i}" for i in range(6)]
WORKERS = 4
TRANSFERS_PER_WORKER = 40


def _workload(ledger: Ledger, worker: int) -> list[str]:
    made = []
    for i in range(TRANSFERS_PER_WORKER):
        debit = ACCOUNTS[(worker + i) % len(ACCOUNTS)]
        credit = ACCOUNTS[(worker + 2 * i + 1) % len(ACCOUNTS)]
        if debit == credit:
            continue
        transfer_id = f"w{worker}-{i:03d}"
        body = {"id": transfer_id, "debit_account_id": debit, "credit_account_id": credit,
                "amount": 1 + i}  # fmt: skip
        response = ledger.http.post("/v1/transfers", json=body)
        assert response.status_code == 201, response.text
        made.append(transfer_id)
    return made


def _per_account(events: list[dict[str, Any]], account_id: str) -> list[str]:
    return in_order_of(events, lambda e: account_id in e["account_ids"])


def test_every_event_reaches_pubsub_and_webhooks_once_in_order_across_two_crashes(
    ledger_factory: Callable[[], Ledger],
    webhook_receiver: Callable[..., WebhookReceiver],
    pubsub_emulator: Emulator | ExternalEmulator,
    subscribe: Callable[[str], Subscriber],
) -> None:
    ledger = ledger_factory()
    topic = f"events-{uuid.uuid4().hex[:8]}"
    subscriber = subscribe(topic)
    receiver = webhook_receiver()
    env = {**pubsub_env(pubsub_emulator.address, topic), **webhooks_env(("erp", receiver.url))}
    pipeline = ledger.start_pipeline(**env)
    for account_id in ACCOUNTS:
        body = {"id": account_id, "currency": "USD"}
        assert ledger.http.post("/v1/accounts", json=body).status_code == 201

    with ThreadPoolExecutor(WORKERS) as pool:
        work = [pool.submit(_workload, ledger, w) for w in range(WORKERS)]
        for _ in range(2):
            time.sleep(1.5)
            pipeline.kill()
            pipeline = ledger.start_pipeline(**env)
        transfers = {t for future in work for t in future.result()}

    feed = ledger.wait_for(
        lambda items: (
            {e["data"]["id"] for e in items if e["type"] == "transfer.created"} >= transfers
        )
    )
    expected = {e["id"] for e in feed}
    assert len(expected) == len(feed)  # the feed itself has no duplicates
    deadline = time.monotonic() + 90
    while (subscriber.ids() < expected or receiver_ids(receiver) < expected) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.5)
    subscriber.close()
    copies = sum(len(v) for v in subscriber.by_key.values())
    print(f"events {len(expected)}, webhook deliveries {len(receiver.received)}, "
          f"pubsub messages {copies}")  # fmt: skip

    assert receiver_ids(receiver) == expected
    assert subscriber.ids() == expected
    assert subscriber.attributes_ok
    assert all(r.verified for r in receiver.received)
    for account_id in ACCOUNTS:
        in_commit_order = [e["id"] for e in feed if account_id in e["account_ids"]]
        assert _per_account(receiver.events(), account_id) == in_commit_order
        assert _per_account(subscriber.by_key.get(account_id, []), account_id) == in_commit_order


def receiver_ids(receiver: WebhookReceiver) -> set[str]:
    return {e["id"] for e in receiver.events()}

"""Pub/Sub delivery: any topic name Pub/Sub accepts, the messages of a transaction's own
events, and publishing through a region's endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from api.events.model import Event
from api.events.sinks.pubsub import _messages, publisher_client, regional_endpoint
from tests.events.conftest import Ledger, Subscriber, pubsub_env

NOW = datetime(2026, 12, 8, tzinfo=UTC)


def test_a_topic_of_the_longest_name_pubsub_accepts_gets_each_event_once(
    ledger_factory: Callable[[], Ledger],
    pubsub_emulator: Any,
    subscribe: Callable[[str], Subscriber],
) -> None:
    ledger = ledger_factory()
    topic = "t" + "x" * 254  # Pub/Sub allows 255 characters: a sink id of 290
    subscriber = subscribe(topic)
    ledger.start_pipeline(**pubsub_env(pubsub_emulator.address, topic))

    assert ledger.http.post("/v1/accounts", json={"id": "a", "currency": "USD"}).status_code == 201

    deadline = time.monotonic() + 60
    while not ledger.query("SELECT SinkId FROM EventSinkCursors"):
        assert time.monotonic() < deadline, "the delivery never saved its cursor"
        time.sleep(0.2)
    time.sleep(1.0)  # long enough for a delivery that could not save to send again
    copies = [e for events in subscriber.by_key.values() for e in events]
    assert [e["type"] for e in copies] == ["account.opened"]
    assert ledger.query("SELECT SinkId FROM EventSinkCursors")[0][0].endswith(topic)


def _event(kind: str, accounts: tuple[str, ...], data: dict[str, Any]) -> Event:
    return Event("evt_1", kind, NOW, "p", accounts, data)


def test_a_transactions_own_event_is_ordered_by_the_transaction() -> None:
    (message,) = _messages([_event("transaction.posted", (), {"id": "x", "status": "posted"})])

    assert message.ordering_key == "transaction:x"
    assert message.attributes["transaction_id"] == "x"
    assert message.attributes["primary"] == "true"
    assert "account_id" not in message.attributes


def test_a_legs_event_is_ordered_by_each_account_and_names_its_transaction() -> None:
    data = {"id": "x~0", "transaction_id": "x"}
    debit, credit = _messages([_event("transfer.created", ("a", "b"), data)])

    assert (debit.ordering_key, credit.ordering_key) == ("a", "b")
    assert debit.attributes["transaction_id"] == credit.attributes["transaction_id"] == "x"
    assert (debit.attributes["primary"], credit.attributes["primary"]) == ("true", "false")


def test_a_region_publishes_through_its_own_endpoint(monkeypatch: Any, mocker: Any) -> None:
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    client = mocker.patch("api.events.sinks.pubsub.PublisherClient")

    publisher_client("europe-west1")

    client.assert_called_once_with(
        client_options={"api_endpoint": "europe-west1-pubsub.googleapis.com:443"}
    )
    assert regional_endpoint("us-east4") == "us-east4-pubsub.googleapis.com:443"


def test_without_a_region_the_global_endpoint_is_used(monkeypatch: Any, mocker: Any) -> None:
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    client = mocker.patch("api.events.sinks.pubsub.PublisherClient")

    publisher_client(None)

    client.assert_called_once_with()

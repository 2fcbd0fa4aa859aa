"""Pub/Sub: one topic, one message per (event, account) with the account as ordering
key, so a subscriber with message ordering sees each account's events in commit order.

A transfer concerns two accounts and an ordering key can be only one: so its event is
published under each, with the same ``event_id`` attribute. ``primary="true"`` marks one
copy (the debit account's): a subscription that wants each event once (a warehouse)
filters on it, ``attributes.primary = "true"``; one that follows accounts dedupes by
``event_id`` per account.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined]

from api.events.model import Event

PUBLISH_TIMEOUT_SECONDS = 60.0


def publisher_client() -> pubsub_v1.PublisherClient:
    options = pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    return pubsub_v1.PublisherClient(publisher_options=options)


class PubSubDelivery:
    def __init__(self, topic_path: str, publisher: pubsub_v1.PublisherClient | None = None) -> None:
        self.topic_path = topic_path
        self.sink_id = f"pubsub:{topic_path}"
        self._publisher = publisher or publisher_client()

    def deliver(self, events: list[Event], stop: threading.Event) -> None:
        sent: list[tuple[str, Future[Any]]] = []
        for event in events:
            body = json.dumps(event.to_json(), separators=(",", ":")).encode()
            for key, primary in _copies(event.account_ids):
                future = self._publisher.publish(
                    self.topic_path, body, ordering_key=key, event_id=event.id,
                    event_type=event.type, account_id=key, primary=primary,
                )  # fmt: skip
                sent.append((key, future))
        failed: BaseException | None = None
        for key, future in sent:
            try:
                future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
            except Exception as exc:  # every failure is retried the same way
                failed = failed or exc
                if key:  # an ordering key stops publishing at its first failure
                    self._publisher.resume_publish(self.topic_path, key)
        if failed is not None:
            raise failed

    def close(self) -> None:
        self._publisher.stop()


def _copies(account_ids: Sequence[str]) -> list[tuple[str, str]]:
    if not account_ids:
        return [("", "true")]  # no account to order by (transaction.*)
    unique = list(dict.fromkeys(account_ids))
    return [(key, "true" if i == 0 else "false") for i, key in enumerate(unique)]

"""Webhooks: each endpoint its own delivery, signed (Standard Webhooks), retried with
back-off, then dead-lettered; never in the ledger's write path.

Deliveries to one endpoint run concurrently, but an event waits for the earlier events
of every account it concerns, and of the transaction it is of (a transaction's events
and its legs'): each account's and each transaction's events arrive in commit order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx

from api.events import repository
from api.events.budget import background_call
from api.events.config import EventSettings, WebhookEndpoint
from api.events.feed import Gap
from api.events.model import Event, rfc3339
from api.events.signing import webhook_headers
from api.events.sinks.runner import Stopped
from api.spanner.database import SpannerDatabase

log = logging.getLogger(__name__)

USER_AGENT = "spanner-ledger-webhooks/1"
GAP_ID_PREFIX = "gap_"  # a dead letter's id for a gap, beside evt_ ids


class WebhookDelivery:
    def __init__(
        self, endpoint: WebhookEndpoint, settings: EventSettings, database: SpannerDatabase
    ) -> None:
        self.endpoint = endpoint
        self.sink_id = f"webhook:{endpoint.id}"
        self._settings = settings
        self._db = database
        self._key = endpoint.key()
        self._http = httpx.Client(
            timeout=settings.webhook_timeout_seconds,
            headers={"user-agent": USER_AGENT},
            follow_redirects=False,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=settings.webhook_concurrency, thread_name_prefix=self.sink_id
        )

    def deliver(self, events: list[Event], stop: threading.Event) -> None:
        wanted = [e for e in events if not self.endpoint.types or e.type in self.endpoint.types]
        latest: dict[str, Future[None]] = {}
        futures = []
        for event in wanted:
            keys = event.ordering_keys
            earlier = list({id(f): f for k in keys if (f := latest.get(k))}.values())
            future = self._pool.submit(self._deliver_one, event, earlier, stop)
            for key in keys:
                latest[key] = future
            futures.append(future)
        for future in futures:
            future.result()  # Stopped, or a dead letter that could not be written

    def _deliver_one(
        self, event: Event, earlier: list[Future[None]], stop: threading.Event
    ) -> None:
        for future in earlier:  # submitted before this one: already running or done
            future.result()
        body = json.dumps(event.to_json(), separators=(",", ":")).encode()
        error = ""
        for attempt in range(1, self._settings.webhook_max_attempts + 1):
            if stop.is_set():
                raise Stopped
            error = self._attempt(event.id, body)
            if not error:
                return
            if attempt < self._settings.webhook_max_attempts and stop.wait(self._backoff(attempt)):
                raise Stopped
        log.warning("webhook %s: %s dead-lettered: %s", self.endpoint.id, event.id, error)
        self._dead_letter(event.id, event.to_json(), self._settings.webhook_max_attempts, error)

    def skipped(self, gap: Gap) -> None:
        """The endpoint fell behind the feed's start: the gap is dead-lettered, its reason
        and bounds in place of an event, so an operator sees what it never got."""
        gap_id = (
            GAP_ID_PREFIX
            + hashlib.sha256(
                f"{rfc3339(gap.after.commit_timestamp)}|{gap.after.position}|"
                f"{rfc3339(gap.starts_at)}".encode()
            ).hexdigest()[:32]
        )
        description = {
            "type": "delivery.gap",
            "after": rfc3339(gap.after.commit_timestamp),
            "starts_at": rfc3339(gap.starts_at),
            "reason": gap.reason,
        }
        self._dead_letter(gap_id, description, 0, f"fell behind the feed: {gap.describe()}")

    def _dead_letter(self, event_id: str, event: dict[str, Any], attempts: int, error: str) -> None:
        self._db.write(
            lambda tx: repository.dead_letter(
                tx, endpoint_id=self.endpoint.id, event_id=event_id, event=event,
                attempts=attempts, last_error=error,
            ),
            call=background_call("events.webhook.dead_letter"),
        )  # fmt: skip

    def _attempt(self, message_id: str, body: bytes) -> str:
        """One POST; the error, or "" for a 2xx."""
        headers = webhook_headers(self._key, message_id, int(time.time()), body)
        try:
            response = self._http.post(str(self.endpoint.url), content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return ""
        return f"HTTP {response.status_code}"

    def _backoff(self, attempt: int) -> float:
        """Full jitter on base * 2**(attempt-1), capped."""
        ceiling = min(
            self._settings.webhook_backoff_cap_ms,
            self._settings.webhook_backoff_base_ms * 2 ** (attempt - 1),
        )
        return random.uniform(0, ceiling) / 1000  # noqa: S311 - jitter, not a secret

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

"""The synchronous client: ``LedgerClient(url).open_account("USD")``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Literal, TypeVar

import httpx

from ledger_client import calls
from ledger_client import models as m
from ledger_client.auth import TokenSource
from ledger_client.endpoints import Operations
from ledger_client.outcome import RetryAfter, Target, settle, settle_failure
from ledger_client.retry import Attempts, RetryPolicy

T = TypeVar("T")


class SyncTransport(Target):
    """Sends a ``Call`` with authentication and retries, over one pooled httpx client."""

    is_async: Literal[False] = False

    def __init__(
        self,
        url: str,
        *,
        auth: TokenSource | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(url, auth=auth, retry=retry)
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=self.url, headers=self.default_headers)

    def send(self, call: calls.Call[T]) -> T:
        attempts = Attempts(self.retry)
        while True:
            attempts.count += 1
            try:
                response = self.http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    json=call.json(),
                    headers=self.auth.headers(),
                    timeout=attempts.timeout(),
                )
            except Exception as exc:  # settle_failure re-raises what is not ours
                outcome: T | RetryAfter = settle_failure(exc, attempts)
            else:
                outcome = settle(call, response, attempts)
            if not isinstance(outcome, RetryAfter):
                return outcome
            time.sleep(outcome.delay)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> LedgerClient:
        assert isinstance(self, LedgerClient)  # noqa: S101 - only LedgerClient is used
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LedgerClient(SyncTransport, Operations):
    """Every operation of the ledger API (see ``ledger_client.calls`` for each one's
    parameters), with ``iter_*`` iterators over paginated lists and ``tail_events``."""

    def tail_events(
        self,
        *,
        after: str | None = None,
        limit: int | None = None,
        poll_interval: float = 1.0,
        follow: bool = True,
    ) -> Iterator[m.Event]:
        """The change feed from ``after``: every event, in order; waits ``poll_interval``
        after an empty page. ``follow=False`` stops at the first empty page."""
        cursor = after
        while True:
            page = self.send(calls.list_events(after=cursor, limit=limit))
            yield from page.items
            cursor = page.next_cursor
            if not page.items:
                if not follow:
                    return
                time.sleep(poll_interval)

"""The asyncio client: ``await AsyncLedgerClient(url).open_account("USD")``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal, TypeVar

import httpx

from ledger_client import calls
from ledger_client import models as m
from ledger_client.auth import TokenSource
from ledger_client.endpoints import Operations
from ledger_client.outcome import RetryAfter, Target, settle, settle_failure
from ledger_client.retry import Attempts, RetryPolicy

T = TypeVar("T")


class AsyncTransport(Target):
    """Sends a ``Call`` with authentication and retries, over one pooled httpx client."""

    is_async: Literal[True] = True

    def __init__(
        self,
        url: str,
        *,
        auth: TokenSource | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(url, auth=auth, retry=retry)
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(base_url=self.url, headers=self.default_headers)

    async def _auth_headers(self) -> dict[str, str]:
        cached = self.auth.cached_headers()
        if cached is not None:
            return cached
        # Minting a token (metadata server, gcloud, a token endpoint) blocks.
        return await asyncio.to_thread(self.auth.headers)

    async def send(self, call: calls.Call[T]) -> T:
        attempts = Attempts(self.retry)
        while True:
            attempts.count += 1
            try:
                response = await self.http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    json=call.json(),
                    headers=await self._auth_headers(),
                    timeout=attempts.timeout(),
                )
            except Exception as exc:  # settle_failure re-raises what is not ours
                outcome: T | RetryAfter = settle_failure(exc, attempts)
            else:
                outcome = settle(call, response, attempts)
            if not isinstance(outcome, RetryAfter):
                return outcome
            await asyncio.sleep(outcome.delay)

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> AsyncLedgerClient:
        assert isinstance(self, AsyncLedgerClient)  # noqa: S101 - only the client is used
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncLedgerClient(AsyncTransport, Operations):
    """Every operation of the ledger API, awaitable; ``iter_*`` are async iterators."""

    async def tail_events(
        self,
        *,
        after: str | None = None,
        limit: int | None = None,
        poll_interval: float = 1.0,
        follow: bool = True,
    ) -> AsyncIterator[m.Event]:
        """The change feed from ``after``, as ``LedgerClient.tail_events``."""
        cursor = after
        while True:
            page = await self.send(calls.list_events(after=cursor, limit=limit))
            for event in page.items:
                yield event
            cursor = page.next_cursor
            if not page.items:
                if not follow:
                    return
                await asyncio.sleep(poll_interval)

"""How a ``Call`` is sent: authentication, retries, one pooled httpx client.

``BaseTransport`` holds what both faces share (the service URL, the token source, the
retry policy); ``SyncTransport`` and ``AsyncTransport`` are each written out in full,
differing only in how they send, mint a token and sleep. What a response means is decided
once, without I/O, in ``ledger_client.outcome``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Self, TypeVar

import httpx

from ledger_client.auth import NoAuth, TokenSource
from ledger_client.calls import Call
from ledger_client.outcome import RetryAfter, settle, settle_failure
from ledger_client.retry import Attempts, RetryPolicy

T = TypeVar("T")

USER_AGENT = "spanner-ledger-client/0.1"


class BaseTransport:
    """Where calls go and how: the service URL, the token source, the retry policy."""

    def __init__(
        self, url: str, *, auth: TokenSource | None = None, retry: RetryPolicy | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.auth: TokenSource = auth or NoAuth()
        self.retry = retry or RetryPolicy()
        self.default_headers = {"User-Agent": USER_AGENT}


class SyncTransport(BaseTransport):
    """Sends a ``Call`` with authentication and retries, over one pooled httpx client."""

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

    def send(self, call: Call[T]) -> T:
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncTransport(BaseTransport):
    """Sends a ``Call`` with authentication and retries, over one pooled httpx client."""

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

    async def send(self, call: Call[T]) -> T:
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

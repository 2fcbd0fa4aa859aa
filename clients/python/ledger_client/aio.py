"""The asyncio client: ``await AsyncLedgerClient(url).open_account("USD")``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ledger_client import calls
from ledger_client import models as m
from ledger_client.endpoints import Operations
from ledger_client.transport import AsyncTransport


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

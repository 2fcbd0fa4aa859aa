"""The synchronous client: ``LedgerClient(url).open_account("USD")``."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ledger_client import calls
from ledger_client import models as m
from ledger_client.endpoints import Operations
from ledger_client.transport import SyncTransport


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

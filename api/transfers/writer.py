"""The worker's single path for single-transfer writes: group commit, or not.

With group commit on, concurrent ``POST /v1/transfers`` requests of this worker are
coalesced by a ``WriteBatcher`` into one transaction per group; each caller still gets
its own result, identical to applying the requests one at a time in arrival order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from api.config import Settings
from api.context import current_scope
from api.errors import BackendUnavailable
from api.spanner.batcher import BatcherClosed, WriteBatcher
from api.spanner.database import LedgerDatabase
from api.transfers.schemas import TransferCreate
from api.transfers.transaction import TransferResult, apply_transfers


class TransferWriter:
    def __init__(self, database: LedgerDatabase, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._batcher: WriteBatcher[TransferCreate, TransferResult] | None = None
        if settings.group_commit_enabled:
            self._batcher = WriteBatcher(
                self._apply_group,
                window_seconds=settings.group_commit_window_ms / 1000,
                max_items=min(settings.group_commit_max_items, settings.max_transfers_per_commit),
                name="transfer-group-commit",
            )

    @property
    def batcher(self) -> WriteBatcher[TransferCreate, TransferResult] | None:
        return self._batcher

    def _apply_group(
        self, requests: Sequence[TransferCreate], deadline: float
    ) -> list[TransferResult]:
        return apply_transfers(self._database, requests, tag="transfers.group", deadline=deadline)

    def write(self, request: TransferCreate) -> TransferResult:
        """Apply one transfer, blocking this thread until it is committed."""
        if self._batcher is None:
            (result,) = apply_transfers(self._database, [request], tag="transfers.create")
            return result
        try:
            return self._batcher.call(request, deadline=self._deadline())
        except BatcherClosed:
            raise self._shutting_down() from None

    async def write_async(self, request: TransferCreate) -> TransferResult:
        """Apply one transfer from the event loop.

        With group commit the request waits on the writer without holding a worker
        thread, so concurrency is not capped by the threadpool's size.
        """
        if self._batcher is None:
            return await run_in_threadpool(self.write, request)
        try:
            return await self._batcher.call_async(request, deadline=self._deadline())
        except BatcherClosed:
            raise self._shutting_down() from None

    def _deadline(self) -> float:
        scope = current_scope()
        if scope is not None:
            return scope.deadline
        return time.monotonic() + self._settings.request_timeout_seconds

    def _shutting_down(self) -> BackendUnavailable:
        return BackendUnavailable(
            "This instance is shutting down; retry the request with the same id.",
            retry_after_seconds=self._settings.retry_after_seconds,
        )

    def close(self, timeout: float = 8.0) -> bool:
        """Commit what is queued, then stop. True if everything was flushed in time."""
        return self._batcher.close(timeout) if self._batcher is not None else True

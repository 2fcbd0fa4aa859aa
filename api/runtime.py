"""What a worker process builds once: the Spanner client, its handles, the ledger's
writer and sweeper."""

from __future__ import annotations

import gc
import logging
import threading

from api.config import Settings
from api.ledger.sweeper import HoldSweeper
from api.ledger.writer import LedgerWriter
from api.storage import DatabaseHandles

log = logging.getLogger(__name__)


class Runtime:
    """What a worker process builds once: the Spanner client and its handles.

    Started by the lifespan, or on first use by adapters that run no lifespan
    (Lambda via Mangum, Cloud Run functions). Never at import time.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._databases: DatabaseHandles | None = None
        self._writer: LedgerWriter | None = None
        self._sweeper: HoldSweeper | None = None
        self.starts = 0  # observable: adapters must start the runtime exactly once

    def start(self) -> None:
        if self._writer is not None:
            return
        with self._lock:
            if self._writer is None:
                self.starts += 1
                databases = DatabaseHandles.open(self.settings)
                self._databases = databases
                self._writer = LedgerWriter(databases.writer, self.settings)
                if self.settings.hold_sweep_interval_seconds > 0:
                    self._sweeper = HoldSweeper(
                        databases.writer, interval_seconds=self.settings.hold_sweep_interval_seconds
                    )
                    self._sweeper.start()
                tune_garbage_collector(self.settings.gc_gen0_threshold)
                log.info("runtime started")

    @property
    def databases(self) -> DatabaseHandles:
        self.start()
        assert self._databases is not None  # noqa: S101 - start() set it
        return self._databases

    @property
    def started(self) -> bool:
        return self._writer is not None

    @property
    def ledger_writer(self) -> LedgerWriter:
        self.start()
        assert self._writer is not None  # noqa: S101 - start() set it
        return self._writer

    def stop(self, timeout: float = 8.0) -> None:
        """Flush queued writes (within ``timeout``), then release the handles."""
        if self._sweeper is not None:
            self._sweeper.stop()
        if self._writer is not None and not self._writer.close(timeout):
            log.error("queued writes were not all committed before shutdown")
        if self._databases is not None:
            self._databases.close()


def tune_garbage_collector(gen0_threshold: int) -> None:
    """Fewer, shorter collection pauses for a long-running worker (0: leave as is).

    Everything built at start-up lives as long as the process; frozen, a full
    collection no longer walks it. The older generations' thresholds are the ones
    measured with it (docs/BENCHMARKS.md).
    """
    if gen0_threshold <= 0:
        return
    gc.freeze()
    gc.set_threshold(gen0_threshold, 20, 100)

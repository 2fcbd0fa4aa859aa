"""What a repository receives: a transaction or snapshot whose every call carries the
work's tag, priority and remaining deadline, and whose rows come back by column name."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.cloud import spanner
from google.cloud.spanner_v1 import RequestOptions

from api.spanner.deadlines import cut_to
from api.spanner.errors import DeadlinePassed
from api.spanner.mutations import KeysKeySet, WriteKind, write_mutation

# proto-plus enums are ints to mypy; name the ones we use.
Priority = RequestOptions.Priority
PRIORITY_DEFAULT: int = Priority.PRIORITY_UNSPECIFIED
PRIORITY_LOW: int = Priority.PRIORITY_LOW

Row = dict[str, Any]
# name -> (value, spanner param type)
Params = dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class Tx:
    # A Transaction or a Snapshot. Typed Any: the client's methods are unannotated.
    raw: Any
    tag: str
    deadline: float  # time.monotonic()
    priority: int = PRIORITY_DEFAULT
    # Stale reads only: where Spanner may serve them (DirectedReadOptions as a dict).
    directed_read_options: dict[str, Any] | None = None

    @property
    def read_timestamp(self) -> datetime | None:
        """A multi-use snapshot's timestamp, fixed by its first read (None before)."""
        # The client exposes it only on this attribute.
        value: datetime | None = getattr(self.raw, "_transaction_read_timestamp", None)
        return value

    def cut_deadline(self, deadline: float) -> None:
        """The rest of this transaction's RPCs (its commit) end by ``deadline`` (monotonic)
        if that is sooner than its own."""
        cut_to(deadline)

    def _options(self) -> dict[str, Any]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed(self.tag)
        options: dict[str, Any] = {
            "request_options": RequestOptions(request_tag=self.tag, priority=self.priority),
            "timeout": remaining,
        }
        if self.directed_read_options is not None:
            options["directed_read_options"] = self.directed_read_options
        return options

    def read(self, table: str, columns: Sequence[str], keys: Iterable[Sequence[Any]]) -> list[Row]:
        """Rows of ``table`` at ``keys`` (full primary keys), as column -> value."""
        rows = self.read_rows(table, columns, keys)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def read_rows(
        self, table: str, columns: Sequence[str], keys: Iterable[Sequence[Any]]
    ) -> list[list[Any]]:
        """As ``read``, each row a list of values in ``columns`` order."""
        key_list = [list(k) for k in keys]
        if not key_list:
            return []
        return list(self.raw.read(table, columns, KeysKeySet(keys=key_list), **self._options()))

    def read_range(
        self,
        table: str,
        columns: Sequence[str],
        *,
        start: Sequence[Any],
        end: Sequence[Any],
        start_open: bool = False,
        end_open: bool = False,
        index: str = "",
        limit: int = 0,
    ) -> list[Row]:
        """Rows from ``start`` to ``end`` in key (or ``index``) order - a DESC key part
        runs high to low - at most ``limit`` (0: all). A key may be a prefix."""
        bounds = key_range(start, end, start_open=start_open, end_open=end_open)
        return self.read_ranges(table, columns, [bounds], index=index, limit=limit)

    def read_all(self, table: str, columns: Sequence[str], *, index: str = "") -> list[Row]:
        """Every row of ``table`` (a small one), or of its ``index``, in key order."""
        key_set = spanner.KeySet(all_=True)
        rows = self.raw.read(table, columns, key_set, index=index, **self._options())
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def read_ranges(
        self,
        table: str,
        columns: Sequence[str],
        ranges: Sequence[spanner.KeyRange],
        *,
        index: str = "",
        limit: int = 0,
    ) -> list[Row]:
        """Rows of several key ranges in one read, in key order (the ranges' rows one
        range after another when they do not overlap), at most ``limit`` in all."""
        key_set = spanner.KeySet(ranges=list(ranges))
        rows = self.raw.read(table, columns, key_set, index=index, limit=limit, **self._options())
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        """The rows of ``sql``, as column -> value; every value is a bound parameter."""
        params = params or {}
        result = self.raw.execute_sql(
            sql,
            params={name: value for name, (value, _) in params.items()},
            param_types={name: kind for name, (_, kind) in params.items()},
            **self._options(),
        )
        rows = list(result)
        names = [field.name for field in result.fields]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._write("insert", table, columns, rows)

    def update(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._write("update", table, columns, rows)

    def insert_or_update(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        self._write("insert_or_update", table, columns, rows)

    def _write(
        self, kind: WriteKind, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Buffer one write. The client's transaction keeps its mutations in a list that
        its commit sends; the mutation built here (api.spanner.mutations) is what its
        ``insert``/``update`` would append, for a fraction of the CPU. Anything else
        (an object without that list) gets the client's own method."""
        if not rows:
            return
        buffered = getattr(self.raw, "_mutations", None)
        if isinstance(buffered, list):
            buffered.append(write_mutation(kind, table, columns, rows))
        else:
            getattr(self.raw, kind)(table, columns, rows)


def key_range(
    start: Sequence[Any], end: Sequence[Any], *, start_open: bool = False, end_open: bool = False
) -> spanner.KeyRange:
    """The keys from ``start`` to ``end`` (either may be a prefix)."""
    bounds = {
        ("start_open" if start_open else "start_closed"): list(start),
        ("end_open" if end_open else "end_closed"): list(end),
    }
    return spanner.KeyRange(**bounds)

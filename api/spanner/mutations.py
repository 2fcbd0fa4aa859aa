"""Mutations built straight into protobuf: the same bytes the client library sends.

``Transaction.insert`` and ``update`` encode each value through ``_make_value_pb`` and
then hand the rows to proto-plus, which copies every row twice on the way into the
``Mutation.Write`` message; for the rows of a large commit that is most of the
Python CPU the commit costs (bench/ceiling and docs/BENCHMARKS.md). Here the write is
built as a plain protobuf message and wrapped without a copy. Strings, integers,
booleans and NULL are encoded here exactly as the library encodes them (integers as
decimal strings, as INT64 travels); every other value goes through the library's own
encoder, so timestamps, JSON and anything else stay byte for byte the library's.
tests/spanner/test_mutations.py compares the serialized result with the library's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from google.cloud.spanner_v1 import Mutation
from google.cloud.spanner_v1._helpers import _make_value_pb

WriteKind = Literal["insert", "update", "insert_or_update"]

_MUTATION_PB: Any = Mutation.pb()
_NULL = _make_value_pb(None)


def write_mutation(
    kind: WriteKind, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Mutation:
    """``Mutation(<kind>=Write(table, columns, rows))``, as the client builds it."""
    pb = _MUTATION_PB()
    write = getattr(pb, kind)  # built in place: no copy
    write.table = table
    write.columns.extend(columns)
    add_row = write.values.add
    for row in rows:
        values = add_row().values
        add, append = values.add, values.append
        for value in row:
            kind_of = value.__class__
            if value is None:
                append(_NULL)
            elif kind_of is str:
                add(string_value=value)
            elif kind_of is int:
                add(string_value=str(value))
            elif kind_of is bool:
                add(bool_value=value)
            else:
                append(_make_value_pb(value))
    mutation: Mutation = Mutation.wrap(pb)
    return mutation

"""Mutations and key sets built straight into protobuf: the bytes the client sends.

``Transaction.insert`` and ``update`` encode each value through ``_make_value_pb`` and
then hand the rows to proto-plus, which copies every row twice on the way into the
``Mutation.Write`` message (and a read's ``KeySet`` the same way); for the rows of a
large commit that was most of the Python CPU the commit cost (docs/BENCHMARKS.md).
Here the message is built as a plain protobuf message, rows in place, and wrapped
without a copy. Strings, integers, booleans and NULL are encoded here exactly as the
library encodes them (integers as decimal strings, as INT64 travels); every other
value goes through the library's own encoder, so timestamps, JSON and anything else
stay byte for byte the library's. tests/spanner/test_mutations.py compares the
serialized results with the library's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from google.cloud import spanner
from google.cloud.spanner_v1 import Mutation
from google.cloud.spanner_v1._helpers import _make_value_pb
from google.cloud.spanner_v1.types import KeySet as KeySetMessage

WriteKind = Literal["insert", "update", "insert_or_update"]

_MUTATION_PB: Any = Mutation.pb()
_KEY_SET_PB: Any = KeySetMessage.pb()
_NULL = _make_value_pb(None)


def _add_rows(target: Any, rows: Sequence[Sequence[Any]]) -> None:
    """Append ``rows`` to a repeated ListValue field, each as the client encodes it."""
    add_row = target.add
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


def write_mutation(
    kind: WriteKind, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Mutation:
    """``Mutation(<kind>=Write(table, columns, rows))``, as the client builds it."""
    pb = _MUTATION_PB()
    write = getattr(pb, kind)  # built in place: no copy
    write.table = table
    write.columns.extend(columns)
    _add_rows(write.values, rows)
    mutation: Mutation = Mutation.wrap(pb)
    return mutation


class KeysKeySet(spanner.KeySet):
    """A key set of full keys whose message is built as ``write_mutation`` builds rows.

    ``Snapshot.read`` and ``Transaction.read`` turn a key set into its message by its
    ``_to_pb``; this one returns what the client's own would, for less CPU.
    """

    def __init__(self, keys: list[list[Any]]) -> None:
        super().__init__(keys=keys)  # type: ignore[no-untyped-call]

    def _to_pb(self) -> KeySetMessage:
        pb = _KEY_SET_PB()
        _add_rows(pb.keys, self.keys)
        message: KeySetMessage = KeySetMessage.wrap(pb)
        return message

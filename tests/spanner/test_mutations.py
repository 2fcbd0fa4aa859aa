"""Mutations built by api.spanner.mutations are byte for byte the client library's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import spanner
from google.cloud.spanner_v1 import JsonObject, Mutation
from google.cloud.spanner_v1.batch import _BatchBase
from google.cloud.spanner_v1.types import KeySet as KeySetMessage

from api.spanner.mutations import KeysKeySet, WriteKind, write_mutation
from api.spanner.tx import Tx

COLUMNS = ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L")
ROWS: list[tuple[Any, ...]] = [
    (
        -(2**63), 2**63 - 1, 0, "", "ünï-cødé ~ 42", None, True, False,
        spanner.COMMIT_TIMESTAMP, datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        JsonObject({"b": [1, 2.5, None], "a": "x"}), 1.25,
    ),
    (
        7, -1, 123456789, "acct-0001", "s", None, False, True,
        DatetimeWithNanoseconds(2024, 1, 2, 3, 4, 5, nanosecond=123456789, tzinfo=UTC),
        None, None, float("nan"),
    ),
]  # fmt: skip


def _library(kind: WriteKind, rows: list[tuple[Any, ...]]) -> bytes:
    batch = _BatchBase(session=None)
    getattr(batch, kind)("T", COLUMNS, rows)
    (mutation,) = batch._mutations
    return bytes(Mutation.pb(mutation).SerializeToString())


@pytest.mark.parametrize("kind", ["insert", "update", "insert_or_update"])
def test_a_write_serializes_as_the_library_builds_it(kind: WriteKind) -> None:
    ours = Mutation.pb(write_mutation(kind, "T", COLUMNS, ROWS)).SerializeToString()
    assert ours == _library(kind, ROWS)


class _Subclassed(str):
    pass


def test_subclasses_of_plain_types_take_the_library_encoder() -> None:
    rows = [(_Subclassed("x"), 1, "y", None, True, 2, "z", 3, "w", 4, "v", 5)]
    ours = Mutation.pb(write_mutation("insert", "T", COLUMNS, rows)).SerializeToString()
    assert ours == _library("insert", rows)


def test_tx_buffers_into_the_client_transaction() -> None:
    batch = _BatchBase(session=None)
    tx = Tx(batch, "tag", deadline=0.0)
    tx.insert("T", COLUMNS, ROWS)
    tx.update("T", COLUMNS, [])  # nothing to write: nothing buffered
    (mutation,) = batch._mutations
    assert Mutation.pb(mutation).SerializeToString() == _library("insert", ROWS)


def test_a_key_set_of_keys_serializes_as_the_library_builds_it() -> None:
    keys = [[-(2**63), "acct-0001"], [2**63 - 1, "ünï"], [0, ""]]
    ours = KeysKeySet(keys=keys)._to_pb()
    library = spanner.KeySet(keys=keys)._to_pb()
    assert (
        KeySetMessage.pb(ours).SerializeToString() == KeySetMessage.pb(library).SerializeToString()
    )

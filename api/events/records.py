"""Change stream records, as plain values: the rows of READ_LedgerChanges parsed.

The client returns a change record as nested lists (STRUCT fields by position) and the
mods' keys and values as JSON, where INT64 and TIMESTAMP are strings. Parsing goes by
the result's own field names and each column's declared type, not by position.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.cloud.spanner_v1 import TypeCode

from api.events.model import parse_rfc3339

COMMIT_TIMESTAMP_PLACEHOLDER = "9999-12-31T23:59:59"


@dataclass(frozen=True)
class Mod:
    keys: dict[str, Any]
    new_values: dict[str, Any]
    old_values: dict[str, Any]

    @property
    def row(self) -> dict[str, Any]:
        """The whole watched row after the change (NEW_ROW_AND_OLD_VALUES)."""
        return {**self.keys, **self.new_values}

    def changed(self, column: str) -> bool:
        """Whether the change wrote ``column`` with a different value."""
        return column in self.old_values and self.old_values[column] != self.new_values.get(column)


@dataclass(frozen=True)
class DataChange:
    commit_timestamp: datetime
    record_sequence: str
    server_transaction_id: str
    table: str
    mod_type: str  # INSERT, UPDATE or DELETE
    mods: tuple[Mod, ...]


@dataclass(frozen=True)
class Heartbeat:
    timestamp: datetime


@dataclass(frozen=True)
class ChildPartition:
    token: str
    parent_tokens: tuple[str, ...]


@dataclass(frozen=True)
class ChildPartitions:
    start_timestamp: datetime
    children: tuple[ChildPartition, ...] = field(default=())


Record = DataChange | Heartbeat | ChildPartitions


def named(value: Any, type_: Any) -> Any:
    """A value of Spanner type ``type_`` with every STRUCT turned into a dict by its
    field names (the client leaves them as lists)."""
    code = TypeCode(type_.code).name  # proto-plus or raw protobuf (an int)
    if value is None:
        return None
    if code == "ARRAY":
        return [named(item, type_.array_element_type) for item in value]
    if code == "STRUCT":
        fields = type_.struct_type.fields
        return {f.name: named(item, f.type_) for f, item in zip(fields, value, strict=True)}
    return value


def parse_change_record(change_record: list[dict[str, Any]]) -> list[Record]:
    """One ``ChangeRecord`` value (already ``named``) as the records it holds."""
    records: list[Record] = []
    for part in change_record:
        for data in part.get("data_change_record") or ():
            records.append(_data_change(data))
        for beat in part.get("heartbeat_record") or ():
            records.append(Heartbeat(beat["timestamp"]))
        for child in part.get("child_partitions_record") or ():
            records.append(
                ChildPartitions(
                    start_timestamp=child["start_timestamp"],
                    children=tuple(
                        ChildPartition(c["token"], tuple(c["parent_partition_tokens"] or ()))
                        for c in child["child_partitions"] or ()
                    ),
                )
            )
    return records


def _data_change(data: Mapping[str, Any]) -> DataChange:
    types = {c["name"]: _type_code(c["type"]) for c in data["column_types"] or ()}
    committed = data["commit_timestamp"]
    types = {name: (committed if code == "TIMESTAMP" else code) for name, code in types.items()}
    return DataChange(
        commit_timestamp=committed,
        record_sequence=data["record_sequence"],
        server_transaction_id=data["server_transaction_id"],
        table=data["table_name"],
        mod_type=data["mod_type"],
        mods=tuple(
            Mod(
                keys=_values(m["keys"], types),
                new_values=_values(m["new_values"], types),
                old_values=_values(m["old_values"], types),
            )
            for m in data["mods"] or ()
        ),
    )


def _type_code(declared: Any) -> str:
    spec = _json(declared)
    return str(spec.get("code", "")) if isinstance(spec, dict) else ""


def _json(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value)
    if value is None or getattr(value, "_is_null", False):
        return None
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _values(raw: Any, types: Mapping[str, Any]) -> dict[str, Any]:
    values = _json(raw)
    if not isinstance(values, dict):
        return {}  # JSON null: no column of this kind changed
    return {name: _value(value, types.get(name, "")) for name, value in values.items()}


def _value(value: Any, code: Any) -> Any:
    """A column value from its JSON form in a mod; a TIMESTAMP column's ``code`` is the
    record's commit timestamp."""
    if value is None:
        return None
    if code == "INT64":
        return int(value)
    if isinstance(code, datetime):
        # The emulator records spanner.COMMIT_TIMESTAMP's placeholder where the column
        # was written with it; what it stands for is this record's commit timestamp.
        return code if value.startswith(COMMIT_TIMESTAMP_PLACEHOLDER) else parse_rfc3339(value)
    if code == "JSON":
        return json.loads(value) if isinstance(value, str) else value
    return value

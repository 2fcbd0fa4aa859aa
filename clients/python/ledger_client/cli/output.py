"""Printing results: aligned tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from pydantic import BaseModel


def as_json(value: BaseModel | Sequence[BaseModel]) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return [item.model_dump(mode="json", by_alias=True) for item in value]


def print_json(value: BaseModel | Sequence[BaseModel], out: TextIO) -> None:
    out.write(json.dumps(as_json(value), indent=2) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)


def print_table(rows: Iterable[BaseModel], columns: Sequence[str], out: TextIO) -> int:
    """One row per model, the named fields as columns; answers the row count."""
    cells = [
        [_cell(row.model_dump(mode="json", by_alias=True).get(c)) for c in columns] for row in rows
    ]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    out.write(header.rstrip() + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    return len(cells)


def print_record(record: BaseModel, out: TextIO, *, skip: Sequence[str] = ()) -> None:
    """One model as ``field  value`` lines."""
    fields = record.model_dump(mode="json", by_alias=True)
    width = max(len(name) for name in fields)
    for name, value in fields.items():
        if name not in skip:
            out.write(f"{name.ljust(width)}  {_cell(value)}\n")

"""Conversions between Python values and Spanner column values the client leaves raw."""

from __future__ import annotations

from typing import Any

from google.cloud.spanner_v1 import JsonObject


def json_from_column(value: Any) -> dict[str, Any] | None:
    """A JSON column as a dict; SQL NULL and JSON null both read as None."""
    if value is None or (isinstance(value, JsonObject) and value._is_null):
        return None
    return dict(value)


def json_to_column(value: dict[str, Any] | None) -> JsonObject | None:
    return None if value is None else JsonObject(value)

"""Checks on request values that depend on configuration, not on the schema."""

from __future__ import annotations

from typing import Any

from api.errors import ValidationFailed
from api.ids import metadata_size


def check_metadata(metadata: dict[str, Any] | None, *, max_bytes: int) -> None:
    size = metadata_size(metadata)
    if size > max_bytes:
        raise ValidationFailed(
            f"metadata is {size} bytes as JSON; at most {max_bytes} are allowed.",
            errors=[{"loc": ["body", "metadata"], "type": "too_long", "max_bytes": max_bytes}],
        )


def check_page_size(page_size: int | None, *, default: int, maximum: int) -> int:
    if page_size is None:
        return default
    if not 1 <= page_size <= maximum:
        raise ValidationFailed(f"page_size must be between 1 and {maximum}.")
    return page_size

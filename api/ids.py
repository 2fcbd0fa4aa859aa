"""Identifiers, money and metadata: the value types every area shares."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from pydantic import Field, StrictInt, StringConstraints

INT64_MAX = 2**63 - 1

# Letters, digits, '_', '.', '-'; no ':' (it separates custom methods such as
# /v1/transfers/{id}:post) and no '/', so an id is always one safe path segment.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

ResourceId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, min_length=1, max_length=64),
    Field(description="1-64 characters: letters, digits, '_', '.', '-'; starts alphanumeric."),
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z][A-Z0-9]{2,15}$"),
    Field(description="Upper-case code, e.g. an ISO 4217 code such as USD.", examples=["USD"]),
]
Amount = Annotated[
    StrictInt,
    Field(gt=0, le=INT64_MAX, description="Positive integer in minor units (cents)."),
]
Metadata = Annotated[
    dict[str, Any],
    Field(description="Free-form JSON object stored with the resource."),
]


def key_hash(resource_id: str) -> int:
    """The signed 64-bit hash that leads every primary key (see spanner_ddl/0001)."""
    digest = hashlib.sha256(resource_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def new_id() -> str:
    return uuid.uuid4().hex


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_fingerprint(payload: dict[str, Any]) -> str:
    """Stable hash of a request body: equal bodies (any key order) hash equal."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def metadata_size(metadata: dict[str, Any] | None) -> int:
    return 0 if metadata is None else len(canonical_json(metadata).encode())

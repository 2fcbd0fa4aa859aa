"""Identifiers, money and metadata: the value types every area shares."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StrictInt, StringConstraints
from starlette.convertors import Convertor, register_url_convertor

INT64_MAX = 2**63 - 1

# Letters, digits, '_', '.', '-'; no ':' (it separates custom methods such as
# /v1/transfers/{id}:post) and no '/', so an id is always one safe path segment.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

# A leg of a multi-leg transaction is a transfer whose id is the transaction's id, '~'
# and the leg's index ("purchase-42~0"). '~' is outside ID_PATTERN, so no client-chosen
# transfer id can ever take a leg's id; it is unreserved in URLs, so a leg id is still
# one safe path segment.
LEG_SEPARATOR = "~"
MAX_LEGS = 100
TRANSFER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}(~[0-9]{1,2})?$"
TRANSFER_ID_MAX_LENGTH = 67


class _IdSegment(Convertor[str]):
    """A path segment up to a ':' (``{account_id:id}``): so ``/v1/accounts/x:close`` is
    never the account ``x:close``, and a GET there is 405 (the path is the POST's), not a
    422 from the GET route's id pattern."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Registered on import: every router that names it imports this module first.
register_url_convertor("id", _IdSegment())

ResourceId = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, min_length=1, max_length=64),
    Field(description="1-64 characters: letters, digits, '_', '.', '-'; starts alphanumeric."),
]
TransferRef = Annotated[
    str,
    StringConstraints(pattern=TRANSFER_ID_PATTERN, min_length=1, max_length=TRANSFER_ID_MAX_LENGTH),
    Field(description="A transfer's id: a client-chosen one, or a leg's (<transaction id>~<n>)."),
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

# The longest a hold may wait to be settled.
MAX_HOLD_SECONDS = 30 * 24 * 3600
# A hold's (or a pending transaction's) time to live, in seconds.
HoldTimeout = Annotated[StrictInt, Field(ge=1, le=MAX_HOLD_SECONDS)]
# Deeper than any real metadata; far below where JSON encoders and Spanner give up.
MAX_METADATA_DEPTH = 32
# What Spanner's JSON type stores without loss.
JSON_INT_RANGE = (-(2**63), 2**64 - 1)


def _check_text(text: str, where: str) -> None:
    # A lone surrogate (JSON "\ud800") decodes into a str no UTF-8 encoder accepts.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} is not valid Unicode (a lone surrogate)") from None


def check_json_value(value: Any) -> Any:
    """Metadata must be JSON that can be stored as it is: bounded depth, valid
    Unicode, finite numbers that fit. Checked iteratively: no recursion to exhaust."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_METADATA_DEPTH:
            raise ValueError(f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, "a key")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item, "a string")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not JSON_INT_RANGE[0] <= item <= JSON_INT_RANGE[1]:
                raise ValueError("an integer in metadata is out of range")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("numbers in metadata must be finite")
        else:
            raise ValueError(f"metadata holds a {type(item).__name__}, not JSON")
    return value


Metadata = Annotated[
    dict[str, Any],
    AfterValidator(check_json_value),
    Field(
        description="Free-form JSON object stored with the resource "
        f"(at most {MAX_METADATA_DEPTH} levels deep)."
    ),
]


# Labels: a small string map, indexed for queries (metadata stays free-form, unqueried).
MAX_LABELS = 16
LABEL_KEY_PATTERN = r"^[a-z][a-z0-9_.\-]{0,62}$"
LABEL_VALUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}$"
LabelKey = Annotated[str, StringConstraints(pattern=LABEL_KEY_PATTERN)]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE_PATTERN)]
Labels = Annotated[
    dict[LabelKey, LabelValue],
    Field(
        max_length=MAX_LABELS,
        description=f"At most {MAX_LABELS} pairs; keys: lower-case letters, digits, '_', '.', "
        "'-' (1-63, starting with a letter); values: letters, digits, '_', '.', ':', '@', '-' "
        "(1-128, starting alphanumeric). Set at creation; queried with label.KEY=VALUE.",
        examples=[{"customer": "c-1042", "channel": "web"}],
    ),
]


def key_hash(resource_id: str) -> int:
    """The signed 64-bit hash that leads every primary key (see spanner_ddl/0001)."""
    digest = hashlib.sha256(resource_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def new_id() -> str:
    return uuid.uuid4().hex


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Bumped whenever the canonical form changes, so stored fingerprints say how they
# were made. Stored in RequestHash (STRING(64)): "v1:" + 43 base64url characters.
FINGERPRINT_VERSION = "v1"


def request_fingerprint(
    request: BaseModel, *, exclude: set[str] | None = None, extra: dict[str, Any] | None = None
) -> str:
    """The idempotency fingerprint of what the client asked for.

    Fields left at their defaults are left out: the same request with or without an
    explicit default hashes equal, and an optional field added later (with a default
    that keeps today's behaviour) leaves every earlier fingerprint as it was. ``extra``
    adds what the request means beyond its body (e.g. an id from the path).
    """
    payload = request.model_dump(mode="json", exclude_defaults=True, exclude=exclude)
    if extra:
        payload = {**payload, "~": extra}
    digest = hashlib.sha256(canonical_json(payload).encode()).digest()
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return f"{FINGERPRINT_VERSION}:{encoded}"


def metadata_size(metadata: dict[str, Any] | None) -> int:
    return 0 if metadata is None else len(canonical_json(metadata).encode())

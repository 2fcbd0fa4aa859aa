"""The canonical bytes of what is sealed, format v1 (spec: docs/SECURITY.md, "The encoding").

A fact is one record of an account's chain: an entry, or the account's opening, closing
or reopening. Its bytes are a fixed sequence of fields, each of one of six shapes, so a
third party can rewrite the encoder from the spec in an afternoon and compare it with
tests/evidence/vectors.json. No field is ever skipped or reordered; a new field means a
new format version, written in the first byte, so old facts keep their old bytes.
"""

from __future__ import annotations

import re
import struct
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Literal

FORMAT_VERSION = 1

EntryKind = Literal["transfer", "hold", "hold_posted", "hold_voided", "hold_expired", "reversal"]
ENTRY_KINDS: tuple[EntryKind, ...] = (
    "transfer",
    "hold",
    "hold_posted",
    "hold_voided",
    "hold_expired",
    "reversal",
)
AccountChangeKind = Literal["opened", "closed", "reopened"]
ACCOUNT_CHANGE_KINDS: tuple[AccountChangeKind, ...] = ("opened", "closed", "reopened")


class Domain(IntEnum):
    """The first byte of every hashed input: bytes hashed for one purpose can never be
    taken for bytes of another (a leaf for a node, a link for a checkpoint)."""

    LEAF = 0x00
    NODE = 0x01
    GENESIS = 0x02
    LINK = 0x03
    CHECKPOINT = 0x04
    KEY = 0x05


class FactType(IntEnum):
    ENTRY = 1
    OPENED = 2
    CLOSED = 3
    REOPENED = 4


class EncodingError(ValueError):
    """A value the format cannot hold (out of range, not valid Unicode)."""


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NANOS = 1_000_000_000


class Encoder:
    """Appends fields in the format's six shapes; ``bytes()`` is the result."""

    def __init__(self, *prefix: int) -> None:
        self._parts: list[bytes] = [bytes(prefix)]

    def __bytes__(self) -> bytes:
        return b"".join(self._parts)

    def u8(self, value: int) -> Encoder:
        self._parts.append(_pack(">B", value))
        return self

    def boolean(self, value: bool) -> Encoder:
        return self.u8(1 if value else 0)

    def i64(self, value: int) -> Encoder:
        if not INT64_MIN <= value <= INT64_MAX:
            raise EncodingError(f"{value} is outside INT64")
        self._parts.append(struct.pack(">q", value))
        return self

    def u64(self, value: int) -> Encoder:
        self._parts.append(_pack(">Q", value))
        return self

    def text(self, value: str) -> Encoder:
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:
            raise EncodingError(f"{value!r} is not valid Unicode") from None
        self._parts.append(_pack(">I", len(data)))
        self._parts.append(data)
        return self

    def optional_text(self, value: str | None) -> Encoder:
        return self.u8(0) if value is None else self.u8(1).text(value)

    def optional_i64(self, value: int | None) -> Encoder:
        return self.u8(0) if value is None else self.u8(1).i64(value)

    def instant(self, at_ns: int) -> Encoder:
        """Seconds since the Unix epoch (i64, floor) and the nanoseconds past them (u32):
        Spanner's whole range (years 1-9999) at its full precision."""
        seconds, nanos = divmod(at_ns, NANOS)
        self.i64(seconds)
        self._parts.append(struct.pack(">I", nanos))
        return self

    def raw(self, value: bytes, size: int) -> Encoder:
        if len(value) != size:
            raise EncodingError(f"expected {size} bytes, got {len(value)}")
        self._parts.append(value)
        return self


def _pack(layout: str, value: int) -> bytes:
    try:
        return struct.pack(layout, value)
    except struct.error:
        raise EncodingError(f"{value} does not fit {layout}") from None


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferTerms:
    """The fields of a transfer that never change after it is written, as each of its
    entries seals them (status and posted/reversed amounts follow from the entries)."""

    debit_account_id: str
    credit_account_id: str
    amount: int
    currency: str
    reverses_transfer_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountTerms:
    """The fields of an account fixed when it is opened."""

    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    lower_bound: int | None = None
    upper_bound: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EntryFact:
    ledger: str
    account_id: str
    sequence: int
    transfer_id: str
    kind: str  # one of ENTRY_KINDS when sealed; any text when rebuilt from damaged rows
    amount: int
    pending_amount: int
    balance_after: int
    debits_after: int
    credits_after: int
    posted_at_ns: int
    transfer: TransferTerms

    @property
    def position(self) -> tuple[int, int]:
        return (self.sequence, 0)

    @property
    def at_ns(self) -> int:
        return self.posted_at_ns


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountFact:
    """An account opened (``number`` 1, ``version`` 0, with its ``terms``), closed or
    reopened: ``number`` counts the account's changes, ``version`` is how many entries
    it had when the change happened."""

    ledger: str
    account_id: str
    kind: AccountChangeKind
    number: int
    version: int
    at_ns: int
    terms: AccountTerms | None = None

    def __post_init__(self) -> None:
        if (self.kind == "opened") != (self.terms is not None):
            raise EncodingError("an account's opening, and only it, carries its terms")

    @property
    def position(self) -> tuple[int, int]:
        # After entry `version`, before entry `version + 1`; entries sit at (sequence, 0).
        return (self.version, self.number)


Fact = EntryFact | AccountFact


def encode_fact(fact: Fact) -> bytes:
    if isinstance(fact, EntryFact):
        return _encode_entry(fact)
    kind = {"opened": FactType.OPENED, "closed": FactType.CLOSED, "reopened": FactType.REOPENED}
    out = Encoder(FORMAT_VERSION, kind[fact.kind]).text(fact.ledger).text(fact.account_id)
    out.i64(fact.number).i64(fact.version).instant(fact.at_ns)
    if fact.terms is not None:
        terms = fact.terms
        out.text(terms.currency)
        out.boolean(terms.debits_must_not_exceed_credits)
        out.boolean(terms.credits_must_not_exceed_debits)
        out.optional_i64(terms.lower_bound).optional_i64(terms.upper_bound)
    return bytes(out)


def _encode_entry(fact: EntryFact) -> bytes:
    out = Encoder(FORMAT_VERSION, FactType.ENTRY).text(fact.ledger).text(fact.account_id)
    out.i64(fact.sequence).text(fact.transfer_id).text(fact.kind)
    out.i64(fact.amount).i64(fact.pending_amount).i64(fact.balance_after)
    out.i64(fact.debits_after).i64(fact.credits_after).instant(fact.posted_at_ns)
    terms = fact.transfer
    out.text(terms.debit_account_id).text(terms.credit_account_id)
    out.i64(terms.amount).text(terms.currency).optional_text(terms.reverses_transfer_id)
    return bytes(out)


# --- instants at nanosecond precision ------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


def ns_of(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime; Spanner's client hands out
    DatetimeWithNanoseconds, whose ``nanosecond`` holds what ``microsecond`` cannot."""
    if moment.tzinfo is None:
        raise EncodingError("a naive datetime has no instant")
    delta = moment - _EPOCH
    nanos = getattr(moment, "nanosecond", None)
    fraction = nanos if isinstance(nanos, int) else delta.microseconds * 1000
    return (delta.days * 86400 + delta.seconds) * NANOS + fraction


def format_instant(at_ns: int) -> str:
    """RFC 3339 in UTC with exactly nine fractional digits: one string per instant."""
    seconds, nanos = divmod(at_ns, NANOS)
    m = _EPOCH + timedelta(seconds=seconds)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{nanos:09d}Z"
    )


def parse_instant(text: str) -> int:
    match = _RFC3339.match(text)
    if match is None:
        raise EncodingError(f"{text!r} is not an RFC 3339 instant")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    seconds = timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * NANOS + int((fraction or "0").ljust(9, "0"))

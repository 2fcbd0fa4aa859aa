"""The encoding: every field is in the bytes, once, unambiguously; instants keep their
nanoseconds over Spanner's whole range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from hypothesis import given, settings
from hypothesis import strategies as st

from api.evidence.encoding import (
    AccountFact,
    Encoder,
    EncodingError,
    encode_fact,
    format_instant,
    ns_of,
    parse_instant,
)
from tests.evidence.strategies import (
    decode_fact,
    facts,
    fields_of,
    instants,
    other_value,
    replace,
    value_of,
)


@settings(deadline=None)  # a shared machine: timings vary tenfold
@given(facts)
def test_the_bytes_decode_back_to_the_fact(fact):
    # Decodable by a reader written from the spec: no two facts share their bytes.
    assert decode_fact(encode_fact(fact)) == fact


@settings(deadline=None)
@given(st.data(), facts)
def test_every_field_changes_the_bytes(data, fact):
    for name in fields_of(fact):
        value = other_value(data.draw, fact, name)
        if value == value_of(fact, name):
            continue
        assert encode_fact(replace(fact, name, value)) != encode_fact(fact), name


def test_text_is_counted_in_utf8_bytes_not_characters():
    assert bytes(Encoder().text("é")) == b"\x00\x00\x00\x02\xc3\xa9"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_numbers_outside_int64_are_refused(value):
    with pytest.raises(EncodingError):
        Encoder().i64(value)


def test_a_lone_surrogate_is_refused():
    with pytest.raises(EncodingError):
        Encoder().text("\ud800")


def test_an_opening_carries_terms_and_a_close_does_not():
    with pytest.raises(EncodingError):
        AccountFact(ledger="l", account_id="a", kind="opened", number=1, version=0, at_ns=0)


@settings(deadline=None)
@given(instants)
def test_instants_round_trip_through_rfc3339_at_nanosecond_precision(at_ns):
    text = format_instant(at_ns)
    assert len(text) == 30  # one spelling per instant: always nine fractional digits
    assert parse_instant(text) == at_ns


def test_instant_before_1970_splits_into_floor_seconds_and_positive_nanoseconds():
    assert bytes(Encoder().instant(-1)) == bytes.fromhex("ffffffffffffffff" + "3b9ac9ff")


def test_offsets_are_taken_into_account():
    assert parse_instant("2026-01-01T01:00:00.5+01:00") == parse_instant(
        "2026-01-01T00:00:00.500000000Z"
    )


def test_spanner_nanoseconds_are_kept():
    moment = DatetimeWithNanoseconds(2026, 9, 21, 14, 13, 20, nanosecond=123456789, tzinfo=UTC)
    assert format_instant(ns_of(moment)) == "2026-09-21T14:13:20.123456789Z"


def test_plain_datetimes_count_microseconds_in_any_zone():
    zone = timezone(timedelta(hours=-5))
    moment = datetime(2026, 9, 21, 9, 13, 20, 654321, tzinfo=zone)
    assert format_instant(ns_of(moment)) == "2026-09-21T14:13:20.654321000Z"


def test_a_naive_datetime_is_no_instant():
    with pytest.raises(EncodingError):
        ns_of(datetime(2026, 1, 1))

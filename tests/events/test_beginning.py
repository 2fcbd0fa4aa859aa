"""Where the relay begins: its settings, the stream's retention, and the moment a
change stream first becomes readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.api_core import exceptions as gexc
from pydantic import ValidationError

from api.events.beginning import readable_from, retention_of
from api.events.config import EventSettings

BEGAN = datetime(2026, 12, 8, 0, 48, 5, 171390, tzinfo=UTC)


def _settings(**values: object) -> EventSettings:
    return EventSettings(_env_file=None, **values)  # type: ignore[arg-type]


def test_accepting_a_gap_needs_an_instant_to_start_from() -> None:
    with pytest.raises(ValidationError, match="go together"):
        _settings(accept_gap=True)


def test_a_start_instant_alone_is_refused_since_the_relay_reads_from_the_beginning() -> None:
    with pytest.raises(ValidationError, match="go together"):
        _settings(start_at=BEGAN)


def test_a_start_instant_needs_a_zone() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        _settings(accept_gap=True, start_at=datetime(2026, 12, 8))


def test_a_region_must_look_like_one() -> None:
    with pytest.raises(ValidationError):
        _settings(pubsub_region="europe-west1.example.com")
    assert _settings(pubsub_region="europe-west1").pubsub_region == "europe-west1"


@pytest.mark.parametrize(
    ("declared", "expected"),
    [("7d", timedelta(days=7)), ("36h", timedelta(hours=36)), ("90m", timedelta(minutes=90)),
     ("3600s", timedelta(hours=1)), (None, timedelta(days=7)), ("1w", timedelta(days=7))],
)  # fmt: skip
def test_the_streams_retention_is_read_from_its_option(
    declared: str | None, expected: timedelta
) -> None:
    assert retention_of(declared) == expected


def _too_early(earliest: str) -> gexc.OutOfRange:
    return gexc.OutOfRange(
        "Specified start_timestamp is too far in the past. Please specify a start_timestamp "
        f"within the earliest read timestamp: {earliest}. Received start_timestamp: "
        "2026-12-08T00:48:05.171390+00:00."
    )


def test_a_stream_readable_a_moment_after_its_recorded_beginning_is_read_from_then() -> None:
    readable = readable_from(_too_early("2026-12-08T00:48:05.171502628+00:00"), BEGAN)

    # The next microsecond: a nanosecond instant cut to microseconds would be too early.
    assert readable == datetime(2026, 12, 8, 0, 48, 5, 171503, tzinfo=UTC)


def test_a_stream_readable_only_long_after_its_beginning_is_a_gap() -> None:
    assert readable_from(_too_early("2026-12-08T00:50:00.000000000+00:00"), BEGAN) is None


def test_an_out_of_range_without_an_earliest_instant_is_a_gap() -> None:
    assert readable_from(gexc.OutOfRange("start_timestamp is out of retention"), BEGAN) is None

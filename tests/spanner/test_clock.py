"""Bounds on Spanner's time from observed commits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud.spanner_v1 import param_types

from api.config import Settings
from api.context import RequestContext
from api.spanner.clock import MAX_AGE_SECONDS, UNCERTAINTY, SpannerClock
from api.spanner.database import SpannerDatabase
from api.storage import build_client, spanner_config
from tests.support import FakeClock

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_no_bounds_before_a_commit_was_seen() -> None:
    assert SpannerClock().at(time.monotonic()) is None


def test_a_commit_bounds_later_instants_from_both_sides() -> None:
    monotonic = FakeClock()
    clock = SpannerClock(monotonic)
    clock.observe(T0, began=100.0, returned=100.2)
    monotonic.now = 110.0
    bounds = clock.at(110.0)
    assert bounds is not None
    # Spanner's time 10 s later: at least 9.8 s past the commit (it was acknowledged at
    # 100.2), and a timestamp it assigns at most 10 s past (it began at 100.0).
    assert T0 + timedelta(seconds=9.79) < bounds.earliest <= T0 + timedelta(seconds=9.8)
    assert T0 + timedelta(seconds=10) + UNCERTAINTY <= bounds.latest
    assert bounds.latest < T0 + timedelta(seconds=10.01) + UNCERTAINTY


def test_the_newest_observation_wins() -> None:
    monotonic = FakeClock()
    clock = SpannerClock(monotonic)
    clock.observe(T0 + timedelta(seconds=5), began=105.0, returned=105.1)
    clock.observe(T0, began=100.0, returned=100.1)  # answered earlier: older news
    monotonic.now = 105.1
    bounds = clock.at(105.1)
    assert bounds is not None
    assert abs(bounds.earliest - (T0 + timedelta(seconds=5))) < timedelta(milliseconds=1)


def test_after_a_long_idle_the_bounds_are_not_guessed_but_asked_for() -> None:
    """A day after the last commit the drift allowance alone would put ``now`` ~17 s
    low: the clock gives no bounds (its caller reads Spanner's time) until it observes
    again, and then they are as tight as after any commit."""
    monotonic = FakeClock()
    clock = SpannerClock(monotonic)
    clock.observe(T0, began=monotonic.now - 0.01, returned=monotonic.now)
    monotonic.advance(24 * 3600)
    assert clock.at(monotonic.now) is None
    clock.observe_reading(T0 + timedelta(days=1), began=monotonic.now, returned=monotonic.now)
    bounds = clock.at(monotonic.now)
    assert bounds is not None
    assert bounds.latest - bounds.earliest <= 3 * UNCERTAINTY


def test_an_observation_is_used_while_it_is_recent() -> None:
    monotonic = FakeClock()
    clock = SpannerClock(monotonic)
    clock.observe(T0, began=monotonic.now - 0.01, returned=monotonic.now)
    monotonic.advance(MAX_AGE_SECONDS)
    bounds = clock.at(monotonic.now)
    assert bounds is not None
    assert bounds.latest - bounds.earliest < timedelta(milliseconds=100)


def test_a_reading_of_spanners_time_counts_its_uncertainty_both_ways() -> None:
    monotonic = FakeClock()
    clock = SpannerClock(monotonic)
    clock.observe_reading(T0, began=monotonic.now, returned=monotonic.now)
    bounds = clock.at(monotonic.now)
    assert bounds is not None
    assert bounds.earliest <= T0 - UNCERTAINTY
    assert bounds.latest >= T0 + 2 * UNCERTAINTY


def test_the_last_instant_before_a_timestamp_inverts_the_latest_bound() -> None:
    monotonic = FakeClock()
    clock = SpannerClock(monotonic)
    clock.observe(T0, began=monotonic.now - 0.02, returned=monotonic.now)
    target = T0 + timedelta(seconds=5)
    instant = clock.last_instant_before(target)
    assert instant is not None
    before, after = clock.at(instant), clock.at(instant + 0.001)
    assert before is not None and after is not None
    assert before.latest < target <= after.latest


@pytest.mark.emulator
def test_the_bounds_bracket_what_spanner_says_its_time_is(ledger_settings: Settings) -> None:
    database = SpannerDatabase(spanner_config(ledger_settings), build_client(ledger_settings))
    database.open()

    def marker(tx: object) -> None:
        tx.insert("Transfers",  # type: ignore[attr-defined]
                  ("KeyHash", "TransferId", "DebitAccountId", "CreditAccountId", "Amount",
                   "Currency", "Status", "RequestHash", "CreatedAt"),
                  [(3, f"clock-{time.time_ns()}", "a", "b", 1, "USD", "posted", "h",
                    "spanner.commit_timestamp()")])  # fmt: skip

    assert database.time_bounds(time.monotonic()) is None
    database.write(marker, budget=RequestContext.starting_now(10).budget("test"))
    time.sleep(0.2)
    before = database.time_bounds(time.monotonic())
    (row,) = database.read(
        lambda tx: tx.query(
            "SELECT CURRENT_TIMESTAMP() AS now, @x AS x", {"x": (1, param_types.INT64)}
        ),
        budget=RequestContext.starting_now(10).budget("test"),
    )
    after = database.time_bounds(time.monotonic())
    assert before is not None and after is not None
    assert before.earliest <= row["now"] <= after.latest

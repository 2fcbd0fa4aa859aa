"""Holds and Spanner's time, through ``commit_orders`` on the emulator: a worker that was
idle for long, and a :post close to a hold's expiry."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from pytest_mock import MockerFixture

from api.config import Settings
from api.context import RequestContext
from api.ledger.commit import commit_orders
from api.ledger.orders import ResolveOrder
from api.ledger.outcome import Outcome
from api.ledger.records import TransferRecord
from api.spanner.clock import TimeBounds
from api.spanner.database import SpannerDatabase
from api.spanner.tx import Tx
from api.storage import build_client, spanner_config
from api.transfers.convert import prepare
from api.transfers.schemas import TransferCreate

pytestmark = pytest.mark.emulator

Ids = Callable[[str], str]
DAY_SECONDS = 24 * 3600.0


@pytest.fixture
def database(ledger_settings: Settings) -> Iterator[SpannerDatabase]:
    """A worker's handle that has seen no commit yet."""
    handle = SpannerDatabase(spanner_config(ledger_settings), build_client(ledger_settings))
    handle.open()
    yield handle
    handle.close()


def spanner_now(database: SpannerDatabase) -> datetime:
    (row,) = database.read(
        lambda tx: tx.query("SELECT CURRENT_TIMESTAMP() AS now"),
        budget=RequestContext.starting_now(10).budget("test"),
    )
    now: datetime = row["now"]
    return now


def hold(database: SpannerDatabase, pair: tuple[str, str], hid: str, timeout: int) -> Outcome:
    request = TransferCreate(id=hid, debit_account_id=pair[0], credit_account_id=pair[1],
                             amount=5, pending=True, timeout_seconds=timeout)  # fmt: skip
    order = prepare(request, settings=Settings(_env_file=None))  # type: ignore[call-arg]
    (outcome,) = commit_orders(database, [order], RequestContext.starting_now(10).budget("test"))
    return outcome


def post(database: SpannerDatabase, hid: str) -> Outcome:
    order = ResolveOrder(hid, "post")
    (outcome,) = commit_orders(database, [order], RequestContext.starting_now(10).budget("test"))
    return outcome


def committed(outcome: Outcome) -> TransferRecord:
    assert outcome.error is None, outcome.error
    assert outcome.transfer is not None
    return outcome.transfer


def test_after_a_long_idle_a_new_hold_lives_its_whole_timeout(
    database: SpannerDatabase, pair: tuple[str, str], unique: Ids
) -> None:
    # What a worker knows after a day without writes: its last commit, a day ago.
    day_ago = spanner_now(database) - timedelta(seconds=DAY_SECONDS)
    returned = time.monotonic() - DAY_SECONDS
    database.clock.observe(day_ago, began=returned - 0.01, returned=returned)

    hid = unique("h")
    created = committed(hold(database, pair, hid, timeout=10))
    assert created.expires_at is not None and created.created_at is not None
    # Not ~17 s early (the drift a day allows): Spanner's time was asked again.
    assert created.expires_at > created.created_at + timedelta(seconds=9)
    assert committed(post(database, hid)).status == "posted"


def test_a_post_close_to_expiry_commits_within_a_budget_cut_to_end_before_it(
    database: SpannerDatabase, pair: tuple[str, str], unique: Ids, mocker: MockerFixture
) -> None:
    hid = unique("h")
    expires_at = committed(hold(database, pair, hid, timeout=5)).expires_at
    assert expires_at is not None
    # The bounds as the cut was made: the commit after it is a newer observation.
    bounds_at_cut: list[TimeBounds | None] = []
    cut_deadline = Tx.cut_deadline

    def cut(tx: Tx, deadline: float) -> None:
        bounds_at_cut.append(database.clock.at(deadline))
        cut_deadline(tx, deadline)

    mocker.patch.object(Tx, "cut_deadline", cut)
    # The request's budget (10 s) outlasts the hold (5 s): posted all the same, with a
    # commit that had to land before expires_at.
    assert committed(post(database, hid)).status == "posted"
    (bounds,) = bounds_at_cut
    assert bounds is not None and bounds.latest < expires_at


def test_a_post_with_the_whole_budget_before_expiry_is_not_cut(
    database: SpannerDatabase, pair: tuple[str, str], unique: Ids, mocker: MockerFixture
) -> None:
    hid = unique("h")
    committed(hold(database, pair, hid, timeout=3600))
    cut = mocker.spy(Tx, "cut_deadline")
    assert committed(post(database, hid)).status == "posted"
    assert cut.call_count == 0

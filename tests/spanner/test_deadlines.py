"""Every Spanner RPC is bounded by the deadline of the work it serves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.api_core import gapic_v1
from google.cloud.spanner_v1.services.spanner import SpannerClient
from pytest_mock import MockerFixture

from api.config import Settings
from api.context import RequestContext
from api.spanner.database import SpannerDatabase
from api.spanner.deadlines import bind_deadlines, bounded_by, cut_to
from api.spanner.errors import DeadlinePassed, SessionsExhausted
from api.storage import build_client, spanner_config


class FakeApi:
    """The shape of a generated SpannerClient method: retry and timeout keywords."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failures = list(failures or [])

    def commit(self, request: Any = None, *, retry: Any = gapic_v1.method.DEFAULT,
               timeout: Any = gapic_v1.method.DEFAULT, metadata: Any = ()) -> str:  # fmt: skip
        self.calls.append({"retry": retry, "timeout": timeout})
        if self.failures:
            raise self.failures.pop(0)
        return "committed"


def bound(api: FakeApi) -> FakeApi:
    for name in ("batch_create_sessions", "create_session", "get_session", "delete_session",
                 "begin_transaction", "rollback", "execute_sql", "read", "execute_batch_dml",
                 "execute_streaming_sql", "streaming_read"):  # fmt: skip
        setattr(api, name, api.commit)
    bind_deadlines(api, background_seconds=30)
    return api


def test_a_commit_gets_what_is_left_of_the_deadline_and_no_library_retry() -> None:
    api = bound(FakeApi())
    with bounded_by(time.monotonic() + 0.5):
        assert api.commit(request="r") == "committed"
    (call,) = api.calls
    assert call["retry"] is None
    assert 0 < call["timeout"] <= 0.5


def test_a_cut_deadline_bounds_the_rpcs_after_it_until_the_work_ends() -> None:
    api = bound(FakeApi())
    with bounded_by(time.monotonic() + 30):
        cut_to(time.monotonic() + 0.5)
        cut_to(time.monotonic() + 20)  # a later cut never widens it
        api.commit()
    with bounded_by(time.monotonic() + 30):
        api.commit()
    cut, next_work = (call["timeout"] for call in api.calls)
    assert 0 < cut <= 0.5
    assert next_work > 29


def test_outside_any_work_the_background_budget_applies() -> None:
    api = bound(FakeApi())
    api.commit()
    assert 0 < api.calls[0]["timeout"] <= 30


def test_unavailable_is_retried_only_while_the_deadline_allows() -> None:
    api = bound(FakeApi([gexc.ServiceUnavailable("down")] * 1000))
    started = time.monotonic()
    with pytest.raises(gexc.ServiceUnavailable), bounded_by(started + 0.3):
        api.commit()
    assert time.monotonic() - started < 0.3 + 0.5
    assert len(api.calls) > 1


def test_unavailable_then_success_commits() -> None:
    api = bound(FakeApi([gexc.ServiceUnavailable("blip")]))
    with bounded_by(time.monotonic() + 5):
        assert api.commit() == "committed"
    assert len(api.calls) == 2


def test_no_rpc_starts_after_the_deadline() -> None:
    api = bound(FakeApi())
    with pytest.raises(DeadlinePassed), bounded_by(time.monotonic() - 0.01):
        api.commit()
    assert api.calls == []


@pytest.mark.emulator
def test_the_commit_of_a_real_transaction_carries_the_request_budget(
    ledger_settings: Settings, mocker: MockerFixture, unique: Callable[[str], str]
) -> None:
    seen: list[Any] = []
    real_commit = SpannerClient.commit

    def commit(self: SpannerClient, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("timeout"))
        return real_commit(self, *args, **kwargs)

    mocker.patch.object(SpannerClient, "commit", autospec=True, side_effect=commit)
    database = SpannerDatabase(spanner_config(ledger_settings), build_client(ledger_settings))
    database.open()

    def work(tx: Any) -> None:
        tx.insert("Transfers",
                  ("KeyHash", "TransferId", "DebitAccountId", "CreditAccountId", "Amount",
                   "Currency", "Status", "RequestHash", "CreatedAt"),
                  [(7, unique("deadline"), "a", "b", 1, "USD", "posted", "h",
                    "spanner.commit_timestamp()")])  # fmt: skip

    database.write(work, budget=RequestContext.starting_now(2.0).budget("test"))
    assert seen
    assert all(isinstance(t, float) and 0 < t <= 2.0 for t in seen)


@pytest.mark.emulator
def test_an_exhausted_pool_fails_transiently_within_the_deadline(
    ledger_settings: Settings,
) -> None:
    settings = ledger_settings.model_copy(update={"pool_size": 1, "max_inflight_writes": None})
    database = SpannerDatabase(spanner_config(settings), build_client(settings))
    database.open()
    with database._sessions.session(time.monotonic() + 5):  # the only session is taken
        started = time.monotonic()
        with pytest.raises(SessionsExhausted):
            database.read(
                lambda tx: tx.query("SELECT 1"), budget=RequestContext.starting_now(0.3).budget("t")
            )
        assert time.monotonic() - started < 0.3 + 1.0

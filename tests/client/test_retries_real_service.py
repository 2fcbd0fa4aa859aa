"""Which answers of the real service the client retries, and which it never does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from ledger_client import BadRequest, Conflict, LedgerClient, RateLimited, RetryEvent, RetryPolicy

if TYPE_CHECKING:
    from tests.conftest import LiveServer


def recording(events: list[RetryEvent], **overrides: float) -> RetryPolicy:
    return RetryPolicy(on_retry=events.append, base=0.01, cap=0.05, **overrides)  # type: ignore[arg-type]


def test_rate_limited_calls_wait_for_retry_after(
    live_server_factory: Callable[..., LiveServer], unique: Callable[[str], str]
) -> None:
    server = live_server_factory(rate_limit_per_second=1, rate_limit_burst=1)
    events: list[RetryEvent] = []
    with LedgerClient(server.url, retry=recording(events)) as ledger:
        account = ledger.open_account("USD", id=unique("rl"))
        for _ in range(2):
            assert ledger.get_account(account.id).id == account.id
    assert {e.reason for e in events} == {"status 429"}
    assert all(e.delay >= 1.0 for e in events)  # the service's Retry-After: 1


def test_rate_limited_past_the_deadline_raises(
    live_server_factory: Callable[..., LiveServer], unique: Callable[[str], str]
) -> None:
    server = live_server_factory(rate_limit_per_second=0.01, rate_limit_burst=1)
    events: list[RetryEvent] = []
    with LedgerClient(server.url, retry=recording(events, deadline=2.0)) as ledger:
        ledger.open_account("USD", id=unique("rl"))
        with pytest.raises(RateLimited) as caught:
            ledger.get_account("anything")
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 2.0


def test_a_conflict_is_never_retried(ledger: LedgerClient, unique: Callable[[str], str]) -> None:
    events: list[RetryEvent] = []
    account = ledger.open_account("USD", id=unique("c"))
    ledger.close_account(account.id)
    other = ledger.open_account("USD", id=unique("d"))
    with LedgerClient(ledger.url, retry=recording(events)) as retrying, pytest.raises(Conflict):
        retrying.create_transfer(debit_account_id=other.id, credit_account_id=account.id, amount=1)
    assert events == []


def test_a_validation_error_is_never_retried(ledger: LedgerClient) -> None:
    events: list[RetryEvent] = []
    with (
        LedgerClient(ledger.url, retry=recording(events)) as retrying,
        pytest.raises(BadRequest, match="validation_error"),
    ):
        retrying.open_account("lower")
    assert events == []


def test_connection_refused_is_retried_then_raised() -> None:
    from ledger_client import TransportError  # noqa: PLC0415

    from devtools.emulator import free_port  # noqa: PLC0415

    events: list[RetryEvent] = []
    with (
        LedgerClient(
            f"http://127.0.0.1:{free_port()}", retry=recording(events, max_attempts=3)
        ) as ledger,
        pytest.raises(TransportError) as caught,
    ):
        ledger.get_account("x")
    assert caught.value.attempts == 3
    assert [e.reason for e in events] == ["ConnectError", "ConnectError"]

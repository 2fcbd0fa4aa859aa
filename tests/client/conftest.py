"""The client against the real service: ``ledger`` is a LedgerClient on the run's shared
live server (real HTTP, real emulator), with retries off so a failure shows at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from ledger_client import LedgerClient, RetryPolicy
from ledger_client.models import AccountFlags

if TYPE_CHECKING:
    from tests.conftest import LiveServer


@pytest.fixture
def ledger(live_server: LiveServer) -> Iterator[LedgerClient]:
    with LedgerClient(live_server.url, retry=RetryPolicy(max_attempts=1)) as client:
        yield client


@pytest.fixture
def funded(ledger: LedgerClient, unique: Callable[[str], str]) -> Callable[[int], tuple[str, str]]:
    """``funded(amount)``: a new bank account and a wallet it paid ``amount``."""

    def make(amount: int) -> tuple[str, str]:
        bank = ledger.open_account("USD", id=unique("bank")).id
        wallet = ledger.open_account(
            "USD", id=unique("wallet"), flags=AccountFlags(debits_must_not_exceed_credits=True)
        ).id
        ledger.create_transfer(debit_account_id=bank, credit_account_id=wallet, amount=amount)
        return bank, wallet

    return make


# The fault harness (the service as a real uvicorn process, its Spanner link through a
# FaultProxy) is tests/faults/'s; the retry tests here reuse it as it is.
from tests.faults.conftest import proxy, start_fault_server  # noqa: E402, F401

"""The asyncio client against the real service (each test runs its own event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from ledger_client import AsyncLedgerClient, Conflict, RetryPolicy

if TYPE_CHECKING:
    from tests.conftest import LiveServer


def run(live_server: LiveServer, scenario: Callable[[AsyncLedgerClient], object]) -> object:
    async def main() -> object:
        retry = RetryPolicy(max_attempts=1)
        async with AsyncLedgerClient(live_server.url, retry=retry) as ledger:
            return await scenario(ledger)  # type: ignore[misc]

    return asyncio.run(main())


def test_open_transfer_and_read_back(live_server: LiveServer, unique: Callable[[str], str]) -> None:
    async def scenario(ledger: AsyncLedgerClient) -> list[int]:
        a = await ledger.open_account("USD", id=unique("a"))
        b = await ledger.open_account("USD", id=unique("b"))
        await ledger.create_transfer(debit_account_id=a.id, credit_account_id=b.id, amount=9)
        return [x.balance for x in (await ledger.balances([a.id, b.id])).balances]

    assert run(live_server, scenario) == [-9, 9]


def test_concurrent_transfers_all_land(
    live_server: LiveServer, unique: Callable[[str], str]
) -> None:
    async def scenario(ledger: AsyncLedgerClient) -> int:
        a = await ledger.open_account("USD", id=unique("a"))
        b = await ledger.open_account("USD", id=unique("b"))
        await asyncio.gather(
            *(
                ledger.create_transfer(debit_account_id=a.id, credit_account_id=b.id, amount=1)
                for _ in range(10)
            )
        )
        return (await ledger.get_account(b.id)).balance

    assert run(live_server, scenario) == 10


def test_async_iterator_follows_pages(
    live_server: LiveServer, unique: Callable[[str], str]
) -> None:
    async def scenario(ledger: AsyncLedgerClient) -> list[int]:
        a = await ledger.open_account("USD", id=unique("a"))
        b = await ledger.open_account("USD", id=unique("b"))
        for amount in (1, 2, 3):
            await ledger.create_transfer(
                debit_account_id=a.id, credit_account_id=b.id, amount=amount
            )
        return [e.amount async for e in ledger.iter_entries(b.id, page_size=1)]

    assert run(live_server, scenario) == [3, 2, 1]


def test_problem_raised(live_server: LiveServer, unique: Callable[[str], str]) -> None:
    async def scenario(ledger: AsyncLedgerClient) -> None:
        a = await ledger.open_account("USD", id=unique("a"))
        await ledger.close_account(a.id)
        b = await ledger.open_account("USD", id=unique("b"))
        await ledger.create_transfer(debit_account_id=b.id, credit_account_id=a.id, amount=1)

    with pytest.raises(Conflict) as caught:
        run(live_server, scenario)
    assert caught.value.code == "account_closed"

"""The API's operations as methods of both clients, each written once.

``Endpoint(calls.open_account)`` on a class is a method with ``open_account``'s
signature that sends its call: on a ``SyncTransport`` (``LedgerClient``) it answers the
result, on an ``AsyncTransport`` (``AsyncLedgerClient``) an awaitable of it. ``Paged``
does the same for iterating every item of a paginated list, following
``next_page_token``. The descriptors know the two transports, never the clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from ledger_client import calls
from ledger_client import models as m
from ledger_client.transport import AsyncTransport, SyncTransport

P = ParamSpec("P")
T = TypeVar("T")
I_co = TypeVar("I_co", covariant=True)
I = TypeVar("I")  # noqa: E741 - an item


class Page(Protocol[I_co]):
    @property
    def items(self) -> Sequence[I_co]: ...

    @property
    def next_page_token(self) -> str | None: ...


class Endpoint(Generic[P, T]):
    def __init__(self, build: Callable[P, calls.Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type) -> Endpoint[P, T]: ...
    @overload
    def __get__(self, obj: SyncTransport, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncTransport, owner: type) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        build = self.build
        if isinstance(obj, AsyncTransport):

            async def send_async(*args: P.args, **kwargs: P.kwargs) -> T:
                result: T = await obj.send(build(*args, **kwargs))
                return result

            return send_async

        def send(*args: P.args, **kwargs: P.kwargs) -> T:
            result: T = obj.send(build(*args, **kwargs))
            return result

        return send


class Paged(Generic[P, I]):
    """Every item of a list, page after page (the builder's ``page_token`` is set)."""

    def __init__(self, build: Callable[P, calls.Call[Page[I]]]) -> None:
        self.build = build

    @overload
    def __get__(self, obj: None, owner: type) -> Paged[P, I]: ...
    @overload
    def __get__(self, obj: SyncTransport, owner: type) -> Callable[P, Iterator[I]]: ...
    @overload
    def __get__(self, obj: AsyncTransport, owner: type) -> Callable[P, AsyncIterator[I]]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        build: Callable[..., calls.Call[Page[I]]] = self.build
        if isinstance(obj, AsyncTransport):

            async def iterate_async(*args: Any, **kwargs: Any) -> AsyncIterator[I]:
                token = kwargs.pop("page_token", None)
                while True:
                    page: Page[I] = await obj.send(build(*args, page_token=token, **kwargs))
                    for item in page.items:
                        yield item
                    token = page.next_page_token
                    if not token:
                        return

            return iterate_async

        def iterate(*args: Any, **kwargs: Any) -> Iterator[I]:
            token = kwargs.pop("page_token", None)
            while True:
                page: Page[I] = obj.send(build(*args, page_token=token, **kwargs))
                yield from page.items
                token = page.next_page_token
                if not token:
                    return

        return iterate


# Wrapped so each Paged sees a builder answering a Page (the models are Pages).
def _paged(build: Callable[P, calls.Call[Any]], _item: type[I]) -> Paged[P, I]:
    return Paged(build)


class Operations:
    """Every operation of the API; mixed into both clients."""

    open_account = Endpoint(calls.open_account)
    get_account = Endpoint(calls.get_account)
    get_account_at = Endpoint(calls.get_account_at)
    list_accounts = Endpoint(calls.list_accounts)
    close_account = Endpoint(calls.close_account)
    reopen_account = Endpoint(calls.reopen_account)
    list_entries = Endpoint(calls.list_entries)
    statement = Endpoint(calls.statement)
    balances = Endpoint(calls.balances)
    balances_at = Endpoint(calls.balances_at)
    create_transfer = Endpoint(calls.create_transfer)
    get_transfer = Endpoint(calls.get_transfer)
    list_transfers = Endpoint(calls.list_transfers)
    post_transfer = Endpoint(calls.post_transfer)
    void_transfer = Endpoint(calls.void_transfer)
    reverse_transfer = Endpoint(calls.reverse_transfer)
    expire_holds = Endpoint(calls.expire_holds)
    batch = Endpoint(calls.batch)
    create_transaction = Endpoint(calls.create_transaction)
    get_transaction = Endpoint(calls.get_transaction)
    post_transaction = Endpoint(calls.post_transaction)
    void_transaction = Endpoint(calls.void_transaction)
    reverse_transaction = Endpoint(calls.reverse_transaction)
    list_events = Endpoint(calls.list_events)

    iter_accounts = _paged(calls.list_accounts, m.Account)
    iter_entries = _paged(calls.list_entries, m.Entry)
    iter_transfers = _paged(calls.list_transfers, m.Transfer)

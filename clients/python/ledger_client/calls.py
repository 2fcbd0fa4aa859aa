"""Every operation of the API as a ``Call``: what to send and how to read the answer.

One function per operation builds its call; the sync and async clients only send them
(``ledger_client.endpoints``), so an operation is written once. ``ROUTES`` lists every
route the client speaks, with its request and response models: a test compares it with
the OpenAPI document the service serves.

Writes always carry a client id: one is generated here, once per call, when the caller
gives none, so every attempt of a retried call sends the same body and the service
applies it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from ledger_client import models as m

T = TypeVar("T")
Instant = datetime | str


@dataclass(frozen=True, slots=True)
class Route:
    method: Literal["GET", "POST"]
    path: str  # as in the OpenAPI document: /v1/accounts/{account_id}:close
    request: type[BaseModel] | None
    responses: tuple[type[BaseModel], ...]

    def url(self, **ids: str) -> str:
        # Ids are one path segment; '~' (leg ids) is unreserved and stays as is.
        return self.path.format(**{name: quote(v, safe="~") for name, v in ids.items()})


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    params: tuple[tuple[str, str], ...] = ()
    body: BaseModel | None = None

    def json(self) -> Any:
        if self.body is None:
            return None
        return self.body.model_dump(mode="json", by_alias=True, exclude_none=True)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def _instant(value: Instant) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


def _query(
    *, labels: Mapping[str, str] | None = None, **values: object
) -> tuple[tuple[str, str], ...]:
    """Query parameters without the absent ones; ``from_`` is sent as ``from``."""
    params: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        text = _instant(value) if isinstance(value, datetime) else str(value)
        params.append((name.rstrip("_"), text))
    params.extend((f"label.{key}", value) for key, value in (labels or {}).items())
    return tuple(params)


def _call(
    route: Route,
    parse: Callable[[Any], T],
    *,
    ids: Mapping[str, str] | None = None,
    params: tuple[tuple[str, str], ...] = (),
    body: BaseModel | None = None,
) -> Call[T]:
    return Call(route.method, route.url(**(ids or {})), parse, params, body)


# --- the routes -----------------------------------------------------------------------

OPEN_ACCOUNT = Route("POST", "/v1/accounts", m.AccountCreate, (m.Account,))
LIST_ACCOUNTS = Route("GET", "/v1/accounts", None, (m.AccountPage,))
GET_ACCOUNT = Route("GET", "/v1/accounts/{account_id}", None, (m.Account, m.AccountBalanceAt))
CLOSE_ACCOUNT = Route("POST", "/v1/accounts/{account_id}:close", None, (m.Account,))
REOPEN_ACCOUNT = Route("POST", "/v1/accounts/{account_id}:reopen", None, (m.Account,))
LIST_ENTRIES = Route("GET", "/v1/accounts/{account_id}/entries", None, (m.EntryPage,))
STATEMENT = Route("GET", "/v1/accounts/{account_id}/statement", None, (m.Statement,))
BALANCES = Route("GET", "/v1/balances", None, (m.BalanceSnapshot, m.BalanceSnapshotAt))
CREATE_TRANSFER = Route("POST", "/v1/transfers", m.TransferCreate, (m.Transfer,))
LIST_TRANSFERS = Route("GET", "/v1/transfers", None, (m.TransferPage,))
GET_TRANSFER = Route("GET", "/v1/transfers/{transfer_id}", None, (m.Transfer,))
BATCH = Route("POST", "/v1/transfers:batch", m.TransferBatchCreate, (m.TransferBatchResult,))
POST_TRANSFER = Route("POST", "/v1/transfers/{transfer_id}:post", m.TransferPost, (m.Transfer,))
VOID_TRANSFER = Route("POST", "/v1/transfers/{transfer_id}:void", m.TransferVoid, (m.Transfer,))
REVERSE_TRANSFER = Route(
    "POST", "/v1/transfers/{transfer_id}:reverse", m.TransferReverse, (m.Transfer,)
)
EXPIRE_HOLDS = Route("POST", "/v1/transfers:expire", None, (m.ExpirySweep,))
CREATE_TRANSACTION = Route("POST", "/v1/transactions", m.TransactionCreate, (m.Transaction,))
GET_TRANSACTION = Route("GET", "/v1/transactions/{transaction_id}", None, (m.Transaction,))
POST_TRANSACTION = Route(
    "POST", "/v1/transactions/{transaction_id}:post", m.TransactionPost, (m.Transaction,)
)
VOID_TRANSACTION = Route(
    "POST", "/v1/transactions/{transaction_id}:void", m.TransactionVoid, (m.Transaction,)
)
REVERSE_TRANSACTION = Route(
    "POST", "/v1/transactions/{transaction_id}:reverse", m.TransactionReverse, (m.Transaction,)
)
LIST_EVENTS = Route("GET", "/v1/events", None, (m.EventPage,))

ROUTES: tuple[Route, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Route))


# --- accounts -------------------------------------------------------------------------


def open_account(
    currency: str,
    *,
    id: str | None = None,
    flags: m.AccountFlags | None = None,
    bounds: m.BalanceBounds | None = None,
    metadata: m.Metadata | None = None,
    labels: m.Labels | None = None,
) -> Call[m.Account]:
    """Open an account. Without ``id`` one is generated, so a retry cannot open two."""
    body = m.AccountCreate(
        id=id or new_id("acct"),
        currency=currency,
        flags=flags or m.AccountFlags(),
        bounds=bounds or m.BalanceBounds(),
        metadata=metadata,
        labels=labels,
    )
    return _call(OPEN_ACCOUNT, m.Account.model_validate, body=body)


def get_account(account_id: str) -> Call[m.Account]:
    return _call(GET_ACCOUNT, m.Account.model_validate, ids={"account_id": account_id})


def get_account_at(account_id: str, as_of: Instant) -> Call[m.AccountBalanceAt]:
    """The account's posted balance at a past instant."""
    return _call(
        GET_ACCOUNT,
        m.AccountBalanceAt.model_validate,
        ids={"account_id": account_id},
        params=_query(as_of=as_of),
    )


def list_accounts(
    *,
    currency: str | None = None,
    labels: Mapping[str, str] | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    max_staleness: float | None = None,
) -> Call[m.AccountPage]:
    params = _query(
        currency=currency,
        labels=labels,
        page_size=page_size,
        page_token=page_token,
        max_staleness=max_staleness,
    )
    return _call(LIST_ACCOUNTS, m.AccountPage.model_validate, params=params)


def close_account(account_id: str) -> Call[m.Account]:
    return _call(CLOSE_ACCOUNT, m.Account.model_validate, ids={"account_id": account_id})


def reopen_account(account_id: str) -> Call[m.Account]:
    return _call(REOPEN_ACCOUNT, m.Account.model_validate, ids={"account_id": account_id})


def list_entries(
    account_id: str,
    *,
    from_: Instant | None = None,
    to: Instant | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    max_staleness: float | None = None,
) -> Call[m.EntryPage]:
    """The account's entries, newest first; ``from_``/``to``: posted in [from, to)."""
    params = _query(
        from_=from_, to=to, page_size=page_size, page_token=page_token, max_staleness=max_staleness
    )
    return _call(
        LIST_ENTRIES, m.EntryPage.model_validate, ids={"account_id": account_id}, params=params
    )


def statement(
    account_id: str,
    *,
    from_: Instant,
    to: Instant | None = None,
    max_staleness: float | None = None,
) -> Call[m.Statement]:
    params = _query(from_=from_, to=to, max_staleness=max_staleness)
    return _call(
        STATEMENT, m.Statement.model_validate, ids={"account_id": account_id}, params=params
    )


def balances(
    account_ids: Sequence[str], *, max_staleness: float | None = None
) -> Call[m.BalanceSnapshot]:
    """Many balances from one snapshot."""
    params = _query(account_ids=",".join(account_ids), max_staleness=max_staleness)
    return _call(BALANCES, m.BalanceSnapshot.model_validate, params=params)


def balances_at(account_ids: Sequence[str], as_of: Instant) -> Call[m.BalanceSnapshotAt]:
    """Posted balances at a past instant: one exact cut."""
    params = _query(account_ids=",".join(account_ids), as_of=as_of)
    return _call(BALANCES, m.BalanceSnapshotAt.model_validate, params=params)


# --- transfers ------------------------------------------------------------------------


def create_transfer(
    *,
    debit_account_id: str,
    credit_account_id: str,
    amount: int,
    id: str | None = None,
    currency: str | None = None,
    metadata: m.Metadata | None = None,
    labels: m.Labels | None = None,
    pending: bool = False,
    timeout_seconds: int | None = None,
) -> Call[m.Transfer]:
    """A transfer (``pending=True``: a hold). Give your own ``id`` to be able to send it
    again later; without one, one is generated for this call's attempts."""
    body = m.TransferCreate(
        id=id or new_id("tr"),
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=amount,
        currency=currency,
        metadata=metadata,
        labels=labels,
        pending=pending,
        timeout_seconds=timeout_seconds,
    )
    return _call(CREATE_TRANSFER, m.Transfer.model_validate, body=body)


def get_transfer(transfer_id: str) -> Call[m.Transfer]:
    return _call(GET_TRANSFER, m.Transfer.model_validate, ids={"transfer_id": transfer_id})


def list_transfers(
    *,
    account_id: str | None = None,
    status: m.TransferStatus | None = None,
    created_from: Instant | None = None,
    created_to: Instant | None = None,
    transaction_id: str | None = None,
    labels: Mapping[str, str] | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    max_staleness: float | None = None,
) -> Call[m.TransferPage]:
    """Query transfers, newest first."""
    params = _query(
        account_id=account_id,
        status=status,
        created_from=created_from,
        created_to=created_to,
        transaction_id=transaction_id,
        labels=labels,
        page_size=page_size,
        page_token=page_token,
        max_staleness=max_staleness,
    )
    return _call(LIST_TRANSFERS, m.TransferPage.model_validate, params=params)


def post_transfer(transfer_id: str, *, amount: int | None = None) -> Call[m.Transfer]:
    """Settle a hold: all of it, or ``amount`` of it. Repeating it gives the same answer."""
    return _call(
        POST_TRANSFER,
        m.Transfer.model_validate,
        ids={"transfer_id": transfer_id},
        body=m.TransferPost(amount=amount),
    )


def void_transfer(transfer_id: str) -> Call[m.Transfer]:
    return _call(
        VOID_TRANSFER,
        m.Transfer.model_validate,
        ids={"transfer_id": transfer_id},
        body=m.TransferVoid(),
    )


def reverse_transfer(
    transfer_id: str,
    *,
    id: str | None = None,
    amount: int | None = None,
    metadata: m.Metadata | None = None,
) -> Call[m.Transfer]:
    """Move (part of) a posted transfer back; ``id`` is the reversal's own."""
    body = m.TransferReverse(id=id or new_id("rev"), amount=amount, metadata=metadata)
    return _call(
        REVERSE_TRANSFER, m.Transfer.model_validate, ids={"transfer_id": transfer_id}, body=body
    )


def expire_holds() -> Call[m.ExpirySweep]:
    return _call(EXPIRE_HOLDS, m.ExpirySweep.model_validate)


def batch(items: Iterable[m.BatchItem], *, atomic: bool = False) -> Call[m.TransferBatchResult]:
    """Up to 1,000 transfers, holds, calls on them and transactions, in order."""
    body = m.TransferBatchCreate(transfers=list(items), atomic=atomic)
    return _call(BATCH, m.TransferBatchResult.model_validate, body=body)


# --- transactions ---------------------------------------------------------------------


def create_transaction(
    legs: Sequence[m.LegCreate],
    *,
    id: str | None = None,
    metadata: m.Metadata | None = None,
    labels: m.Labels | None = None,
    pending: bool = False,
    timeout_seconds: int | None = None,
) -> Call[m.Transaction]:
    body = m.TransactionCreate(
        id=id or new_id("tx"),
        legs=list(legs),
        metadata=metadata,
        labels=labels,
        pending=pending,
        timeout_seconds=timeout_seconds,
    )
    return _call(CREATE_TRANSACTION, m.Transaction.model_validate, body=body)


def get_transaction(transaction_id: str) -> Call[m.Transaction]:
    return _call(
        GET_TRANSACTION, m.Transaction.model_validate, ids={"transaction_id": transaction_id}
    )


def post_transaction(transaction_id: str) -> Call[m.Transaction]:
    return _call(
        POST_TRANSACTION,
        m.Transaction.model_validate,
        ids={"transaction_id": transaction_id},
        body=m.TransactionPost(),
    )


def void_transaction(transaction_id: str) -> Call[m.Transaction]:
    return _call(
        VOID_TRANSACTION,
        m.Transaction.model_validate,
        ids={"transaction_id": transaction_id},
        body=m.TransactionVoid(),
    )


def reverse_transaction(
    transaction_id: str,
    *,
    id: str | None = None,
    metadata: m.Metadata | None = None,
) -> Call[m.Transaction]:
    body = m.TransactionReverse(id=id or new_id("rev"), metadata=metadata)
    return _call(
        REVERSE_TRANSACTION,
        m.Transaction.model_validate,
        ids={"transaction_id": transaction_id},
        body=body,
    )


# --- events ---------------------------------------------------------------------------


def list_events(*, after: str | None = None, limit: int | None = None) -> Call[m.EventPage]:
    """One page of the change feed after ``after`` (absent: the start of retention)."""
    return _call(LIST_EVENTS, m.EventPage.model_validate, params=_query(after=after, limit=limit))

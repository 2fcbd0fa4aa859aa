"""Accounts: each function owns its one Spanner transaction or snapshot."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from api.accounts import entries_repository, repository
from api.accounts.entries_repository import BalanceAt, StatementTotals
from api.accounts.errors import AccountHasPending
from api.accounts.model import AccountRecord, entry_to_schema
from api.accounts.schemas import (
    Account,
    AccountBalanceAt,
    AccountCreate,
    AccountPage,
    EntryPage,
    Statement,
)
from api.config import Settings
from api.context import RequestContext
from api.errors import IdempotencyConflict
from api.ids import new_id, request_fingerprint
from api.instants import InstantInFuture, check_not_future, check_range, with_zone
from api.ledger.errors import AccountNotFound
from api.ledger.records import EntryRecord
from api.limits import check_metadata
from api.pagination import TokenSigner, query_name
from api.spanner.tx import PRIORITY_LOW, Tx
from api.storage import DatabaseHandles


def open_account(
    *, databases: DatabaseHandles, settings: Settings, ctx: RequestContext, request: AccountCreate
) -> tuple[Account, bool]:
    """Open an account. Returns it and whether this call created it (False: replay)."""
    check_metadata(request.metadata, max_bytes=settings.metadata_max_bytes)
    account_id = request.id or new_id()
    request_hash = request_fingerprint(request, exclude={"id"})

    def work(tx: Tx) -> tuple[AccountRecord, bool]:
        existing = repository.read_account(tx, account_id)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyConflict(
                    f"Account id {account_id!r} is already used by a different account."
                )
            return existing, False
        account = AccountRecord(
            id=account_id,
            currency=request.currency,
            debits_must_not_exceed_credits=request.flags.debits_must_not_exceed_credits,
            credits_must_not_exceed_debits=request.flags.credits_must_not_exceed_debits,
            metadata=request.metadata,
            debits_posted=0,
            credits_posted=0,
            debits_pending=0,
            credits_pending=0,
            version=0,
            request_hash=request_hash,
            created_at=None,
            updated_at=None,
            lower_bound=request.bounds.lower,
            upper_bound=request.bounds.upper,
            labels=request.labels,
        )
        repository.insert_account(tx, account)
        return account, True

    committed = databases.writer.write(work, budget=ctx.budget("accounts.create"))
    account, created = committed.value
    return account.to_schema(commit_timestamp=committed.commit_timestamp), created


def set_closed(
    *, databases: DatabaseHandles, ctx: RequestContext, account_id: str, closed: bool
) -> Account:
    """Close or reopen an account; doing it again changes nothing and answers the same.

    An account with open holds cannot be closed: they would settle into an account
    that takes no transfers.
    """

    def work(tx: Tx) -> AccountRecord:
        account = repository.read_account(tx, account_id)
        if account is None:
            raise AccountNotFound(f"Account {account_id!r} does not exist.")
        if account.closed == closed:
            return account
        if closed and (account.debits_pending or account.credits_pending):
            raise AccountHasPending(
                f"Account {account_id!r} has open holds ({account.debits_pending} debit, "
                f"{account.credits_pending} credit); post or void them first."
            )
        changed = dataclasses.replace(account, closed=closed, updated_at=None)  # this commit's
        repository.update_status(tx, changed)
        return changed

    committed = databases.writer.write(
        work, budget=ctx.budget("accounts.close" if closed else "accounts.reopen")
    )
    account = committed.value
    if account.updated_at is None:
        account = dataclasses.replace(account, updated_at=committed.commit_timestamp)
    return account.to_schema()


def get_account(*, databases: DatabaseHandles, ctx: RequestContext, account_id: str) -> Account:
    account = databases.reader.read(
        lambda tx: repository.read_account(tx, account_id), budget=ctx.budget("accounts.get")
    )
    if account is None:
        raise AccountNotFound(f"Account {account_id!r} does not exist.")
    return account.to_schema()


def list_accounts(
    *,
    databases: DatabaseHandles,
    ctx: RequestContext,
    signer: TokenSigner,
    page_size: int,
    page_token: str | None,
    currency: str | None,
    labels: dict[str, str] | None = None,
    staleness: timedelta | None = None,
) -> AccountPage:
    query = query_name(list="accounts", currency=currency, labels=labels or {})
    after = None
    if page_token:
        key_hash, account_id = signer.open(page_token, query, types=(int, str))
        after = (key_hash, account_id)
    # One extra row tells whether another page exists without a second query.
    rows, read_timestamp = databases.reader.read_at(
        lambda tx: repository.list_accounts(
            tx, limit=page_size + 1, after=after, currency=currency, labels=labels
        ),
        budget=ctx.budget("accounts.list"),
        priority=PRIORITY_LOW,
        staleness=staleness,
    )
    page, more = rows[:page_size], len(rows) > page_size
    next_token = signer.sign(query, *_position(page[-1])) if more else None
    return AccountPage(
        items=[a.to_schema() for _, a in page],
        next_page_token=next_token,
        read_timestamp=read_timestamp,
    )


def _position(row: tuple[int, AccountRecord]) -> tuple[int, str]:
    return row[0], row[1].id


def list_entries(
    *,
    databases: DatabaseHandles,
    ctx: RequestContext,
    account_id: str,
    signer: TokenSigner,
    page_size: int,
    page_token: str | None,
    posted_from: datetime | None = None,
    posted_to: datetime | None = None,
    staleness: timedelta | None = None,
) -> EntryPage:
    check_range(posted_from, posted_to)
    query = query_name(list="entries", account_id=account_id, posted_from=posted_from,
                       posted_to=posted_to)  # fmt: skip
    before = signer.open(page_token, query, types=(int,))[0] if page_token else None

    def work(tx: Tx) -> tuple[AccountRecord | None, list[EntryRecord]]:
        account = repository.read_account(tx, account_id)
        if account is None:
            return None, []
        return account, entries_repository.list_entries(
            tx,
            account,
            limit=page_size + 1,
            before_sequence=before,
            sequences=entries_repository.sequence_range(tx, account, posted_from, posted_to),
        )

    (account, entries), read_timestamp = databases.reader.read_consistent(
        work, budget=ctx.budget("accounts.entries"), priority=PRIORITY_LOW, staleness=staleness
    )
    if account is None:
        raise AccountNotFound(f"Account {account_id!r} does not exist.")
    page, more = entries[:page_size], len(entries) > page_size
    return EntryPage(
        items=[entry_to_schema(e) for e in page],
        next_page_token=signer.sign(query, page[-1].sequence) if more else None,
        read_timestamp=read_timestamp,
    )


def balance_at_wire(balance: BalanceAt, as_of: datetime) -> AccountBalanceAt:
    return AccountBalanceAt(
        account_id=balance.account_id,
        currency=balance.currency,
        as_of=as_of,
        existed=balance.created_at <= as_of,
        balance=balance.balance,
        sequence=balance.sequence,
    )


def get_account_at(
    *, databases: DatabaseHandles, ctx: RequestContext, account_id: str, as_of: datetime
) -> AccountBalanceAt:
    """The account's posted balance at ``as_of``, from its entries (any age)."""
    with_zone(as_of, "as_of")
    balances, read_timestamp = databases.reader.read_consistent(
        lambda tx: entries_repository.balances_at(tx, [account_id], as_of),
        budget=ctx.budget("accounts.get_at"),
    )
    check_not_future(as_of, read_timestamp, "as_of")
    if account_id not in balances:
        raise AccountNotFound(f"Account {account_id!r} does not exist.")
    return balance_at_wire(balances[account_id], as_of)


def statement(
    *,
    databases: DatabaseHandles,
    ctx: RequestContext,
    account_id: str,
    posted_from: datetime,
    posted_to: datetime | None,
    staleness: timedelta | None = None,
) -> Statement:
    """Opening and closing balance, debits, credits and entry count over [from, to):
    one snapshot, so consecutive statements chain (one's closing is the next's opening)."""
    check_range(posted_from, posted_to)

    def work(tx: Tx) -> tuple[AccountRecord | None, StatementTotals | None, datetime]:
        account = repository.read_account(tx, account_id)
        # Without ``to``: up to this snapshot, whose time the first read fixed.
        end = posted_to or tx.read_timestamp
        if end is None:
            raise RuntimeError("snapshot read timestamp missing")
        if account is None or end <= posted_from:
            return account, None, end
        return account, entries_repository.statement_totals(tx, account, posted_from, end), end

    (account, totals, end), read_timestamp = databases.reader.read_consistent(
        work, budget=ctx.budget("accounts.statement"), priority=PRIORITY_LOW, staleness=staleness
    )
    check_not_future(posted_to, read_timestamp, "to")
    if account is None:
        raise AccountNotFound(f"Account {account_id!r} does not exist.")
    if totals is None:
        raise InstantInFuture(f"from {posted_from.isoformat()} is after Spanner's current time.")
    return Statement(
        account_id=account_id,
        currency=account.currency,
        from_=posted_from,
        to=end,
        opening_balance=totals.opening_balance,
        closing_balance=totals.closing_balance,
        debits=totals.debits,
        credits=totals.credits,
        entry_count=totals.entry_count,
        read_timestamp=read_timestamp,
    )

"""Transfer queries (GET /v1/transfers): filters, newest first, keyset pages.

Every query is a seek: by transaction, its legs by key; by account, that account's
creation entries (interleaved under it, one per transfer it took part in; the time range
becomes a sequence range through EntriesByTime); otherwise the sharded time index
TransfersByCreation, one seek per shard, merged. Filters an index does not serve
(``status`` with an account) are applied to what the seek reads, and a request reads at
most ``SCAN_LIMIT`` rows: a page may come back short with a token to go on.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from api.accounts import entries_repository
from api.accounts import repository as accounts_repository
from api.context import RequestContext
from api.instants import check_range
from api.ledger.errors import AccountNotFound
from api.ledger.records import TransferRecord, TransferStatus
from api.ledger.repository import transactions as transaction_rows
from api.ledger.repository import transfers as transfer_rows
from api.pagination import InvalidPageToken, TokenSigner, query_name
from api.spanner.tx import PRIORITY_LOW, Tx
from api.storage import DatabaseHandles
from api.transfers import repository
from api.transfers.schemas import TransferPage
from api.wire.transfer import to_wire

SCAN_LIMIT = 1000  # rows one request may read past what it returns


@dataclass(frozen=True)
class TransferFilters:
    account_id: str | None = None
    status: TransferStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    transaction_id: str | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def matches(self, t: TransferRecord) -> bool:
        sides = (t.debit_account_id, t.credit_account_id)
        created = t.created_at
        if created is None:
            return False
        return (
            (self.account_id is None or self.account_id in sides)
            and (self.status is None or t.status == self.status)
            and (self.transaction_id is None or t.transaction_id == self.transaction_id)
            and (self.created_from is None or created >= self.created_from)
            and (self.created_to is None or created < self.created_to)
            and all((t.labels or {}).get(k) == v for k, v in self.labels.items())
        )


def list_transfers(
    *,
    databases: DatabaseHandles,
    ctx: RequestContext,
    signer: TokenSigner,
    filters: TransferFilters,
    page_size: int,
    page_token: str | None,
    staleness: timedelta | None = None,
) -> TransferPage:
    check_range(filters.created_from, filters.created_to)
    query = query_name(list="transfers", **dataclasses.asdict(filters))
    budget = ctx.budget("transfers.query")
    if filters.transaction_id is not None:
        items, read_timestamp = databases.reader.read_consistent(
            lambda tx: _legs(tx, filters), budget=budget, staleness=staleness
        )
        return TransferPage(
            items=[to_wire(t) for t in items], next_page_token=None, read_timestamp=read_timestamp
        )
    if filters.account_id is not None:
        before = signer.open(page_token, query, types=(int,))[0] if page_token else None
        (items, position), read_timestamp = databases.reader.read_consistent(
            lambda tx: _by_account(tx, filters, page_size, before),
            budget=budget,
            priority=PRIORITY_LOW,
            staleness=staleness,
        )
        token = signer.sign(query, position) if position is not None else None
        return TransferPage(
            items=[to_wire(t) for t in items], next_page_token=token, read_timestamp=read_timestamp
        )
    after = None
    if page_token:
        at, key, transfer_id = signer.open(page_token, query, types=(str, int, str))
        after = (_instant(at), key, transfer_id)

    seek = (
        functools.partial(repository.list_labelled, labels=filters.labels)
        if filters.labels
        else repository.list_created
    )
    rows, read_at = databases.reader.read_at(
        lambda tx: seek(
            tx,
            limit=page_size + 1,
            after=after,
            created_from=filters.created_from,
            created_to=filters.created_to,
            status=filters.status,
        ),
        budget=budget,
        priority=PRIORITY_LOW,
        staleness=staleness,
    )
    page, more = rows[:page_size], len(rows) > page_size
    token = None
    if more:
        (created_at, key, transfer_id), _ = page[-1]
        token = signer.sign(query, _rfc3339(created_at), key, transfer_id)
    return TransferPage(
        items=[to_wire(t) for _, t in page], next_page_token=token, read_timestamp=read_at
    )


def _legs(tx: Tx, filters: TransferFilters) -> list[TransferRecord]:
    transaction_id = filters.transaction_id or ""
    transaction = transaction_rows.read_transactions(tx, [transaction_id]).get(transaction_id)
    if transaction is None:
        return []
    legs = transfer_rows.read_transfers(tx, transaction.leg_ids)
    found = [legs[leg] for leg in reversed(transaction.leg_ids) if leg in legs]
    return [t for t in found if filters.matches(t)]


def _by_account(
    tx: Tx, filters: TransferFilters, page_size: int, before: int | None
) -> tuple[list[TransferRecord], int | None]:
    """A page of the account's transfers, and the position to go on from (None: done)."""
    account_id = filters.account_id or ""
    account = accounts_repository.read_account(tx, account_id)
    if account is None:
        raise AccountNotFound(f"Account {account_id!r} does not exist.")
    # A transfer's creation entry is posted at its CreatedAt: the range in sequences.
    sequences = entries_repository.sequence_range(
        tx, account, filters.created_from, filters.created_to
    )
    found: list[tuple[int, TransferRecord]] = []
    examined = 0
    batch = min(page_size + 1, SCAN_LIMIT)
    while examined < SCAN_LIMIT:
        entries = entries_repository.list_entries(
            tx,
            account,
            limit=batch,
            before_sequence=before,
            sequences=sequences,
        )
        created = [e for e in entries if e.kind in entries_repository.CREATION_KINDS]
        transfers = transfer_rows.read_transfers(tx, [e.transfer_id for e in created])
        for entry in entries:
            sequence, transfer_id = entry.sequence, entry.transfer_id
            examined += 1
            if entry.kind not in entries_repository.CREATION_KINDS:
                before = sequence
                continue
            transfer = transfers.get(transfer_id)
            if transfer is not None and filters.matches(transfer):
                if len(found) == page_size:  # one more exists: the page is full
                    return [t for _, t in found], found[-1][0]
                found.append((sequence, transfer))
            before = sequence
        if len(entries) < batch:
            return [t for _, t in found], None
    return [t for _, t in found], before  # the scan budget is spent: go on from here


def _rfc3339(instant: datetime) -> str:
    if isinstance(instant, DatetimeWithNanoseconds):
        return str(instant.rfc3339())
    return instant.isoformat()


def _instant(text: str) -> datetime:
    try:
        return DatetimeWithNanoseconds.from_rfc3339(text)  # type: ignore[no-any-return]
    except ValueError:
        raise InvalidPageToken("page_token was not issued for this query.") from None

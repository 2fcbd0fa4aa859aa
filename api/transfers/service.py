"""Transfers: one short read-write transaction applies a list of requests in order.

A single POST is a list of one; the batch endpoint and group commit pass many. The
transaction reads every transfer id and account it needs in two reads, applies the
requests to that state in memory (api.transfers.posting), buffers the rows, commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from api.accounts import repository as accounts_repository
from api.config import Settings
from api.errors import LedgerError
from api.limits import check_metadata
from api.spanner.database import LedgerDatabase
from api.spanner.handles import DatabaseHandles
from api.spanner.tx import Tx
from api.transfers import repository
from api.transfers.errors import TransferNotFound
from api.transfers.posting import Outcome, Posting
from api.transfers.schemas import Transfer, TransferCreate


@dataclass(frozen=True)
class TransferResult:
    created: bool
    transfer: Transfer | None = None
    error: LedgerError | None = None


def create_transfer(
    *, databases: DatabaseHandles, settings: Settings, request: TransferCreate
) -> tuple[Transfer, bool]:
    """Apply one transfer. Returns it and whether this call created it (False: replay)."""
    check_metadata(request.metadata, max_bytes=settings.metadata_max_bytes)
    (result,) = apply_transfers(databases.writer, [request], tag="transfers.create")
    if result.error is not None:
        raise result.error
    assert result.transfer is not None  # noqa: S101 - a success always carries it
    return result.transfer, result.created


def apply_transfers(
    database: LedgerDatabase, requests: Sequence[TransferCreate], *, tag: str
) -> list[TransferResult]:
    """Apply ``requests`` in order in ONE transaction; one result per request."""

    def work(tx: Tx) -> list[Outcome]:
        transfers = repository.read_transfers(tx, (r.id for r in requests))
        account_ids = {i for r in requests for i in (r.debit_account_id, r.credit_account_id)}
        accounts = accounts_repository.read_accounts(tx, account_ids)
        posting = Posting(accounts, transfers)
        outcomes = posting.apply_all(requests)
        accounts_repository.buffer_postings(tx, posting.changed_accounts)
        repository.insert_transfers(tx, posting.new_transfers)
        return outcomes

    committed = database.write(work, tag=tag)
    return [_result(o, committed.commit_timestamp) for o in committed.value]


def _result(outcome: Outcome, commit_timestamp: datetime) -> TransferResult:
    if outcome.transfer is None:
        return TransferResult(created=False, error=outcome.error)
    return TransferResult(
        created=outcome.kind == "created",
        transfer=outcome.transfer.to_schema(commit_timestamp=commit_timestamp),
    )


def get_transfer(*, databases: DatabaseHandles, transfer_id: str) -> Transfer:
    transfer = databases.reader.read(
        lambda tx: repository.read_transfer(tx, transfer_id), tag="transfers.get"
    )
    if transfer is None:
        raise TransferNotFound(f"Transfer {transfer_id!r} does not exist.")
    return transfer.to_schema()

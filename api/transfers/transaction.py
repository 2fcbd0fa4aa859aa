"""The transfers transaction: apply a list of requests in order, in ONE commit.

A single POST is a list of one; the batch endpoint and group commit pass many. The
transaction reads every transfer id and account it needs in two reads, applies the
requests to that state in memory (api.transfers.posting), buffers the rows, commits.
It may run more than once (aborts): it only reads, checks and buffers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from api.accounts import repository as accounts_repository
from api.errors import LedgerError
from api.spanner.database import LedgerDatabase
from api.spanner.tx import Tx
from api.transfers import repository
from api.transfers.errors import BatchItemFailed
from api.transfers.posting import Outcome, Posting
from api.transfers.schemas import Transfer, TransferCreate


@dataclass(frozen=True)
class TransferResult:
    created: bool
    transfer: Transfer | None = None
    error: LedgerError | None = None


def apply_transfers(
    database: LedgerDatabase,
    requests: Sequence[TransferCreate],
    *,
    tag: str,
    deadline: float | None = None,
    all_or_nothing: bool = False,
) -> list[TransferResult]:
    """Apply ``requests`` in order in ONE transaction; one result per request.

    With ``all_or_nothing``, the first failing request raises ``BatchItemFailed`` and
    the transaction is rolled back.
    """

    def work(tx: Tx) -> list[Outcome]:
        transfers = repository.read_transfers(tx, (r.id for r in requests))
        account_ids = {i for r in requests for i in (r.debit_account_id, r.credit_account_id)}
        accounts = accounts_repository.read_accounts(tx, account_ids)
        posting = Posting(accounts, transfers)
        outcomes = posting.apply_all(requests)
        if all_or_nothing:
            for index, outcome in enumerate(outcomes):
                if outcome.error is not None:
                    raise BatchItemFailed(index, requests[index].id, outcome.error)
        accounts_repository.buffer_postings(tx, posting.changed_accounts)
        repository.insert_transfers(tx, posting.new_transfers)
        return outcomes

    committed = database.write(work, tag=tag, deadline=deadline)
    return [_result(o, committed.commit_timestamp) for o in committed.value]


def _result(outcome: Outcome, commit_timestamp: datetime) -> TransferResult:
    if outcome.transfer is None:
        return TransferResult(created=False, error=outcome.error)
    return TransferResult(
        created=outcome.kind == "created",
        transfer=outcome.transfer.to_schema(commit_timestamp=commit_timestamp),
    )

"""Transfers as the engine reads and writes them, by key: the rows of one commit, and
the sweeper's look-up of holds whose time is up. (Listing and querying transfers is the
transfers resource's: api/transfers/repository.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from api.ids import key_hash
from api.ledger.records import TransferRecord, leg_id
from api.spanner.tx import Row, Tx
from api.spanner.values import json_from_column, json_to_column

TRANSFER_COLUMNS = (
    "TransferId", "DebitAccountId", "CreditAccountId", "Amount", "Currency", "Status",
    "Metadata", "RequestHash", "CreatedAt", "Pending", "ExpiresAt", "PostedAmount",
    "ResolvedAt", "ReversesTransferId", "ReversedAmount", "TransactionId", "Labels",
)  # fmt: skip
# What a resolution or a reversal changes on a stored transfer.
CHANGED_COLUMNS = (
    "KeyHash", "TransferId", "Status", "PostedAmount", "ResolvedAt", "ReversedAmount",
    "ExpiryShard", "PendingExpiresAt",
)  # fmt: skip


def transfer_from_row(row: Row) -> TransferRecord:
    return TransferRecord(
        id=row["TransferId"],
        debit_account_id=row["DebitAccountId"],
        credit_account_id=row["CreditAccountId"],
        amount=row["Amount"],
        currency=row["Currency"],
        status=row["Status"],
        metadata=json_from_column(row["Metadata"]),
        request_hash=row["RequestHash"],
        created_at=row["CreatedAt"],
        pending=row["Pending"],
        expires_at=row["ExpiresAt"],
        posted_amount=row["PostedAmount"],
        resolved_at=row["ResolvedAt"],
        reverses_transfer_id=row["ReversesTransferId"],
        reversed_amount=row["ReversedAmount"],
        transaction_id=row["TransactionId"],
        labels=json_from_column(row["Labels"]),
    )


def read_transfers(tx: Tx, transfer_ids: Iterable[str]) -> dict[str, TransferRecord]:
    keys = [(key_hash(i), i) for i in dict.fromkeys(transfer_ids)]
    rows = tx.read("Transfers", TRANSFER_COLUMNS, keys)
    return {record.id: record for record in map(transfer_from_row, rows)}


def read_transfer(tx: Tx, transfer_id: str) -> TransferRecord | None:
    return read_transfers(tx, [transfer_id]).get(transfer_id)


# The sweeper's time index is spread over this many shards (spanner_ddl/0003).
EXPIRY_SHARDS = 16


def expiry_shard(transfer_id: str) -> int:
    return key_hash(transfer_id) % EXPIRY_SHARDS


def created_shard(key_hash_: int) -> int:
    """The shard of a transfer in the time indexes (spanner_ddl/0008, 0009): SQL's
    MOD(KeyHash, 8), which keeps the sign (-7..7), unlike Python's %."""
    remainder = abs(key_hash_) % 8
    return remainder if key_hash_ >= 0 else -remainder


def read_now(tx: Tx) -> datetime:
    """Spanner's current time, as this transaction sees it."""
    (row,) = tx.query("SELECT CURRENT_TIMESTAMP() AS now")
    now: datetime = row["now"]
    return now


def expired_holds(tx: Tx, *, shard: int, limit: int) -> list[str]:
    """Ids of pending holds of ``shard`` whose time is up, oldest first."""
    # The emulator cannot prove a NULL_FILTERED index answers this (both columns are
    # compared, so NULLs cannot qualify); its hint is ignored by Cloud Spanner.
    rows = tx.query(
        "SELECT TransferId FROM Transfers@{FORCE_INDEX=TransfersByPendingExpiry,"
        " spanner_emulator.disable_query_null_filtered_index_check=true}"
        " WHERE ExpiryShard = @shard AND PendingExpiresAt <= CURRENT_TIMESTAMP()"
        " ORDER BY PendingExpiresAt LIMIT @limit",
        {"shard": (shard, param_types.INT64), "limit": (limit, param_types.INT64)},
    )
    return [row["TransferId"] for row in rows]


def _expiry_index(t: TransferRecord) -> tuple[int | None, datetime | None]:
    """Only a pending hold with a timeout is in the sweeper's index; of a pending
    transaction's legs (which expire together) only the first."""
    if t.status != "pending" or t.expires_at is None:
        return None, None
    if t.transaction_id is not None and t.id != leg_id(t.transaction_id, 0):
        return None, None
    return expiry_shard(t.id), t.expires_at


def _resolved_at(t: TransferRecord) -> Any:
    """A hold's resolution time: this commit's, the first time it is written."""
    if not t.resolved:
        return None
    return t.resolved_at or spanner.COMMIT_TIMESTAMP


def insert_transfers(tx: Tx, transfers: Sequence[TransferRecord]) -> None:
    rows = [
        (
            key_hash(t.id), t.id, t.debit_account_id, t.credit_account_id, t.amount,
            t.currency, t.status, json_to_column(t.metadata), t.request_hash,
            spanner.COMMIT_TIMESTAMP, t.pending, t.expires_at, t.posted_amount,
            _resolved_at(t), t.reverses_transfer_id, t.reversed_amount, t.transaction_id,
            json_to_column(t.labels), *_expiry_index(t),
        )
        for t in transfers
    ]  # fmt: skip
    tx.insert("Transfers", ("KeyHash", *TRANSFER_COLUMNS, "ExpiryShard", "PendingExpiresAt"), rows)
    label_rows = [
        (key, value, created_shard(key_hash(t.id)), spanner.COMMIT_TIMESTAMP, key_hash(t.id), t.id)
        for t in transfers
        for key, value in sorted((t.labels or {}).items())
    ]
    tx.insert(
        "TransferLabels",
        ("LabelKey", "LabelValue", "Shard", "CreatedAt", "KeyHash", "TransferId"),
        label_rows,
    )


def update_transfers(tx: Tx, transfers: Iterable[TransferRecord]) -> None:
    rows = [
        (key_hash(t.id), t.id, t.status, t.posted_amount, _resolved_at(t), t.reversed_amount,
         *_expiry_index(t))
        for t in transfers
    ]  # fmt: skip
    tx.update("Transfers", CHANGED_COLUMNS, rows)

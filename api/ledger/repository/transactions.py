"""Transactions as the engine reads and writes them, by key (their legs are Transfers
rows)."""

from __future__ import annotations

from collections.abc import Iterable

from google.cloud import spanner

from api.ids import key_hash
from api.ledger.records import TransactionRecord
from api.spanner.tx import Row, Tx
from api.spanner.values import json_from_column, json_to_column

TRANSACTION_COLUMNS = (
    "TransactionId", "LegCount", "Pending", "ExpiresAt", "Metadata", "RequestHash",
    "CreatedAt", "ReversesTransactionId", "ReversedByTransactionId", "Labels",
)  # fmt: skip


def transaction_from_row(row: Row) -> TransactionRecord:
    return TransactionRecord(
        id=row["TransactionId"],
        leg_count=row["LegCount"],
        pending=row["Pending"],
        expires_at=row["ExpiresAt"],
        metadata=json_from_column(row["Metadata"]),
        request_hash=row["RequestHash"],
        created_at=row["CreatedAt"],
        reverses_transaction_id=row["ReversesTransactionId"],
        reversed_by_transaction_id=row["ReversedByTransactionId"],
        labels=json_from_column(row["Labels"]),
    )


def read_transactions(tx: Tx, transaction_ids: Iterable[str]) -> dict[str, TransactionRecord]:
    keys = [(key_hash(i), i) for i in dict.fromkeys(transaction_ids)]
    rows = tx.read("Transactions", TRANSACTION_COLUMNS, keys)
    return {record.id: record for record in map(transaction_from_row, rows)}


def insert_transactions(tx: Tx, transactions: Iterable[TransactionRecord]) -> None:
    rows = [
        (
            key_hash(t.id), t.id, t.leg_count, t.pending, t.expires_at,
            json_to_column(t.metadata), t.request_hash, spanner.COMMIT_TIMESTAMP,
            t.reverses_transaction_id, t.reversed_by_transaction_id, json_to_column(t.labels),
        )
        for t in transactions
    ]  # fmt: skip
    tx.insert("Transactions", ("KeyHash", *TRANSACTION_COLUMNS), rows)


def update_transactions(tx: Tx, transactions: Iterable[TransactionRecord]) -> None:
    """What changes on a stored transaction: the link to its reversal."""
    rows = [(key_hash(t.id), t.id, t.reversed_by_transaction_id) for t in transactions]
    tx.update("Transactions", ("KeyHash", "TransactionId", "ReversedByTransactionId"), rows)

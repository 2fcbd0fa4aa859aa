"""The only place that reads or writes Transfers."""

from __future__ import annotations

from collections.abc import Iterable

from google.cloud import spanner

from api.ids import key_hash
from api.spanner.tx import Row, Tx
from api.spanner.values import json_from_column, json_to_column
from api.transfers.model import TransferRecord

TRANSFER_COLUMNS = (
    "TransferId", "DebitAccountId", "CreditAccountId", "Amount", "Currency", "Status",
    "Metadata", "RequestHash", "CreatedAt",
)  # fmt: skip


def _transfer(row: Row) -> TransferRecord:
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
    )


def read_transfers(tx: Tx, transfer_ids: Iterable[str]) -> dict[str, TransferRecord]:
    keys = [(key_hash(i), i) for i in dict.fromkeys(transfer_ids)]
    rows = tx.read("Transfers", TRANSFER_COLUMNS, keys)
    return {record.id: record for record in map(_transfer, rows)}


def read_transfer(tx: Tx, transfer_id: str) -> TransferRecord | None:
    return read_transfers(tx, [transfer_id]).get(transfer_id)


def insert_transfers(tx: Tx, transfers: Iterable[TransferRecord]) -> None:
    rows = [
        (
            key_hash(t.id), t.id, t.debit_account_id, t.credit_account_id, t.amount,
            t.currency, t.status, json_to_column(t.metadata),
            t.request_hash, spanner.COMMIT_TIMESTAMP,
        )
        for t in transfers
    ]  # fmt: skip
    tx.insert("Transfers", ("KeyHash", *TRANSFER_COLUMNS), rows)

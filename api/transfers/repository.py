"""The only place that reads or writes Transfers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from google.cloud import spanner
from google.cloud.spanner_v1 import param_types

from api.ids import key_hash
from api.spanner.tx import Params, Row, Tx
from api.spanner.values import json_from_column, json_to_column
from api.transfers.model import TransferRecord, created_shard, expiry_shard, leg_id

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


# TransfersByCreation's shards (spanner_ddl/0008): MOD(KeyHash, 8) is -7..7.
CREATED_SHARDS = range(-7, 8)

# A transfer's place in TransfersByCreation order: CreatedAt DESC, then the key.
CreatedPosition = tuple[datetime, int, str]


def list_created(
    tx: Tx,
    *,
    limit: int,
    after: CreatedPosition | None,
    created_from: datetime | None,
    created_to: datetime | None,
    status: str | None,
) -> list[tuple[CreatedPosition, TransferRecord]]:
    """Transfers newest first, by a seek per shard of TransfersByCreation (each shard's
    first ``limit`` rows past the position) merged here."""
    return _newest_first(
        tx,
        columns=", ".join(("KeyHash", *TRANSFER_COLUMNS)),
        source="Transfers@{FORCE_INDEX=TransfersByCreation}",
        shard_column="CreatedShard",
        ordered_by="",
        status_column="Status",
        where="",
        params={"limit": (limit, param_types.INT64)},
        after=after,
        created_from=created_from,
        created_to=created_to,
        status=status,
    )


def list_labelled(
    tx: Tx,
    *,
    labels: dict[str, str],
    limit: int,
    after: CreatedPosition | None,
    created_from: datetime | None,
    created_to: datetime | None,
    status: str | None,
) -> list[tuple[CreatedPosition, TransferRecord]]:
    """Transfers with all ``labels``, newest first: per shard, a seek on the first
    pair's TransferLabels rows (time-ordered), the other pairs checked by key; merged."""
    params: Params = {"limit": (limit, param_types.INT64)}
    where = ""
    for n, (key, value) in enumerate(sorted(labels.items())):
        params[f"lk{n}"] = (key, param_types.STRING)
        params[f"lv{n}"] = (value, param_types.STRING)
        where += f" AND l{n}.LabelKey = @lk{n} AND l{n}.LabelValue = @lv{n}" if not n else (
            f" AND EXISTS (SELECT 1 FROM TransferLabels l{n} WHERE l{n}.LabelKey = @lk{n}"  # noqa: S608
            f" AND l{n}.LabelValue = @lv{n} AND l{n}.Shard = l0.Shard"
            f" AND l{n}.CreatedAt = l0.CreatedAt AND l{n}.KeyHash = l0.KeyHash"
            f" AND l{n}.TransferId = l0.TransferId)"
        )  # fmt: skip
    return _newest_first(
        tx,
        columns=", ".join(f"t.{c}" for c in ("KeyHash", *TRANSFER_COLUMNS)),
        source="TransferLabels l0 JOIN Transfers t"
        " ON t.KeyHash = l0.KeyHash AND t.TransferId = l0.TransferId",
        shard_column="l0.Shard",
        ordered_by="l0.",
        status_column="t.Status",
        where=where,
        params=params,
        after=after,
        created_from=created_from,
        created_to=created_to,
        status=status,
    )


def _newest_first(
    tx: Tx,
    *,
    columns: str,
    source: str,
    shard_column: str,
    ordered_by: str,
    status_column: str,
    where: str,
    params: Params,
    after: CreatedPosition | None,
    created_from: datetime | None,
    created_to: datetime | None,
    status: str | None,
) -> list[tuple[CreatedPosition, TransferRecord]]:
    """One seek per shard of a (Shard, CreatedAt DESC, KeyHash, TransferId)-ordered
    source (``ordered_by``: the alias of those columns), the shards' first ``@limit``
    rows past the position merged. Only constant SQL text goes in; values are params."""
    o = ordered_by
    if created_from is not None:
        where += f" AND {o}CreatedAt >= @since"
        params["since"] = (created_from, param_types.TIMESTAMP)
    if created_to is not None:
        where += f" AND {o}CreatedAt < @until"
        params["until"] = (created_to, param_types.TIMESTAMP)
    if status is not None:
        where += f" AND {status_column} = @status"
        params["status"] = (status, param_types.STRING)
    if after is not None:
        where += (
            f" AND ({o}CreatedAt < @at OR ({o}CreatedAt = @at AND ({o}KeyHash > @hash"
            f" OR ({o}KeyHash = @hash AND {o}TransferId > @id))))"
        )
        params["at"] = (after[0], param_types.TIMESTAMP)
        params["hash"] = (after[1], param_types.INT64)
        params["id"] = (after[2], param_types.STRING)
    order = f"ORDER BY {o}CreatedAt DESC, {o}KeyHash, {o}TransferId LIMIT @limit"
    shards = " UNION ALL ".join(
        f"(SELECT {columns} FROM {source} WHERE {shard_column} = {shard}{where} {order})"  # noqa: S608
        for shard in CREATED_SHARDS
    )
    sql = f"{shards} ORDER BY CreatedAt DESC, KeyHash, TransferId LIMIT @limit"
    return [
        ((row["CreatedAt"], row["KeyHash"], row["TransferId"]), transfer_from_row(row))
        for row in tx.query(sql, params)
    ]


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

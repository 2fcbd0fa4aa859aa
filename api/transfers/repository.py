"""Listing and querying Transfers, newest first: the transfers resource's reads. (The
engine reads and writes transfers by key: api/ledger/repository/transfers.py.)"""

from __future__ import annotations

from datetime import datetime

from google.cloud.spanner_v1 import param_types

from api.ledger.records import TransferRecord
from api.ledger.repository.transfers import TRANSFER_COLUMNS, transfer_from_row
from api.spanner.tx import Params, Tx

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

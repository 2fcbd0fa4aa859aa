"""``POST /v1/transfers:batch``: many transfers in few, short transactions."""

from __future__ import annotations

from api.config import Settings
from api.errors import LedgerError, ValidationFailed
from api.limits import check_metadata
from api.spanner.database import LedgerDatabase
from api.transfers.errors import BatchItemFailed
from api.transfers.schemas import (
    BatchItemResult,
    TransferBatchCreate,
    TransferBatchResult,
    TransferCreate,
)
from api.transfers.transaction import TransferResult, apply_transfers


def apply_batch(
    *, database: LedgerDatabase, settings: Settings, request: TransferBatchCreate
) -> TransferBatchResult:
    transfers = request.transfers
    if len(transfers) > settings.batch_max_transfers:
        raise ValidationFailed(
            f"A batch holds at most {settings.batch_max_transfers} transfers; "
            f"this one has {len(transfers)}."
        )
    if request.atomic:
        results = _apply_atomic(database, settings, transfers)
    else:
        results = _apply_each(database, settings, transfers)
    return _summarise(request.atomic, results)


def _apply_atomic(
    database: LedgerDatabase, settings: Settings, transfers: list[TransferCreate]
) -> list[TransferResult]:
    if len(transfers) > settings.max_transfers_per_commit:
        raise ValidationFailed(
            f"An atomic batch must fit one commit: at most "
            f"{settings.max_transfers_per_commit} transfers, this one has {len(transfers)}. "
            "Split it, or send it with atomic=false."
        )
    for index, transfer in enumerate(transfers):
        try:
            check_metadata(transfer.metadata, max_bytes=settings.metadata_max_bytes)
        except LedgerError as error:
            raise BatchItemFailed(index, transfer.id, error) from None
    return apply_transfers(database, transfers, tag="transfers.batch", all_or_nothing=True)


def _apply_each(
    database: LedgerDatabase, settings: Settings, transfers: list[TransferCreate]
) -> list[TransferResult]:
    """Valid items apply in request order, in chunks that each fit one short commit.

    A chunk sees what earlier chunks committed, so the order is kept across chunks.
    If a chunk fails transiently the request fails (503); earlier chunks stay
    committed and replay as 200 when the client sends the batch again.
    """
    results: list[TransferResult | None] = [None] * len(transfers)
    valid: list[int] = []
    for index, transfer in enumerate(transfers):
        try:
            check_metadata(transfer.metadata, max_bytes=settings.metadata_max_bytes)
            valid.append(index)
        except LedgerError as error:
            results[index] = TransferResult(created=False, error=error)
    size = min(settings.batch_chunk_size, settings.max_transfers_per_commit)
    for start in range(0, len(valid), size):
        chunk = valid[start : start + size]
        chunk_results = apply_transfers(
            database, [transfers[i] for i in chunk], tag="transfers.batch"
        )
        for index, result in zip(chunk, chunk_results, strict=True):
            results[index] = result
    return [r for r in results if r is not None]


def _summarise(atomic: bool, results: list[TransferResult]) -> TransferBatchResult:
    items = []
    for index, result in enumerate(results):
        if result.error is not None:
            items.append(
                BatchItemResult(
                    index=index, status=result.error.status, problem=result.error.to_problem()
                )
            )
        else:
            items.append(
                BatchItemResult(
                    index=index, status=201 if result.created else 200, transfer=result.transfer
                )
            )
    failed = sum(1 for r in results if r.error is not None)
    created = sum(1 for r in results if r.created)
    return TransferBatchResult(
        atomic=atomic,
        created=created,
        replayed=len(results) - failed - created,
        failed=failed,
        results=items,
    )

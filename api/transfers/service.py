"""Transfers: the service functions routers call."""

from __future__ import annotations

from api.config import Settings
from api.limits import check_metadata
from api.spanner.handles import DatabaseHandles
from api.transfers import repository
from api.transfers.errors import TransferNotFound
from api.transfers.schemas import Transfer, TransferCreate
from api.transfers.writer import TransferWriter


async def create_transfer(
    *, writer: TransferWriter, settings: Settings, request: TransferCreate
) -> tuple[Transfer, bool]:
    """Apply one transfer. Returns it and whether this call created it (False: replay)."""
    check_metadata(request.metadata, max_bytes=settings.metadata_max_bytes)
    result = await writer.write_async(request)
    if result.error is not None:
        raise result.error
    assert result.transfer is not None  # noqa: S101 - a success always carries it
    return result.transfer, result.created


def get_transfer(*, databases: DatabaseHandles, transfer_id: str) -> Transfer:
    transfer = databases.reader.read(
        lambda tx: repository.read_transfer(tx, transfer_id), tag="transfers.get"
    )
    if transfer is None:
        raise TransferNotFound(f"Transfer {transfer_id!r} does not exist.")
    return transfer.to_schema()

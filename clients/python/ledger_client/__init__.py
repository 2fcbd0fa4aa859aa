"""A Python client for the spanner-ledger HTTP API (sync and asyncio), and the ``ledger``
CLI (``ledger_client.cli``).

    from ledger_client import LedgerClient
    with LedgerClient("http://127.0.0.1:8080") as ledger:
        ledger.open_account("USD", id="alice")
"""

from ledger_client.aio import AsyncLedgerClient
from ledger_client.auth import (
    NoAuth,
    TokenSource,
    client_credentials,
    gcloud_id_token,
    google_id_token,
    static_token,
    token_callback,
)
from ledger_client.client import LedgerClient
from ledger_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    LedgerError,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthenticated,
    Unavailable,
)
from ledger_client.retry import RetryEvent, RetryPolicy

__all__ = [
    "ApiError",
    "AsyncLedgerClient",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "LedgerClient",
    "LedgerError",
    "NoAuth",
    "NotFound",
    "RateLimited",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "TokenSource",
    "TransportError",
    "Unauthenticated",
    "Unavailable",
    "client_credentials",
    "gcloud_id_token",
    "google_id_token",
    "static_token",
    "token_callback",
]

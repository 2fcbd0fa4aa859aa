from __future__ import annotations

from api.errors import NotFound


class TransactionNotFound(NotFound):
    code = "transaction_not_found"
    title = "Transaction not found"

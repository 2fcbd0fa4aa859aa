from __future__ import annotations

from api.errors import NotFound


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"

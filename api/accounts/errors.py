from __future__ import annotations

from api.errors import Conflict, NotFound


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class AccountClosed(Conflict):
    code = "account_closed"
    title = "Account is closed"


class AccountHasPending(Conflict):
    code = "account_has_pending"
    title = "Account has open holds"

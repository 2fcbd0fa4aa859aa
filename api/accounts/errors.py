from __future__ import annotations

from api.errors import Conflict


class AccountHasPending(Conflict):
    code = "account_has_pending"
    title = "Account has open holds"

from __future__ import annotations

from api.errors import Conflict, NotFound, ValidationFailed


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    title = "Transfer not found"


class SameAccount(ValidationFailed):
    code = "same_account"
    title = "Debit and credit account are the same"


class CurrencyMismatch(ValidationFailed):
    code = "currency_mismatch"
    title = "Currencies do not match"


class AmountOverflow(ValidationFailed):
    code = "amount_overflow"
    title = "Account totals would exceed the storable range"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    title = "Account balance limit reached"

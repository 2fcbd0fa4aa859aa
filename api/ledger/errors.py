"""The engine's refusals: each a ``LedgerError`` with its status and stable code, raised
by the rules (api.ledger.rules) and carried in an ``Outcome``; the resources declare
them on their routes."""

from __future__ import annotations

from api.errors import (
    Conflict,
    IdempotencyConflict,
    LedgerError,
    NotFound,
    Problem,
    ValidationFailed,
)


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class AccountClosed(Conflict):
    code = "account_closed"
    title = "Account is closed"


class TransactionNotFound(NotFound):
    code = "transaction_not_found"
    title = "Transaction not found"


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


class TransferNotPending(Conflict):
    code = "transfer_not_pending"
    title = "Transfer is not a hold"


class TransferAlreadyPosted(Conflict):
    code = "transfer_already_posted"
    title = "Hold already posted"


class TransferAlreadyVoided(Conflict):
    code = "transfer_already_voided"
    title = "Hold already voided"


class TransferExpired(Conflict):
    code = "transfer_expired"
    title = "Hold expired"


class TransferExpiring(Conflict):
    """Not expired, and voidable; but too close to its expiry for a :post to be sure to
    commit before it."""

    code = "transfer_expiring"
    title = "Hold expires before a post could commit"


class TransferNotPosted(Conflict):
    code = "transfer_not_posted"
    title = "Transfer is not posted"


class ReversalExceedsAmount(Conflict):
    code = "reversal_exceeds_amount"
    title = "Reversal exceeds what can be reversed"


class PostExceedsHold(ValidationFailed):
    code = "amount_exceeds_hold"
    title = "Posted amount exceeds the hold"


class TransferInTransaction(Conflict):
    code = "transfer_in_transaction"
    title = "Transfer is a leg of a transaction"


LIFECYCLE_CONFLICTS = (
    TransferInTransaction,
    TransferNotPending,
    TransferAlreadyPosted,
    TransferAlreadyVoided,
    TransferExpired,
    TransferExpiring,
)


# What a new transfer (or a reversal) may meet in the accounts it moves money between.
MOVE_ERRORS = (
    AccountNotFound,
    AccountClosed,
    IdempotencyConflict,
    InsufficientFunds,
    SameAccount,
    CurrencyMismatch,
    AmountOverflow,
)


class PartFailed(LedgerError):
    """Something made of parts failed at one part, and nothing was written.

    Rendered as that part's own problem (status and code), with ``errors`` naming the
    part, so clients handle it like the same failure of a single transfer.
    """

    part = "Part"

    def __init__(self, index: int, part_id: str, error: LedgerError) -> None:
        inner = error.detail.removesuffix(self.NOTHING_WRITTEN)
        super().__init__(
            f"{self.part} {index} ({part_id!r}) failed: {inner}{self.NOTHING_WRITTEN}",
            headers=error.headers,
        )
        self.status, self.code, self.title = error.status, error.code, error.title
        self.index, self.part_id, self.error = index, part_id, error

    NOTHING_WRITTEN = " Nothing was written."

    def to_problem(self, instance: str | None = None) -> Problem:
        problem = super().to_problem(instance)
        where: dict[str, object] = {"index": self.index, "id": self.part_id, "code": self.code}
        if isinstance(self.error, PartFailed):  # a transaction's leg, within a batch item
            where |= {"leg_index": self.error.index, "leg_id": self.error.part_id}
        problem.errors = [where]
        return problem


class BatchItemFailed(PartFailed):
    """An atomic batch failed at one item."""

    part = "Item"


class LegFailed(PartFailed):
    """A transaction failed at one leg."""

    part = "Leg"

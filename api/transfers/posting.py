"""Applying transfers to in-memory account state, in order: the ledger's rules.

A ``Posting`` is the working state of ONE read-write transaction. It starts from the
accounts and transfers the transaction read, applies requests one after another (a
later request sees the balances earlier ones left), and ends with the rows to write.
Pure: no I/O, so the transaction callback that drives it can safely run again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from api.accounts.errors import AccountNotFound
from api.accounts.model import AccountRecord, EntryRecord
from api.errors import IdempotencyConflict, LedgerError
from api.ids import INT64_MAX
from api.transfers.errors import (
    AmountOverflow,
    CurrencyMismatch,
    InsufficientFunds,
    SameAccount,
)
from api.transfers.model import TransferOrder, TransferRecord


@dataclass(frozen=True)
class Outcome:
    """What became of one order: the one result type of the transfers path."""

    kind: Literal["created", "replayed", "failed"]
    transfer: TransferRecord | None = None
    error: LedgerError | None = None

    @property
    def created(self) -> bool:
        return self.kind == "created"


class Posting:
    def __init__(
        self,
        accounts: dict[str, AccountRecord],
        transfers: dict[str, TransferRecord],
    ) -> None:
        self._accounts = accounts
        self._transfers = transfers
        self.new_transfers: list[TransferRecord] = []

    @property
    def changed_accounts(self) -> list[AccountRecord]:
        return [a for a in self._accounts.values() if a.new_entries]

    def apply_all(self, requests: Iterable[TransferOrder]) -> list[Outcome]:
        return [self.apply(request) for request in requests]

    def apply(self, request: TransferOrder) -> Outcome:
        try:
            return self._apply(request)
        except LedgerError as error:
            return Outcome("failed", error=error)

    def _apply(self, request: TransferOrder) -> Outcome:
        existing = self._transfers.get(request.id)
        if existing is not None:
            if existing.request_hash != request.fingerprint:
                raise IdempotencyConflict(
                    f"Transfer id {request.id!r} was already used for a different transfer."
                )
            return Outcome("replayed", transfer=existing)

        if request.debit_account_id == request.credit_account_id:
            raise SameAccount("debit_account_id and credit_account_id must differ.")
        debit = self._account(request.debit_account_id)
        credit = self._account(request.credit_account_id)
        if debit.currency != credit.currency:
            raise CurrencyMismatch(
                f"Account {debit.id!r} is in {debit.currency}, "
                f"account {credit.id!r} in {credit.currency}."
            )
        if request.currency is not None and request.currency != debit.currency:
            raise CurrencyMismatch(
                f"Transfer currency {request.currency} differs from the accounts' {debit.currency}."
            )

        amount = request.amount
        if debit.debits_posted + debit.debits_pending > INT64_MAX - amount:
            raise AmountOverflow(f"Debits of account {debit.id!r} would overflow.")
        if credit.credits_posted + credit.credits_pending > INT64_MAX - amount:
            raise AmountOverflow(f"Credits of account {credit.id!r} would overflow.")
        if debit.debits_must_not_exceed_credits and (
            debit.debits_posted + debit.debits_pending + amount > debit.credits_posted
        ):
            raise InsufficientFunds(
                f"Account {debit.id!r} has {debit.balance} available; "
                f"its debits may not exceed its credits."
            )
        if credit.credits_must_not_exceed_debits and (
            credit.credits_posted + credit.credits_pending + amount > credit.debits_posted
        ):
            raise InsufficientFunds(
                f"Account {credit.id!r} may not be credited beyond its debits "
                f"(room left: {-credit.balance})."
            )

        debit.debits_posted += amount
        credit.credits_posted += amount
        for account, signed in ((debit, -amount), (credit, amount)):
            account.version += 1
            account.new_entries.append(
                EntryRecord(
                    account_id=account.id,
                    sequence=account.version,
                    transfer_id=request.id,
                    amount=signed,
                    balance_after=account.balance,
                )
            )

        transfer = TransferRecord(
            id=request.id,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=amount,
            currency=debit.currency,
            status="posted",
            metadata=request.metadata,
            request_hash=request.fingerprint,
            created_at=None,
        )
        self._transfers[transfer.id] = transfer
        self.new_transfers.append(transfer)
        return Outcome("created", transfer=transfer)

    def _account(self, account_id: str) -> AccountRecord:
        account = self._accounts.get(account_id)
        if account is None:
            raise AccountNotFound(f"Account {account_id!r} does not exist.")
        return account

"""Change stream records -> events. Pure: the same record always gives the same events,
with the same ids, so a record read twice is delivered twice only as a duplicate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from api.accounts.repository import account_from_row
from api.events.model import Event, event_id
from api.events.records import DataChange, Mod
from api.ids import LEG_SEPARATOR
from api.transactions.repository import transaction_from_row
from api.transfers.convert import to_wire as transfer_to_wire
from api.transfers.model import transaction_of
from api.transfers.repository import transfer_from_row

RESOLVED_STATUSES = {"posted", "voided", "expired"}

# (type, subject, account ids, data) of each event one mod stands for.
Derived = tuple[str, str, tuple[str, ...], dict[str, Any]]


def events_of(change: DataChange) -> list[Event]:
    derive = _BY_TABLE.get(change.table)
    if derive is None or change.mod_type == "DELETE":
        return []  # the ledger never deletes what it watches
    events = []
    for mod_index, mod in enumerate(change.mods):
        for k, (kind, subject, accounts, data) in enumerate(derive(change.mod_type, mod)):
            events.append(
                Event(
                    id=event_id(kind, subject, change.commit_timestamp),
                    type=kind,
                    commit_timestamp=change.commit_timestamp,
                    position=(
                        f"{change.server_transaction_id}/{change.record_sequence}"
                        f"/{mod_index:05d}/{k}"
                    ),
                    account_ids=accounts,
                    data=data,
                )
            )
    return events


def _account_events(mod_type: str, mod: Mod) -> Iterator[Derived]:
    account = _account_data(mod.row)
    subject = (account["id"],)
    if mod_type == "INSERT":
        yield "account.opened", account["id"], subject, account
    elif mod.changed("Closed"):
        kind = "account.closed" if mod.new_values["Closed"] else "account.reopened"
        yield kind, account["id"], subject, account


def _transfer_events(mod_type: str, mod: Mod) -> Iterator[Derived]:
    transfer = transfer_to_wire(transfer_from_row({**_TRANSFER_DEFAULTS, **mod.row}))
    data = transfer.model_dump(mode="json")
    accounts = (transfer.debit_account_id, transfer.credit_account_id)
    if mod_type == "INSERT":
        yield "transfer.created", transfer.id, accounts, data
        return
    if mod.changed("Status") and transfer.status in RESOLVED_STATUSES:
        yield f"transfer.{transfer.status}", transfer.id, accounts, data
        transaction_id = transaction_of(transfer.id)
        # The legs of a transaction resolve together; its first leg speaks for all.
        if transaction_id is not None and transfer.id.endswith(f"{LEG_SEPARATOR}0"):
            summary = {"id": transaction_id, "status": transfer.status}
            yield f"transaction.{transfer.status}", transaction_id, (), summary
    if mod.changed("ReversedAmount"):
        yield "transfer.reversed", transfer.id, accounts, data


def _transaction_events(mod_type: str, mod: Mod) -> Iterator[Derived]:
    data = _transaction_data(mod.row)
    if mod_type == "INSERT":
        yield "transaction.created", data["id"], (), data
    elif mod.changed("ReversedByTransactionId"):
        yield "transaction.reversed", data["id"], (), data


def _account_data(row: dict[str, Any]) -> dict[str, Any]:
    """An account as the stream watches it: what defines it, not its balances."""
    record = account_from_row({**_ACCOUNT_DEFAULTS, **row})
    return {
        "id": record.id,
        "currency": record.currency,
        "flags": {
            "debits_must_not_exceed_credits": record.debits_must_not_exceed_credits,
            "credits_must_not_exceed_debits": record.credits_must_not_exceed_debits,
        },
        "bounds": {"lower": record.lower_bound, "upper": record.upper_bound},
        "metadata": record.metadata,
        "labels": record.labels or {},
        "status": "closed" if record.closed else "open",
        "created_at": _instant(record.created_at),
    }


def _transaction_data(row: dict[str, Any]) -> dict[str, Any]:
    record = transaction_from_row(row)
    return {
        "id": record.id,
        "leg_count": record.leg_count,
        "pending": record.pending,
        "expires_at": _instant(record.expires_at),
        "metadata": record.metadata,
        "labels": record.labels or {},
        "created_at": _instant(record.created_at),
        "reverses_transaction_id": record.reverses_transaction_id,
        "reversed_by_transaction_id": record.reversed_by_transaction_id,
    }


def _instant(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


# Columns the stream does not carry for an account (its balances, by design) and the
# bookkeeping of a transfer the wire form ignores.
_ACCOUNT_DEFAULTS: dict[str, Any] = {
    "DebitsPosted": 0, "CreditsPosted": 0, "DebitsPending": 0, "CreditsPending": 0,
    "Version": 0, "RequestHash": "", "UpdatedAt": None,
}  # fmt: skip
_TRANSFER_DEFAULTS: dict[str, Any] = {"RequestHash": ""}

_BY_TABLE: dict[str, Callable[[str, Mod], Iterator[Derived]]] = {
    "Accounts": _account_events,
    "Transfers": _transfer_events,
    "Transactions": _transaction_events,
}

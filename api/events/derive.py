"""Change stream records -> events. Pure: the same record always gives the same events,
with the same ids and positions, so a record read twice is delivered twice only as a
duplicate.

A commit writes a row once, whatever happened to it in the commit: a hold made and
posted in one batch is one INSERT whose row is already posted. So an event is derived
for every state the row went through, rebuilt from the row it ended as (and from the old
values an UPDATE carries): that INSERT gives ``transfer.created`` (the hold, pending)
and then ``transfer.posted``.

Within a commit, events are ordered by stage (every creation, then every resolution,
then every reversal), then by the record's place in the transaction: one resource's
events keep their life's order even when the rows that tell them are reported in
another order (a transaction's row after its first leg's, say).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from api.accounts.repository import account_from_row
from api.events.model import Event, event_id
from api.events.records import DataChange, Mod
from api.ids import LEG_SEPARATOR
from api.ledger.records import TransferRecord, transaction_of
from api.ledger.repository.transactions import transaction_from_row
from api.ledger.repository.transfers import transfer_from_row
from api.wire.transfer import to_wire as transfer_to_wire

RESOLVED_STATUSES = {"posted", "voided", "expired"}

# The stages of a commit's events, in the order they are served.
CREATED, RESOLVED, REVERSED = 0, 1, 2

# (stage, type, subject, account ids, data) of each event one mod stands for.
Derived = tuple[int, str, str, tuple[str, ...], dict[str, Any]]


def events_of(change: DataChange) -> list[Event]:
    derive = _BY_TABLE.get(change.table)
    if derive is None or change.mod_type == "DELETE":
        return []  # the ledger never deletes what it watches
    events = []
    for mod_index, mod in enumerate(change.mods):
        for k, (stage, kind, subject, accounts, data) in enumerate(derive(change.mod_type, mod)):
            events.append(
                Event(
                    id=event_id(kind, subject, change.commit_timestamp),
                    type=kind,
                    commit_timestamp=change.commit_timestamp,
                    position=(
                        f"{change.server_transaction_id}/{stage}/{change.record_sequence}"
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
    closed = account["status"] == "closed"
    if mod_type == "INSERT":
        yield CREATED, "account.opened", account["id"], subject, {**account, "status": "open"}
        if closed:  # opened and closed in one commit
            yield RESOLVED, "account.closed", account["id"], subject, account
    elif mod.changed("Closed"):
        kind = "account.closed" if closed else "account.reopened"
        yield RESOLVED, kind, account["id"], subject, account


def _transfer_events(mod_type: str, mod: Mod) -> Iterator[Derived]:
    final = transfer_from_row({**_TRANSFER_DEFAULTS, **mod.row})
    accounts = (final.debit_account_id, final.credit_account_id)
    inserted = mod_type == "INSERT"
    resolved = final.status in RESOLVED_STATUSES and (
        mod.changed("Status") or (inserted and final.pending)
    )
    reversed_ = final.reversed_amount > 0 and (mod.changed("ReversedAmount") or inserted)
    # The row before this commit's reversals (an UPDATE carries the old value).
    before_reversal = final
    if inserted:
        before_reversal = replace(final, reversed_amount=0)
    elif reversed_:
        old_amount = int(mod.old_values.get("ReversedAmount") or 0)
        before_reversal = replace(final, reversed_amount=old_amount)
    if inserted:
        created = before_reversal
        if resolved:  # a hold resolved in the commit that made it: first, the hold
            created = replace(created, status="pending", posted_amount=None, resolved_at=None)
        yield CREATED, "transfer.created", final.id, accounts, _wire(created)
    if resolved:
        yield RESOLVED, f"transfer.{final.status}", final.id, accounts, _wire(before_reversal)
        transaction_id = transaction_of(final.id)
        # The legs of a transaction resolve together; its first leg speaks for all.
        if transaction_id is not None and final.id.endswith(f"{LEG_SEPARATOR}0"):
            summary = {"id": transaction_id, "status": final.status}
            yield RESOLVED, f"transaction.{final.status}", transaction_id, (), summary
    if reversed_:
        yield REVERSED, "transfer.reversed", final.id, accounts, _wire(final)


def _transaction_events(mod_type: str, mod: Mod) -> Iterator[Derived]:
    data = _transaction_data(mod.row)
    inserted = mod_type == "INSERT"
    if inserted:
        yield CREATED, "transaction.created", data["id"], (), {
            **data, "reversed_by_transaction_id": None,
        }  # fmt: skip
    if data["reversed_by_transaction_id"] and (inserted or mod.changed("ReversedByTransactionId")):
        yield REVERSED, "transaction.reversed", data["id"], (), data


def _wire(record: TransferRecord) -> dict[str, Any]:
    return transfer_to_wire(record).model_dump(mode="json")


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

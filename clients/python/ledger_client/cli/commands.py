"""One function per command: call the API, print the answer (table, or ``--json``)."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from pydantic import BaseModel

from ledger_client import models as m
from ledger_client.cli.output import print_json, print_record, print_table
from ledger_client.client import LedgerClient

T = TypeVar("T")

ACCOUNT_COLUMNS = ("id", "currency", "status", "balance", "available_balance", "labels")
TRANSFER_COLUMNS = (
    "id", "debit_account_id", "credit_account_id", "amount", "currency", "status", "created_at",
)  # fmt: skip
ENTRY_COLUMNS = ("sequence", "posted_at", "kind", "amount", "balance_after", "transfer_id")
EVENT_COLUMNS = ("occurred_at", "type", "id", "account_ids")


def labels(pairs: Iterable[str]) -> dict[str, str] | None:
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"ledger: --label wants KEY=VALUE, got {pair!r}")
        parsed[key] = value
    return parsed or None


def limited(items: Iterator[T], limit: int) -> list[T]:
    return list(itertools.islice(items, limit) if limit > 0 else items)


def show(record: BaseModel, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        print_json(record, out)
    else:
        print_record(record, out)


def show_rows(
    rows: list[T], columns: tuple[str, ...], args: argparse.Namespace, out: TextIO
) -> None:
    models = [row for row in rows if isinstance(row, BaseModel)]
    if args.json:
        print_json(models, out)
    else:
        print_table(models, columns, out)


# --- accounts -------------------------------------------------------------------------


def accounts_open(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    flags = m.AccountFlags(
        debits_must_not_exceed_credits=args.wallet, credits_must_not_exceed_debits=args.credit_line
    )
    bounds = m.BalanceBounds(lower=args.lower_bound, upper=args.upper_bound)
    account = ledger.open_account(
        args.currency, id=args.id, flags=flags, bounds=bounds, labels=labels(args.label)
    )
    show(account, args, out)


def accounts_show(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    if args.as_of:
        show(ledger.get_account_at(args.account_id, args.as_of), args, out)
    else:
        show(ledger.get_account(args.account_id), args, out)


def accounts_list(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    found = ledger.iter_accounts(currency=args.currency, labels=labels(args.label))
    show_rows(limited(found, args.limit), ACCOUNT_COLUMNS, args, out)


def accounts_close(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    show(ledger.close_account(args.account_id), args, out)


def accounts_reopen(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    show(ledger.reopen_account(args.account_id), args, out)


# --- transfers ------------------------------------------------------------------------


def transfer(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    """``transfer`` and ``hold`` (``args.pending``)."""
    made = ledger.create_transfer(
        id=args.id,
        debit_account_id=args.debit,
        credit_account_id=args.credit,
        amount=args.amount,
        currency=args.currency,
        labels=labels(args.label),
        pending=args.pending,
        timeout_seconds=getattr(args, "timeout", None),
    )
    show(made, args, out)


def post(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    show(ledger.post_transfer(args.transfer_id, amount=args.amount), args, out)


def void(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    show(ledger.void_transfer(args.transfer_id), args, out)


def reverse(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    show(ledger.reverse_transfer(args.transfer_id, id=args.id, amount=args.amount), args, out)


# --- reads ----------------------------------------------------------------------------


def balances(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    snapshot: m.BalanceSnapshot | m.BalanceSnapshotAt
    if args.as_of:
        snapshot = ledger.balances_at(args.account_ids, args.as_of)
        columns: tuple[str, ...] = ("account_id", "currency", "existed", "balance", "sequence")
    else:
        snapshot = ledger.balances(args.account_ids)
        columns = ("account_id", "currency", "balance", "debits_pending", "credits_pending")
    if args.json:
        print_json(snapshot, out)
        return
    print_table(snapshot.balances, columns, out)
    out.write(f"read at {snapshot.read_timestamp.isoformat()}\n")


def history(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    entries = ledger.iter_entries(args.account_id, from_=args.from_, to=args.to)
    show_rows(limited(entries, args.limit), ENTRY_COLUMNS, args, out)


def statement(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    show(ledger.statement(args.account_id, from_=args.from_, to=args.to), args, out)


def events_tail(ledger: LedgerClient, args: argparse.Namespace, out: TextIO) -> None:
    """One line per event (``--json``: one JSON object per line), flushed as they come."""
    events = ledger.tail_events(
        after=args.after, limit=args.limit, poll_interval=args.interval, follow=not args.no_follow
    )
    for event in events:
        if args.json:
            out.write(event.model_dump_json(by_alias=True) + "\n")
        else:
            ids = ",".join(event.account_ids)
            out.write(f"{event.occurred_at.isoformat()}  {event.type:<20}  {event.id}  {ids}\n")
        out.flush()

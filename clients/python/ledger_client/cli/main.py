"""``ledger``: argument parsing and dispatch (the commands are in ``commands``).

Target: ``--url`` or ``LEDGER_URL`` (default http://127.0.0.1:8080, ``make run``).
Identity: ``--auth`` (``LEDGER_AUTH``, default ``auto``), see ``identity``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ledger_client.cli import commands
from ledger_client.cli.identity import AUTH_MODES, token_source
from ledger_client.client import LedgerClient
from ledger_client.errors import ApiError, TransportError

DEFAULT_URL = "http://127.0.0.1:8080"


def _accounts(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    accounts = sub.add_parser("accounts", help="open, show, list, close, reopen accounts")
    verbs = accounts.add_subparsers(dest="verb", required=True)
    opening = verbs.add_parser("open", help="open an account")
    opening.add_argument("--currency", required=True)
    opening.add_argument("--id", help="the account id (default: generated)")
    opening.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    kind = opening.add_mutually_exclusive_group()
    kind.add_argument("--wallet", action="store_true", help="balance may not go below 0")
    kind.add_argument("--credit-line", action="store_true", help="balance may not go above 0")
    opening.add_argument("--lower-bound", type=int)
    opening.add_argument("--upper-bound", type=int)
    opening.set_defaults(run=commands.accounts_open)
    show = verbs.add_parser("show", help="one account and its balances")
    show.add_argument("account_id")
    show.add_argument("--as-of", help="RFC 3339: its posted balance at that instant")
    show.set_defaults(run=commands.accounts_show)
    listing = verbs.add_parser("list", help="list accounts")
    listing.add_argument("--currency")
    listing.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (0: all)")
    listing.set_defaults(run=commands.accounts_list)
    for verb in ("close", "reopen"):
        change = verbs.add_parser(verb, help=f"{verb} an account")
        change.add_argument("account_id")
        change.set_defaults(run=getattr(commands, f"accounts_{verb}"))


def _movements(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, helptext in (("transfer", "move money"), ("hold", "reserve money (a hold)")):
        parser = sub.add_parser(name, help=helptext)
        parser.add_argument("--from", dest="debit", required=True, help="debit account")
        parser.add_argument("--to", dest="credit", required=True, help="credit account")
        parser.add_argument("--amount", type=int, required=True, help="minor units")
        parser.add_argument("--id", help="the transfer id (default: generated)")
        parser.add_argument("--currency")
        parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
        if name == "hold":
            parser.add_argument("--timeout", type=int, help="seconds until it expires")
        parser.set_defaults(run=commands.transfer, pending=name == "hold")
    post = sub.add_parser("post", help="settle a hold (all of it, or --amount)")
    post.add_argument("transfer_id")
    post.add_argument("--amount", type=int)
    post.set_defaults(run=commands.post)
    void = sub.add_parser("void", help="release a hold")
    void.add_argument("transfer_id")
    void.set_defaults(run=commands.void)
    reverse = sub.add_parser("reverse", help="move (part of) a posted transfer back")
    reverse.add_argument("transfer_id")
    reverse.add_argument("--id", help="the reversal's id (default: generated)")
    reverse.add_argument("--amount", type=int)
    reverse.set_defaults(run=commands.reverse)


def _reads(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    balances = sub.add_parser("balances", help="balances of accounts from one snapshot")
    balances.add_argument("account_ids", nargs="+")
    balances.add_argument("--as-of", help="RFC 3339: posted balances at that instant")
    balances.set_defaults(run=commands.balances)
    history = sub.add_parser("history", help="an account's entries, newest first")
    history.add_argument("account_id")
    history.add_argument("--from", dest="from_", help="RFC 3339: posted at or after")
    history.add_argument("--to", help="RFC 3339: posted before")
    history.add_argument("--limit", type=int, default=50, help="at most this many (0: all)")
    history.set_defaults(run=commands.history)
    statement = sub.add_parser("statement", help="opening/closing balance over a range")
    statement.add_argument("account_id")
    statement.add_argument("--from", dest="from_", required=True, help="RFC 3339")
    statement.add_argument("--to", help="RFC 3339 (default: now)")
    statement.set_defaults(run=commands.statement)
    events = sub.add_parser("events", help="the change feed")
    verbs = events.add_subparsers(dest="verb", required=True)
    tail = verbs.add_parser("tail", help="print events as they come")
    tail.add_argument("--after", help="a cursor (default: the start of retention)")
    tail.add_argument("--limit", type=int, help="events per request")
    tail.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    tail.add_argument("--no-follow", action="store_true", help="stop when caught up")
    tail.set_defaults(run=commands.events_tail)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ledger", description="The spanner-ledger API.")
    root.add_argument("--url", default=os.environ.get("LEDGER_URL", DEFAULT_URL))
    root.add_argument("--json", action="store_true", help="JSON output, for scripts")
    root.add_argument("--auth", choices=AUTH_MODES, default=os.environ.get("LEDGER_AUTH", "auto"))
    root.add_argument("--token", default=os.environ.get("LEDGER_TOKEN"), help="a bearer token")
    root.add_argument(
        "--audience",
        default=os.environ.get("LEDGER_AUDIENCE"),
        help="of Google ID tokens (default: the URL)",
    )
    sub = root.add_subparsers(dest="command", required=True)
    _accounts(sub)
    _movements(sub)
    _reads(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    auth = token_source(args.auth, url=args.url, token=args.token, audience=args.audience)
    try:
        with LedgerClient(args.url, auth=auth) as ledger:
            args.run(ledger, args, sys.stdout)
    except ApiError as error:
        sys.stderr.write(f"ledger: {error.status} {error.code}: {error.detail}\n")
        return 1
    except TransportError as error:
        sys.stderr.write(f"ledger: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

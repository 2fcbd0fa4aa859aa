"""Sealing: the facts committed since an account's head, chained onto it.

The engine's sealer follows commits: it reads, from one snapshot, each changed
account's rows after its stored head, calls ``seal_account``, and writes the seals onto
those rows and the new head, in one transaction with the checkpoint that covers them
(docs/SECURITY.md, "Design note"). Sealing reads committed rows, so each fact's commit
timestamp is in its seal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from api.evidence.chain import ChainHead, ChainOrderError, chain_order
from api.evidence.encoding import Fact
from api.evidence.rows import (
    AccountChangeRow,
    AccountRow,
    EntryRow,
    TransferRow,
    change_fact,
    entry_fact,
    opening_fact,
)


@dataclass(frozen=True)
class Sealing:
    head: ChainHead  # the new head, to store
    seals: list[tuple[tuple[int, int], bytes]]  # (position, seal) to write on each row


def seal_account(
    ledger: str,
    account: AccountRow,
    head: ChainHead | None,
    *,
    changes: Sequence[AccountChangeRow],
    entries: Sequence[EntryRow],
    transfers: Mapping[str, TransferRow],
) -> Sealing:
    """Seal the facts after ``head`` (None: a new chain, from the account's opening).

    ``changes`` are all the account's changes (a handful); ``entries`` every entry after
    the head up to the snapshot, and may include sealed ones (they are skipped). A hole
    in either would leave a fact out of its chain for good, so it is refused
    (ChainOrderError), as is an entry whose totals are not filled in yet
    (EncodingError).
    """
    start = head or ChainHead.start(ledger, account.id)
    _check_complete(start, changes, entries)
    facts: list[Fact] = []
    if start.position is None:
        facts.append(opening_fact(ledger, account))
    facts += [change_fact(ledger, change) for change in changes if change.number > 1]
    facts += [entry_fact(ledger, entry, transfers[entry.transfer_id]) for entry in entries]
    after = start.position
    pending = [fact for fact in chain_order(facts) if after is None or fact.position > after]
    new_head, seals = start.extend(pending)
    return Sealing(
        new_head, [(fact.position, seal) for fact, seal in zip(pending, seals, strict=True)]
    )


def _check_complete(
    head: ChainHead, changes: Sequence[AccountChangeRow], entries: Sequence[EntryRow]
) -> None:
    numbers = sorted(change.number for change in changes if change.number > 1)
    if numbers != list(range(2, len(numbers) + 2)):
        raise ChainOrderError(f"{head.account_id}'s changes are not 2..n: {numbers}")
    sealed_through = head.position[0] if head.position is not None else 0
    sequences = sorted(e.sequence for e in entries if e.sequence > sealed_through)
    if sequences != list(range(sealed_through + 1, sealed_through + 1 + len(sequences))):
        raise ChainOrderError(
            f"{head.account_id}'s entries after {sealed_through} are not contiguous"
        )

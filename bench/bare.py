"""The physical limit here: the bare google-cloud-spanner client doing the same logical
work as one transfer - read the transfer id and both accounts, update both, insert the
transfer and two entries - with the fewest columns, K transfers per commit."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from typing import Any

from google.cloud import spanner

from api.config import Settings
from api.ids import key_hash
from bench.scenarios import Measurement, _measurement

BARE = "bare client ceiling"


def _commit(transaction: Any, pairs: list[tuple[str, str, str]]) -> int:
    ids = [t for t, _, _ in pairs]
    accounts = sorted({a for _, d, c in pairs for a in (d, c)})
    list(transaction.read("Transfers", ("TransferId",),
                          spanner.KeySet(keys=[[key_hash(t), t] for t in ids])))  # fmt: skip
    rows = transaction.read(
        "Accounts", ("AccountId", "DebitsPosted", "CreditsPosted", "Version"),
        spanner.KeySet(keys=[[key_hash(a), a] for a in accounts]),
    )  # fmt: skip
    state = {r[0]: [r[1], r[2], r[3]] for r in rows}
    transfers, entries = [], []
    for tid, debit, credit in pairs:
        for account, sign in ((debit, -1), (credit, 1)):
            totals = state[account]
            totals[0 if sign < 0 else 1] += 1
            totals[2] += 1
            entries.append((key_hash(account), account, totals[2], tid, sign,
                            totals[1] - totals[0], spanner.COMMIT_TIMESTAMP))  # fmt: skip
        transfers.append((key_hash(tid), tid, debit, credit, 1, "USD", "posted", "bare",
                          spanner.COMMIT_TIMESTAMP))  # fmt: skip
    transaction.update(
        "Accounts", ("KeyHash", "AccountId", "DebitsPosted", "CreditsPosted", "Version"),
        [(key_hash(a), a, *v) for a, v in state.items()],
    )  # fmt: skip
    transaction.insert(
        "Transfers", ("KeyHash", "TransferId", "DebitAccountId", "CreditAccountId", "Amount",
                      "Currency", "Status", "RequestHash", "CreatedAt"), transfers,
    )  # fmt: skip
    transaction.insert(
        "Entries", ("KeyHash", "AccountId", "Sequence", "TransferId", "Amount", "BalanceAfter",
                    "PostedAt"), entries,
    )  # fmt: skip
    return len(pairs)


def ceiling(settings: Settings, accounts: list[str], per_txn: int, seconds: float) -> Measurement:
    """K transfers per commit, back to back, with nothing of ours in the way."""
    client = spanner.Client(project=settings.project)
    database = client.instance(settings.spanner_instance).database(
        settings.spanner_database, pool=spanner.PingingPool(size=2)
    )
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    latencies: list[float] = []
    transfers = 0
    stop_at = time.perf_counter() + seconds
    started = time.perf_counter()
    i = 0
    while time.perf_counter() < stop_at:
        pairs = []
        for k in range(per_txn):
            debit, credit = rng.sample(accounts, 2)
            pairs.append((f"b{run}-{i}-{k}", debit, credit))
        t0 = time.perf_counter()
        transfers += database.run_in_transaction(_commit, pairs)
        latencies.append(time.perf_counter() - t0)
        i += 1
    elapsed = time.perf_counter() - started
    return _measurement(
        BARE, per_txn, elapsed=elapsed, transfers=transfers, latencies=latencies,
        statuses=Counter({201: transfers}),
    )  # fmt: skip

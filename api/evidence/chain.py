"""Per-account hash chains: one per (ledger, account), so sealing never serialises the
ledger (Formance and Blnk keep one global chain; a global lock or a single sealer).

    genesis(ledger, account) = SHA-256(0x02 || u8 1 || text ledger || text account)
    link(previous, fact)     = SHA-256(0x03 || previous || encode_fact(fact))

The chain's head after its n-th fact is the seal stored with that fact; a fact's place
is its ``position`` (entries by sequence, account changes after the entry count they
saw), so the order is fixed by the rows themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from api.evidence.encoding import FORMAT_VERSION, Domain, Encoder, Fact, encode_fact


def genesis(ledger: str, account_id: str) -> bytes:
    return hashlib.sha256(
        bytes(Encoder(Domain.GENESIS, FORMAT_VERSION).text(ledger).text(account_id))
    ).digest()


def link(previous: bytes, fact: Fact) -> bytes:
    return link_encoded(previous, encode_fact(fact))


def link_encoded(previous: bytes, encoded: bytes) -> bytes:
    digest = hashlib.sha256(bytes((Domain.LINK,)))
    digest.update(previous)
    digest.update(encoded)
    return digest.digest()


class ChainOrderError(ValueError):
    """Facts of another chain, or out of order: sealing them would seal a lie."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainHead:
    """Where a chain stands: ``length`` facts sealed, the last at ``position``, and the
    seal after it (``head``). What a sealer keeps per account to go on from."""

    ledger: str
    account_id: str
    length: int
    head: bytes
    position: tuple[int, int] | None = None

    @classmethod
    def start(cls, ledger: str, account_id: str) -> ChainHead:
        return cls(ledger=ledger, account_id=account_id, length=0, head=genesis(ledger, account_id))

    def extend(self, facts: Iterable[Fact]) -> tuple[ChainHead, list[bytes]]:
        """The head after ``facts`` (in chain order, after this head's position) and
        the seal of each."""
        seals: list[bytes] = []
        head, position = self.head, self.position
        for fact in facts:
            if (fact.ledger, fact.account_id) != (self.ledger, self.account_id):
                raise ChainOrderError(
                    f"a fact of {fact.ledger}/{fact.account_id} in the chain of "
                    f"{self.ledger}/{self.account_id}"
                )
            if position is not None and fact.position <= position:
                raise ChainOrderError(f"fact at {fact.position} after one at {position}")
            head, position = link(head, fact), fact.position
            seals.append(head)
        extended = ChainHead(
            ledger=self.ledger,
            account_id=self.account_id,
            length=self.length + len(seals),
            head=head,
            position=position,
        )
        return extended, seals


def chain_order(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda fact: fact.position)


def chain_head(ledger: str, account_id: str, facts: Iterable[Fact]) -> ChainHead:
    """The head of a whole chain, from genesis."""
    head, _ = ChainHead.start(ledger, account_id).extend(facts)
    return head

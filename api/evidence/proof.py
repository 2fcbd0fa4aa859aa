"""Inclusion proofs: one account's history against one published checkpoint digest.

A proof holds the checkpoint (its statement and signature), the account's facts up to
the length the checkpoint committed to, and the hashes beside the account's leaf on its
way up the tree. Whoever holds the digest checks it with nothing else:

1. the checkpoint's statement hashes to the digest (and, given the public key, its
   signature verifies);
2. the facts, chained from the account's genesis, give a head and a length;
3. that leaf, folded up with the siblings, gives the statement's root.

The client reimplements this (clients/python/ledger_client/proof.py) from the spec;
tests/evidence/vectors.json keeps the two the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.evidence.chain import ChainHead, ChainOrderError, chain_order
from api.evidence.checkpoint import Checkpoint
from api.evidence.encoding import (
    ACCOUNT_CHANGE_KINDS,
    ENTRY_KINDS,
    FORMAT_VERSION,
    AccountFact,
    AccountTerms,
    EncodingError,
    EntryFact,
    Fact,
    TransferTerms,
    format_instant,
    parse_instant,
)
from api.evidence.signing import verify_signature
from api.evidence.tree import NodeReader, account_key, leaf_hash, prove, root_from_path


class ProofError(ValueError):
    """The proof does not show what it claims. ``step`` names the check that failed:
    format, digest, signature, opening, order or root (the same in the client)."""

    def __init__(self, message: str, step: str = "format") -> None:
        super().__init__(message)
        self.step = step


class HistoryMismatch(RuntimeError):
    """The account's facts as stored now do not chain to the head the checkpoint holds:
    its history changed after the checkpoint (no proof can be given; run the verifier)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InclusionProof:
    checkpoint: Checkpoint
    account_id: str
    facts: tuple[Fact, ...]
    siblings: tuple[bytes, ...]

    @property
    def ledger(self) -> str:
        return self.checkpoint.statement.ledger

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "ledger": self.ledger,
            "account_id": self.account_id,
            "checkpoint": self.checkpoint.document(),
            "facts": [fact_document(fact) for fact in self.facts],
            "siblings": [sibling.hex() for sibling in self.siblings],
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> InclusionProof:
        try:
            if document["format"] != FORMAT_VERSION:
                raise EncodingError(f"proof format {document['format']!r} is unknown")
            checkpoint = Checkpoint.from_document(document["checkpoint"])
            ledger, account_id = str(document["ledger"]), str(document["account_id"])
            if ledger != checkpoint.statement.ledger:
                raise EncodingError("the proof's ledger is not its checkpoint's")
            facts = tuple(fact_from_document(ledger, account_id, f) for f in document["facts"])
            siblings = tuple(bytes.fromhex(str(s)) for s in document["siblings"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProofError(f"not a proof document: {exc}") from exc
        if any(len(sibling) != 32 for sibling in siblings):
            raise ProofError("a sibling is not a 32-byte hash")
        return cls(checkpoint=checkpoint, account_id=account_id, facts=facts, siblings=siblings)


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifiedAccount:
    """What a verified proof establishes."""

    ledger: str
    account_id: str
    checkpoint_number: int
    snapshot_at_ns: int
    length: int
    head: bytes


def build_proof(
    reader: NodeReader, checkpoint: Checkpoint, facts: Iterable[Fact]
) -> InclusionProof:
    """The proof of one account's ``facts`` (all of them as stored now; those after the
    checkpoint are left out) against ``checkpoint``, its tree read as of that checkpoint.

    Raises LookupError when the checkpoint has no leaf for the account (opened after
    it), HistoryMismatch when the stored facts no longer give the head it committed to.
    """
    ordered = chain_order(facts)
    if not ordered:
        raise LookupError("an account has at least its opening")
    ledger, account_id = ordered[0].ledger, ordered[0].account_id
    path = prove(reader, ledger, account_id, version=checkpoint.statement.number)
    if path is None:
        raise LookupError(f"checkpoint {checkpoint.statement.number} has no leaf for {account_id}")
    covered = tuple(ordered[: path.leaf.length])
    head, _ = ChainHead.start(ledger, account_id).extend(covered)
    if head.length != path.leaf.length or head.head != path.leaf.head:
        raise HistoryMismatch(
            f"{account_id}'s first {path.leaf.length} facts no longer chain to the head "
            f"checkpoint {checkpoint.statement.number} holds"
        )
    return InclusionProof(
        checkpoint=checkpoint, account_id=account_id, facts=covered, siblings=path.siblings
    )


def verify_proof(
    proof: InclusionProof, digest: bytes, *, public_key_pem: str | None = None
) -> VerifiedAccount:
    """Check ``proof`` against a trusted checkpoint ``digest``; raises ProofError."""
    statement = proof.checkpoint.statement
    if proof.checkpoint.digest != digest:
        raise ProofError("the proof's checkpoint does not hash to the trusted digest", "digest")
    if public_key_pem is not None and not verify_signature(
        public_key_pem, digest, proof.checkpoint.signature
    ):
        raise ProofError("the checkpoint's signature does not verify with that key", "signature")
    if not proof.facts or not _is_opening(proof.facts[0]):
        raise ProofError("an account's chain starts with its opening", "opening")
    try:
        head, _ = ChainHead.start(statement.ledger, proof.account_id).extend(proof.facts)
    except ChainOrderError as exc:
        raise ProofError(f"the facts do not form a chain: {exc}", "order") from exc
    except EncodingError as exc:
        raise ProofError(f"a fact cannot be encoded: {exc}") from exc
    key = account_key(statement.ledger, proof.account_id)
    if (
        root_from_path(key, leaf_hash(key, head.length, head.head), proof.siblings)
        != statement.root
    ):
        raise ProofError(
            "the account's chain and path do not lead to the checkpoint's root", "root"
        )
    return VerifiedAccount(
        ledger=statement.ledger,
        account_id=proof.account_id,
        checkpoint_number=statement.number,
        snapshot_at_ns=statement.snapshot_at_ns,
        length=head.length,
        head=head.head,
    )


def _is_opening(fact: Fact) -> bool:
    return isinstance(fact, AccountFact) and fact.kind == "opened" and fact.number == 1


# --- facts as JSON -------------------------------------------------------------------


def fact_document(fact: Fact) -> dict[str, Any]:
    if isinstance(fact, EntryFact):
        terms = fact.transfer
        return {
            "type": "entry",
            "sequence": fact.sequence,
            "transfer_id": fact.transfer_id,
            "kind": fact.kind,
            "amount": fact.amount,
            "pending_amount": fact.pending_amount,
            "balance_after": fact.balance_after,
            "debits_after": fact.debits_after,
            "credits_after": fact.credits_after,
            "posted_at": format_instant(fact.posted_at_ns),
            "transfer": {
                "debit_account_id": terms.debit_account_id,
                "credit_account_id": terms.credit_account_id,
                "amount": terms.amount,
                "currency": terms.currency,
                "reverses_transfer_id": terms.reverses_transfer_id,
            },
        }
    document: dict[str, Any] = {
        "type": "account",
        "kind": fact.kind,
        "number": fact.number,
        "version": fact.version,
        "at": format_instant(fact.at_ns),
    }
    if fact.terms is not None:
        document["terms"] = {
            "currency": fact.terms.currency,
            "debits_must_not_exceed_credits": fact.terms.debits_must_not_exceed_credits,
            "credits_must_not_exceed_debits": fact.terms.credits_must_not_exceed_debits,
            "lower_bound": fact.terms.lower_bound,
            "upper_bound": fact.terms.upper_bound,
        }
    return document


def fact_from_document(ledger: str, account_id: str, document: Mapping[str, Any]) -> Fact:
    """Strict: every field present with its JSON type, nothing else."""
    read = _Fields(document)
    fact_type = read.text("type")
    if fact_type == "entry":
        terms = _Fields(read.object("transfer"))
        fact: Fact = EntryFact(
            ledger=ledger,
            account_id=account_id,
            sequence=read.integer("sequence"),
            transfer_id=read.text("transfer_id"),
            kind=read.choice("kind", ENTRY_KINDS),
            amount=read.integer("amount"),
            pending_amount=read.integer("pending_amount"),
            balance_after=read.integer("balance_after"),
            debits_after=read.integer("debits_after"),
            credits_after=read.integer("credits_after"),
            posted_at_ns=parse_instant(read.text("posted_at")),
            transfer=TransferTerms(
                debit_account_id=terms.text("debit_account_id"),
                credit_account_id=terms.text("credit_account_id"),
                amount=terms.integer("amount"),
                currency=terms.text("currency"),
                reverses_transfer_id=terms.optional_text("reverses_transfer_id"),
            ),
        )
        terms.done()
    elif fact_type == "account":
        kind = read.choice("kind", ACCOUNT_CHANGE_KINDS)
        fact = AccountFact(
            ledger=ledger,
            account_id=account_id,
            kind=kind,
            number=read.integer("number"),
            version=read.integer("version"),
            at_ns=parse_instant(read.text("at")),
            terms=_terms(_Fields(read.object("terms"))) if kind == "opened" else None,
        )
    else:
        raise EncodingError(f"unknown fact type {fact_type!r}")
    read.done()
    return fact


def _terms(read: _Fields) -> AccountTerms:
    terms = AccountTerms(
        currency=read.text("currency"),
        debits_must_not_exceed_credits=read.boolean("debits_must_not_exceed_credits"),
        credits_must_not_exceed_debits=read.boolean("credits_must_not_exceed_debits"),
        lower_bound=read.optional_integer("lower_bound"),
        upper_bound=read.optional_integer("upper_bound"),
    )
    read.done()
    return terms


class _Fields:
    """Reads a JSON object field by field, refusing wrong types and leftover keys."""

    def __init__(self, document: object) -> None:
        if not isinstance(document, Mapping):
            raise EncodingError(f"expected an object, got {document!r}")
        self._document = document
        self._seen: set[str] = set()

    def _get(self, name: str) -> object:
        if name not in self._document:
            raise EncodingError(f"{name!r} is missing")
        self._seen.add(name)
        return self._document[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise EncodingError(f"{name!r} must be a string")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self._get(name)
        return None if value is None else self.text(name)

    def integer(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise EncodingError(f"{name!r} must be an integer")
        return value

    def optional_integer(self, name: str) -> int | None:
        return None if self._get(name) is None else self.integer(name)

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise EncodingError(f"{name!r} must be true or false")
        return value

    def choice(self, name: str, allowed: tuple[Any, ...]) -> Any:
        value = self.text(name)
        if value not in allowed:
            raise EncodingError(f"{name!r} must be one of {', '.join(allowed)}")
        return value

    def object(self, name: str) -> Mapping[str, Any]:
        value = self._get(name)
        if not isinstance(value, Mapping):
            raise EncodingError(f"{name!r} must be an object")
        return value

    def done(self) -> None:
        extra = set(self._document) - self._seen
        if extra:
            raise EncodingError(f"unknown field(s): {', '.join(sorted(extra))}")

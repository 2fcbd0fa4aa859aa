"""The shared test vectors: tests/evidence/vectors.json, written by

    .venv/bin/python -m tests.evidence.vectors

from api.evidence. tests/evidence/test_vectors.py holds the file to what api.evidence
computes now; tests/client/test_proof.py holds the client's own implementation to the
file. So neither side can drift from the other (or from the spec) without a test
failing. Everything is deterministic except the checkpoint's ECDSA signature, which is
checked by verifying it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from api.evidence.chain import ChainHead, genesis
from api.evidence.encoding import (
    INT64_MAX,
    INT64_MIN,
    AccountFact,
    AccountTerms,
    EntryFact,
    Fact,
    TransferTerms,
    encode_fact,
)
from api.evidence.proof import build_proof, fact_document
from api.evidence.signing import LocalSigner
from api.evidence.tree import account_key, build_tree, leaf_hash, prove, root_of
from tests.evidence.book import Book

PATH = Path(__file__).with_name("vectors.json")
# A fixed key, so the public key in the file stays the same across regenerations.
SIGNER = LocalSigner(ec.derive_private_key(0x5EA1ED_C0FFEE_1EDE_0000_0026, ec.SECP256R1()))


def sample_facts() -> list[Fact]:
    """Facts that exercise every shape: negative and extreme numbers, absent and present
    optionals, instants before 1970 and with nanoseconds, non-ASCII text."""
    terms = TransferTerms(
        debit_account_id="bank", credit_account_id="alice", amount=1000, currency="USD"
    )
    return [
        AccountFact(
            ledger="default",
            account_id="alice",
            kind="opened",
            number=1,
            version=0,
            at_ns=1_790_000_000_123_456_789,
            terms=AccountTerms(
                currency="USD",
                debits_must_not_exceed_credits=True,
                credits_must_not_exceed_debits=False,
            ),
        ),
        AccountFact(
            ledger="default",
            account_id="credit-line",
            kind="opened",
            number=1,
            version=0,
            at_ns=-1,
            terms=AccountTerms(
                currency="EUR",
                debits_must_not_exceed_credits=False,
                credits_must_not_exceed_debits=True,
                lower_bound=INT64_MIN,
                upper_bound=-50_000,
            ),
        ),
        EntryFact(
            ledger="default",
            account_id="alice",
            sequence=1,
            transfer_id="t-1",
            kind="transfer",
            amount=1000,
            pending_amount=0,
            balance_after=1000,
            debits_after=0,
            credits_after=1000,
            posted_at_ns=1_790_000_000_999_999_999,
            transfer=terms,
        ),
        EntryFact(
            ledger="books-é",
            account_id="bank",
            sequence=INT64_MAX,
            transfer_id="purchase-42~0",
            kind="reversal",
            amount=-(2**63),
            pending_amount=-7,
            balance_after=-1,
            debits_after=INT64_MAX,
            credits_after=0,
            posted_at_ns=0,
            transfer=TransferTerms(
                debit_account_id="bank",
                credit_account_id="alice",
                amount=INT64_MAX,
                currency="USD",
                reverses_transfer_id="t-1",
            ),
        ),
        AccountFact(
            ledger="default",
            account_id="alice",
            kind="closed",
            number=2,
            version=1,
            at_ns=-62_135_596_800_000_000_000,
        ),  # 0001-01-01T00:00:00Z
        AccountFact(
            ledger="default",
            account_id="alice",
            kind="reopened",
            number=3,
            version=1,
            at_ns=253_402_300_799_999_999_999,
        ),  # 9999-12-31T23:59:59.999999999Z
    ]


def sample_book() -> Book:
    book = Book(signer=SIGNER)
    book.open("bank")
    book.open("alice", debits_must_not_exceed_credits=True)
    book.open("shop", lower_bound=-500)
    book.transfer("t-1", "bank", "alice", 10_000)
    book.hold("auth-1", "alice", "shop", 5_000)
    book.checkpoint()
    book.resolve("auth-1", "posted", 4_200)
    book.transfer("refund-1", "shop", "alice", 1_000, reverses="auth-1")
    book.close("shop")
    for n in range(8):
        book.open(f"acct-{n:04d}")
    book.checkpoint()
    return book


def build() -> dict[str, Any]:
    facts = sample_facts()
    book = sample_book()
    latest = book.checkpoints[-1]
    heads = list(book.heads.values())
    ledger = book.ledger
    proofs = [
        {"digest": checkpoint.digest.hex(), "proof": proof.document()}
        for account, checkpoint in (
            ("alice", latest),
            ("shop", latest),
            ("alice", book.checkpoints[0]),
        )
        for proof in [build_proof(book.store, checkpoint, book.facts(account))]
    ]
    return {
        "format": 1,
        "about": "spanner-ledger tamper evidence, format 1: docs/SECURITY.md; written by "
        "python -m tests.evidence.vectors",
        "facts": [
            {
                "ledger": f.ledger,
                "account_id": f.account_id,
                "fact": fact_document(f),
                "encoded": encode_fact(f).hex(),
            }
            for f in facts
        ],
        "genesis": [
            {
                "ledger": f.ledger,
                "account_id": f.account_id,
                "hash": genesis(f.ledger, f.account_id).hex(),
            }
            for f in facts
        ],
        "chain": _chain([f for f in facts if f.ledger == "default" and f.account_id == "alice"]),
        "tree": {
            "ledger": ledger,
            "leaves": [
                {
                    "account_id": h.account_id,
                    "length": h.length,
                    "head": h.head.hex(),
                    "key": account_key(ledger, h.account_id).hex(),
                    "leaf_hash": leaf_hash(
                        account_key(ledger, h.account_id), h.length, h.head
                    ).hex(),
                }
                for h in heads
            ],
            "root": root_of(ledger, [_leaf(h) for h in heads]).hex(),
            "paths": {
                h.account_id: [s.hex() for s in _siblings(book, h.account_id)] for h in heads
            },
            "nodes": len(build_tree(ledger, [_leaf(h) for h in heads])),
        },
        "public_key_pem": SIGNER.public_key_pem(),
        "checkpoint": {**latest.document(), "statement": latest.statement.encode().hex()},
        "proofs": {"valid": proofs, "invalid": _forgeries(proofs[0])},
    }


def _chain(facts: list[Fact]) -> dict[str, Any]:
    ordered = sorted(facts, key=lambda fact: fact.position)
    head = ChainHead.start("default", "alice")
    heads = []
    for fact in ordered:
        head, _ = head.extend([fact])
        heads.append(head.head.hex())
    return {
        "ledger": "default",
        "account_id": "alice",
        "facts": [fact_document(f) for f in ordered],
        "heads": heads,
    }


def _leaf(head: ChainHead) -> Any:
    from api.evidence.tree import Leaf  # noqa: PLC0415

    return Leaf(account_id=head.account_id, length=head.length, head=head.head)


def _siblings(book: Book, account_id: str) -> tuple[bytes, ...]:
    path = prove(book.store, book.ledger, account_id)
    assert path is not None
    return path.siblings


def _forgeries(valid: dict[str, Any]) -> list[dict[str, Any]]:
    """Proofs that must be refused, each changed in one way from a valid one."""

    def changed(why: str, step: str, edit: Any, digest: str | None = None) -> dict[str, Any]:
        proof = json.loads(json.dumps(valid["proof"]))
        edit(proof)
        return {"why": why, "fails_at": step, "digest": digest or valid["digest"], "proof": proof}

    def entry(proof: dict[str, Any]) -> dict[str, Any]:
        return next(f for f in proof["facts"] if f["type"] == "entry")

    return [
        changed(
            "an entry's amount", "root", lambda p: entry(p).update(amount=entry(p)["amount"] + 1)
        ),
        changed(
            "an entry's time, by a nanosecond",
            "root",
            lambda p: entry(p).update(posted_at=_later(entry(p)["posted_at"])),
        ),
        changed(
            "the transfer's currency", "root", lambda p: entry(p)["transfer"].update(currency="EUR")
        ),
        changed("a fact left out", "root", lambda p: p["facts"].pop()),
        changed("two facts swapped", "order", lambda p: p["facts"].insert(1, p["facts"].pop(2))),
        changed("a sibling", "root", lambda p: p["siblings"].__setitem__(0, "00" * 32)),
        changed("a sibling left out", "root", lambda p: p["siblings"].pop()),
        changed("another account's name", "root", lambda p: p.update(account_id="bank")),
        changed(
            "the checkpoint's root", "format", lambda p: p["checkpoint"].update(root="11" * 32)
        ),
        changed("another digest trusted", "digest", lambda _: None, digest="22" * 32),
        changed("the opening left out", "opening", lambda p: p["facts"].pop(0)),
        changed(
            "a flag of the opening",
            "root",
            lambda p: p["facts"][0]["terms"].update(debits_must_not_exceed_credits=False),
        ),
    ]


def _later(instant: str) -> str:
    digits = instant[-10:-1]
    return instant[:-10] + f"{(int(digits) + 1) % 10**9:09d}" + "Z"


def main() -> None:
    PATH.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()

"""Checkpoints: a chain of signed statements; their documents parse back only whole."""

from __future__ import annotations

import dataclasses

import pytest

from api.evidence.chain import ChainHead
from api.evidence.checkpoint import NO_PREVIOUS, Checkpoint, make_checkpoint
from api.evidence.encoding import EncodingError
from api.evidence.signing import LocalSigner, verify_signature
from api.evidence.tree import EMPTY, MemoryNodeStore

LEDGER = "default"
SIGNER = LocalSigner.generate()


def heads(*accounts: str, length: int = 1) -> list[ChainHead]:
    return [
        ChainHead(ledger=LEDGER, account_id=a, length=length, head=bytes([length]) * 32)
        for a in accounts
    ]


def checkpoints(*rounds: list[ChainHead]) -> list[Checkpoint]:
    store, made, previous = MemoryNodeStore(), [], None
    for number, changed in enumerate(rounds, start=1):
        checkpoint, _ = make_checkpoint(
            store, SIGNER, ledger=LEDGER, previous=previous, snapshot_at_ns=number * 10**9,
            heads=changed,
        )  # fmt: skip
        made.append(checkpoint)
        previous = checkpoint.statement
    return made


def test_each_checkpoint_names_the_one_before_and_counts_its_accounts():
    first, second, third = checkpoints(heads("a", "b"), heads("b", "c", length=2), [])
    assert first.statement.previous == NO_PREVIOUS
    assert second.statement.previous == first.digest
    assert third.statement.previous == second.digest
    assert [c.statement.accounts for c in (first, second, third)] == [2, 3, 3]
    assert third.statement.root == second.statement.root != first.statement.root


def test_a_ledger_without_accounts_checkpoints_the_empty_root():
    [only] = checkpoints([])
    assert (only.statement.root, only.statement.accounts) == (EMPTY, 0)


def test_the_signature_is_over_the_digest_with_the_signers_key():
    [checkpoint] = checkpoints(heads("a"))
    assert checkpoint.key_name == SIGNER.key_name
    assert verify_signature(SIGNER.public_key_pem(), checkpoint.digest, checkpoint.signature)
    other = LocalSigner.generate().public_key_pem()
    assert not verify_signature(other, checkpoint.digest, checkpoint.signature)


def test_a_document_parses_back_to_the_checkpoint():
    [checkpoint] = checkpoints(heads("a"))
    assert Checkpoint.from_document(checkpoint.document()) == checkpoint


@pytest.mark.parametrize(
    ("name", "value"),
    [("root", "00" * 32), ("number", 2), ("accounts", 0), ("ledger", "other"),
     ("snapshot_at", "2026-01-01T00:00:00.000000000Z"), ("format", 2), ("number", True)],
)  # fmt: skip
def test_a_document_with_a_field_changed_is_refused(name, value):
    [checkpoint] = checkpoints(heads("a"))
    with pytest.raises(EncodingError):
        Checkpoint.from_document(checkpoint.document() | {name: value})


def test_a_snapshot_must_move_forward():
    [checkpoint] = checkpoints(heads("a"))
    with pytest.raises(ValueError, match="later"):
        make_checkpoint(
            MemoryNodeStore(), SIGNER, ledger=LEDGER, previous=checkpoint.statement,
            snapshot_at_ns=checkpoint.statement.snapshot_at_ns, heads=[],
        )  # fmt: skip


def test_a_chain_of_another_ledger_is_refused():
    stranger = dataclasses.replace(heads("a")[0], ledger="other")
    with pytest.raises(ValueError, match="other"):
        checkpoints([stranger])


def test_checkpoints_made_round_by_round_have_the_root_of_all_heads_at_once():
    from api.evidence.tree import Leaf, root_of  # noqa: PLC0415

    rounds = [heads("a", "b", "c"), heads("b", length=2), heads("d", "a", length=3), []]
    latest: dict[str, ChainHead] = {}
    for made, changed in zip(checkpoints(*rounds), rounds, strict=True):
        latest |= {head.account_id: head for head in changed}
        leaves = [
            Leaf(account_id=h.account_id, length=h.length, head=h.head) for h in latest.values()
        ]
        assert made.statement.root == root_of(LEDGER, leaves)


def test_a_first_checkpoint_over_a_tree_already_stored_is_refused():
    store = MemoryNodeStore()
    make_checkpoint(store, SIGNER, ledger=LEDGER, previous=None, snapshot_at_ns=1, heads=heads("a"))
    with pytest.raises(ValueError, match="already"):
        make_checkpoint(
            store, SIGNER, ledger=LEDGER, previous=None, snapshot_at_ns=2, heads=heads("b")
        )

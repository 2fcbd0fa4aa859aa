"""Inclusion proofs: built from the store and the rows, verified with nothing but the
digest; refused after any forgery, and not built at all when the rows changed."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from api.evidence.proof import (
    HistoryMismatch,
    InclusionProof,
    ProofError,
    build_proof,
    verify_proof,
)
from api.evidence.signing import LocalSigner
from tests.evidence.book import Book
from tests.evidence.strategies import books, fields_of, other_value, replace, value_of


@pytest.fixture
def book() -> Book:
    book = Book()
    book.open("bank")
    book.open("alice", debits_must_not_exceed_credits=True)
    book.transfer("t-1", "bank", "alice", 10_000)
    book.checkpoint()
    book.hold("h-1", "alice", "bank", 300)
    book.resolve("h-1", "voided")
    book.close("alice")
    book.checkpoint()
    book.transfer("t-2", "bank", "alice", 5)  # after the last checkpoint
    return book


def test_a_proof_verifies_with_the_digest_alone(book):
    checkpoint = book.checkpoints[-1]
    proof = build_proof(book.store, checkpoint, book.facts("alice"))
    verified = verify_proof(proof, checkpoint.digest)
    assert (verified.account_id, verified.length) == ("alice", 5)  # t-2 came after it
    assert verified.head == book.heads["alice"].head


def test_a_proof_survives_its_json(book):
    checkpoint = book.checkpoints[-1]
    proof = build_proof(book.store, checkpoint, book.facts("alice"))
    again = InclusionProof.from_document(json.loads(json.dumps(proof.document())))
    assert again == proof
    verify_proof(again, checkpoint.digest)


def test_a_proof_against_an_older_checkpoint_holds_the_history_it_had(book):
    first = book.checkpoints[0]
    proof = build_proof(book.store, first, book.facts("alice"))
    assert verify_proof(proof, first.digest).length == 2
    with pytest.raises(ProofError) as refused:
        verify_proof(proof, book.checkpoints[-1].digest)
    assert refused.value.step == "digest"


def test_the_signature_is_checked_when_a_key_is_given(book):
    checkpoint = book.checkpoints[-1]
    proof = build_proof(book.store, checkpoint, book.facts("alice"))
    verify_proof(proof, checkpoint.digest, public_key_pem=book.signer.public_key_pem())
    with pytest.raises(ProofError) as refused:
        verify_proof(
            proof, checkpoint.digest, public_key_pem=LocalSigner.generate().public_key_pem()
        )
    assert refused.value.step == "signature"


def test_a_forged_fact_is_refused(book):
    checkpoint = book.checkpoints[-1]
    proof = build_proof(book.store, checkpoint, book.facts("alice"))
    forged = list(proof.facts)
    forged[2] = dataclasses.replace(forged[2], amount=forged[2].amount + 1)
    with pytest.raises(ProofError) as refused:
        verify_proof(dataclasses.replace(proof, facts=tuple(forged)), checkpoint.digest)
    assert refused.value.step == "root"


def test_no_proof_is_built_from_rows_changed_since_the_checkpoint(book):
    book.forge_entry("alice", 1, posted_at_ns=book.entries["alice"][0].posted_at_ns + 1)
    with pytest.raises(HistoryMismatch):
        build_proof(book.store, book.checkpoints[-1], book.facts("alice"))


def test_an_account_opened_after_the_checkpoint_has_no_proof(book):
    book.open("late")
    with pytest.raises(LookupError):
        build_proof(book.store, book.checkpoints[-1], book.facts("late"))


def test_a_malformed_document_is_a_format_error(book):
    proof = build_proof(book.store, book.checkpoints[-1], book.facts("alice")).document()
    proof["facts"][1]["amount"] = "10000"
    with pytest.raises(ProofError) as refused:
        InclusionProof.from_document(proof)
    assert refused.value.step == "format"


@settings(max_examples=40, deadline=None)
@given(books(), st.data())
def test_any_account_proves_against_any_checkpoint_and_no_forged_fact_does(book, data):
    checkpoint = data.draw(st.sampled_from(book.checkpoints))
    account = data.draw(st.sampled_from(sorted(book.accounts)))
    proof = build_proof(book.store, checkpoint, book.facts(account))
    assert verify_proof(proof, checkpoint.digest).account_id == account
    index = data.draw(st.integers(0, len(proof.facts) - 1))
    fact = proof.facts[index]
    name = data.draw(
        st.sampled_from([n for n in fields_of(fact) if n not in ("ledger", "account_id")])
    )
    value = other_value(data.draw, fact, name)
    assume(value != value_of(fact, name))
    forged = list(proof.facts)
    forged[index] = replace(fact, name, value)
    with pytest.raises(ProofError):
        verify_proof(dataclasses.replace(proof, facts=tuple(forged)), checkpoint.digest)

"""tests/evidence/vectors.json is what api.evidence computes (tests/client/test_proof.py
holds the client to the same file)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.evidence.checkpoint import Checkpoint
from api.evidence.encoding import encode_fact
from api.evidence.proof import InclusionProof, ProofError, fact_from_document, verify_proof
from api.evidence.signing import verify_signature
from tests.evidence.vectors import PATH, build

VECTORS = json.loads(PATH.read_text(encoding="utf-8"))


def without_signatures(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: without_signatures(v) for k, v in document.items() if k != "signature"}
    if isinstance(document, list):
        return [without_signatures(item) for item in document]
    return document


def test_the_file_is_what_the_code_computes_now():
    # ECDSA signatures are randomised; they are checked by verifying them instead.
    assert without_signatures(build()) == without_signatures(VECTORS), (
        "regenerate with: .venv/bin/python -m tests.evidence.vectors (and say why the "
        "format changed: third parties hold proofs made with it)"
    )


@pytest.mark.parametrize("item", VECTORS["facts"], ids=lambda item: item["fact"]["type"])
def test_each_fact_parses_and_encodes_to_its_bytes(item):
    fact = fact_from_document(item["ledger"], item["account_id"], item["fact"])
    assert encode_fact(fact).hex() == item["encoded"]


def test_the_checkpoint_signature_verifies():
    checkpoint = Checkpoint.from_document(
        {k: v for k, v in VECTORS["checkpoint"].items() if k != "statement"}
    )
    assert checkpoint.statement.encode().hex() == VECTORS["checkpoint"]["statement"]
    assert verify_signature(VECTORS["public_key_pem"], checkpoint.digest, checkpoint.signature)


@pytest.mark.parametrize("item", VECTORS["proofs"]["valid"], ids=lambda i: i["proof"]["account_id"])
def test_each_valid_proof_verifies(item):
    proof = InclusionProof.from_document(item["proof"])
    verify_proof(proof, bytes.fromhex(item["digest"]), public_key_pem=VECTORS["public_key_pem"])


@pytest.mark.parametrize("item", VECTORS["proofs"]["invalid"], ids=lambda item: item["why"])
def test_each_forged_proof_fails_at_its_step(item):
    with pytest.raises(ProofError) as refused:
        verify_proof(InclusionProof.from_document(item["proof"]), bytes.fromhex(item["digest"]))
    assert refused.value.step == item["fails_at"]

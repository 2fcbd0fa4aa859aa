"""The client's own proof verification (ledger_client.proof, written from the spec)
against the shared vectors that api.evidence produced (tests/evidence/vectors.json)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ledger_client import proof as client

VECTORS = json.loads(
    (Path(__file__).parents[1] / "evidence" / "vectors.json").read_text(encoding="utf-8")
)
PEM = VECTORS["public_key_pem"]


@pytest.mark.parametrize("item", VECTORS["facts"], ids=lambda item: item["fact"]["type"])
def test_each_fact_encodes_to_the_services_bytes(item):
    encoded = client.encode_fact(item["ledger"], item["account_id"], item["fact"])
    assert encoded.hex() == item["encoded"]


@pytest.mark.parametrize("item", VECTORS["genesis"], ids=lambda item: item["account_id"])
def test_each_genesis_is_the_services(item):
    assert client.genesis(item["ledger"], item["account_id"]).hex() == item["hash"]


def test_the_chain_gives_the_services_heads():
    chain = VECTORS["chain"]
    head = client.genesis(chain["ledger"], chain["account_id"])
    for fact, expected in zip(chain["facts"], chain["heads"], strict=True):
        head = client.link(head, client.encode_fact(chain["ledger"], chain["account_id"], fact))
        assert head.hex() == expected


def test_every_leaf_folds_up_to_the_services_root():
    tree = VECTORS["tree"]
    for leaf in tree["leaves"]:
        key = client.account_key(tree["ledger"], leaf["account_id"])
        assert key.hex() == leaf["key"]
        hashed = client.leaf_hash(key, leaf["length"], bytes.fromhex(leaf["head"]))
        assert hashed.hex() == leaf["leaf_hash"]
        siblings = [bytes.fromhex(s) for s in tree["paths"][leaf["account_id"]]]
        assert client.fold(key, hashed, siblings).hex() == tree["root"]


def test_the_checkpoint_statement_and_its_signature():
    checkpoint = VECTORS["checkpoint"]
    assert client.checkpoint_statement(checkpoint).hex() == checkpoint["statement"]
    client.verify_checkpoint_signature(checkpoint, PEM)


@pytest.mark.parametrize("item", VECTORS["proofs"]["valid"], ids=lambda i: i["proof"]["account_id"])
def test_each_valid_proof_verifies(item):
    verified = client.verify_proof(item["proof"], item["digest"], public_key_pem=PEM)
    assert verified.account_id == item["proof"]["account_id"]
    assert verified.length == len(item["proof"]["facts"])
    assert verified.checkpoint_number == item["proof"]["checkpoint"]["number"]


@pytest.mark.parametrize("item", VECTORS["proofs"]["invalid"], ids=lambda item: item["why"])
def test_each_forged_proof_fails_at_the_same_step_as_in_the_service(item):
    with pytest.raises(client.ProofError) as refused:
        client.verify_proof(item["proof"], item["digest"])
    assert refused.value.step == item["fails_at"]


def test_a_signature_by_another_key_is_refused():
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    item = VECTORS["proofs"]["valid"][0]
    with pytest.raises(client.ProofError) as refused:
        client.verify_proof(item["proof"], item["digest"], public_key_pem=pem)
    assert refused.value.step == "signature"


def test_a_fact_with_a_field_too_many_is_malformed():
    item = copy.deepcopy(VECTORS["proofs"]["valid"][0])
    item["proof"]["facts"][1]["note"] = "ignored?"
    with pytest.raises(client.ProofError) as refused:
        client.verify_proof(item["proof"], item["digest"])
    assert refused.value.step == "format"


def test_the_digest_may_be_given_as_bytes():
    item = VECTORS["proofs"]["valid"][0]
    assert client.verify_proof(item["proof"], bytes.fromhex(item["digest"])).length > 0


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [("1970-01-01T00:00:00Z", 0), ("1969-12-31T23:59:59.999999999Z", -1),
     ("2026-01-01T01:00:00.000000001+01:00", 1_767_225_600_000_000_001)],
)  # fmt: skip
def test_instants_keep_their_nanoseconds(text, nanoseconds):
    assert client.parse_instant(text) == nanoseconds

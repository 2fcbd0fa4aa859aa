"""Check an account's inclusion proof against a checkpoint digest you trust.

    from ledger_client.proof import verify_proof
    proof = ...  # GET /v1/accounts/alice/proof?checkpoint=<digest>, as parsed JSON
    verified = verify_proof(proof, "<digest from the ledger.checkpoint event>")
    verified.length, verified.head  # the account's history the checkpoint holds

Written from the specification (the service's docs/SECURITY.md, "Tamper evidence"),
not from the service's code: this module depends on nothing of the service, so a proof
it accepts is one the spec accepts. Signatures need the ``cryptography`` package
(``verify_checkpoint_signature``); the digest check does not.
"""

from __future__ import annotations

import hashlib
import re
import struct
from calendar import timegm
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMAT = 1
NANOS = 10**9
# The first byte of each hashed input.
LEAF, NODE, GENESIS, LINK, CHECKPOINT, KEY = 0, 1, 2, 3, 4, 5
FACT_TYPES = {"entry": 1, "opened": 2, "closed": 3, "reopened": 4}
ENTRY_KINDS = ("transfer", "hold", "hold_posted", "hold_voided", "hold_expired", "reversal")
_INSTANT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


class ProofError(ValueError):
    """The proof does not show that the account's history is the checkpoint's. ``step``
    names the check that failed: format, digest, signature, opening, order or root."""

    def __init__(self, message: str, step: str = "format") -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class VerifiedProof:
    ledger: str
    account_id: str
    checkpoint_number: int
    snapshot_at: str  # RFC 3339, nanoseconds
    length: int  # facts of the account's history the checkpoint covers
    head: str  # hex: the chain's head after them
    facts: tuple[Mapping[str, Any], ...]  # those facts, in chain order


def verify_proof(
    proof: Mapping[str, Any], digest: str | bytes, *, public_key_pem: str | None = None
) -> VerifiedProof:
    """Check ``proof`` (the parsed JSON document) against a trusted checkpoint digest
    (hex or bytes); with ``public_key_pem``, also the checkpoint's signature. Raises
    ProofError naming the step that failed."""
    trusted = bytes.fromhex(digest) if isinstance(digest, str) else digest
    try:
        return _verify(proof, trusted, public_key_pem)
    except ProofError:
        raise
    except (KeyError, TypeError, ValueError, struct.error) as exc:
        raise ProofError(f"malformed proof: {exc!r}") from exc


def _verify(proof: Mapping[str, Any], trusted: bytes, public_key_pem: str | None) -> VerifiedProof:
    if proof["format"] != FORMAT:
        raise ProofError(f"unknown proof format {proof['format']!r}")
    checkpoint = proof["checkpoint"]
    ledger, account_id = _text(proof["ledger"]), _text(proof["account_id"])
    if checkpoint["ledger"] != ledger:
        raise ProofError("the proof's ledger is not its checkpoint's")
    digest = hashlib.sha256(checkpoint_statement(checkpoint)).digest()
    if digest.hex() != checkpoint["digest"]:
        raise ProofError("the checkpoint's fields do not hash to its own digest")
    if digest != trusted:
        raise ProofError("the checkpoint does not hash to the trusted digest", "digest")
    if public_key_pem is not None:
        verify_checkpoint_signature(checkpoint, public_key_pem)
    facts = proof["facts"]
    if not facts or facts[0].get("type") != "account" or facts[0].get("kind") != "opened":
        raise ProofError("an account's chain starts with its opening", "opening")
    head, last = genesis(ledger, account_id), None
    for fact in facts:
        place = _position(fact)
        if last is not None and place <= last:
            raise ProofError(f"facts out of order: {place} after {last}", "order")
        head, last = link(head, encode_fact(ledger, account_id, fact)), place
    key = account_key(ledger, account_id)
    siblings = [_hash(s) for s in proof["siblings"]]
    root = fold(key, leaf_hash(key, len(facts), head), siblings)
    if root != _hash(checkpoint["root"]):
        raise ProofError(
            "the account's chain and path do not lead to the checkpoint's root", "root"
        )
    return VerifiedProof(
        ledger=ledger,
        account_id=account_id,
        checkpoint_number=checkpoint["number"],
        snapshot_at=checkpoint["snapshot_at"],
        length=len(facts),
        head=head.hex(),
        facts=tuple(facts),
    )


def verify_checkpoint_signature(checkpoint: Mapping[str, Any], public_key_pem: str) -> None:
    """The checkpoint's signature: ECDSA P-256 over its digest (DER, hex in ``signature``)."""
    try:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
        from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ec, utils  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ProofError("checking a signature needs the 'cryptography' package") from exc
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ProofError("the public key is not an elliptic-curve key")
    digest = hashlib.sha256(checkpoint_statement(checkpoint)).digest()
    try:
        key.verify(
            bytes.fromhex(checkpoint["signature"]),
            digest,
            ec.ECDSA(utils.Prehashed(hashes.SHA256())),
        )
    except InvalidSignature:
        raise ProofError(
            "the checkpoint's signature does not verify with that key", "signature"
        ) from None


# --- the specification, step by step --------------------------------------------------


def _u8(value: int) -> bytes:
    return struct.pack(">B", value)


def _i64(value: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{value!r} is not an integer")
    return struct.pack(">q", value)


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ProofError(f"{value!r} is not a string")
    return value


def _str(value: object) -> bytes:
    data = _text(value).encode("utf-8")
    return struct.pack(">I", len(data)) + data


def _optional(value: object, encode: Any) -> bytes:
    return b"\x00" if value is None else b"\x01" + encode(value)


def _bool(value: object) -> bytes:
    if not isinstance(value, bool):
        raise ProofError(f"{value!r} is not true or false")
    return _u8(int(value))


def _instant(text: object) -> bytes:
    seconds, nanos = divmod(parse_instant(_text(text)), NANOS)
    return _i64(seconds) + struct.pack(">I", nanos)


def _hash(value: object) -> bytes:
    data = bytes.fromhex(_text(value))
    if len(data) != 32:
        raise ProofError(f"{value!r} is not a 32-byte hash")
    return data


def parse_instant(text: str) -> int:
    """Nanoseconds since the Unix epoch of an RFC 3339 instant (Python's datetime holds
    only microseconds, so the fraction is read by hand)."""
    match = _INSTANT.match(text)
    if match is None:
        raise ProofError(f"{text!r} is not an RFC 3339 instant")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    seconds = timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    if zone != "Z":
        offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
        seconds -= offset if zone[0] == "+" else -offset
    return seconds * NANOS + int((fraction or "").ljust(9, "0"))


_ENTRY_FIELDS = {
    "type", "sequence", "transfer_id", "kind", "amount", "pending_amount", "balance_after",
    "debits_after", "credits_after", "posted_at", "transfer",
}  # fmt: skip
_TERMS_FIELDS = {
    "entry": {"debit_account_id", "credit_account_id", "amount", "currency",
              "reverses_transfer_id"},
    "opened": {"currency", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits",
               "lower_bound", "upper_bound"},
}  # fmt: skip
_CHANGE_FIELDS = {"type", "kind", "number", "version", "at"}


def _exactly(document: Mapping[str, Any], fields: set[str]) -> None:
    """A fact's JSON holds its fields and nothing else, as the service's parser wants."""
    if set(document) != fields:
        raise ProofError(f"fields {sorted(document)} are not {sorted(fields)}")


def encode_fact(ledger: str, account_id: str, fact: Mapping[str, Any]) -> bytes:
    """A fact's canonical bytes (format 1), from its JSON form in a proof."""
    if fact["type"] == "entry":
        _exactly(fact, _ENTRY_FIELDS)
        _exactly(fact["transfer"], _TERMS_FIELDS["entry"])
        if fact["kind"] not in ENTRY_KINDS:
            raise ProofError(f"unknown entry kind {fact['kind']!r}")
        terms = fact["transfer"]
        return b"".join([
            _u8(FORMAT), _u8(FACT_TYPES["entry"]), _str(ledger), _str(account_id),
            _i64(fact["sequence"]), _str(fact["transfer_id"]), _str(fact["kind"]),
            _i64(fact["amount"]), _i64(fact["pending_amount"]), _i64(fact["balance_after"]),
            _i64(fact["debits_after"]), _i64(fact["credits_after"]), _instant(fact["posted_at"]),
            _str(terms["debit_account_id"]), _str(terms["credit_account_id"]),
            _i64(terms["amount"]), _str(terms["currency"]),
            _optional(terms["reverses_transfer_id"], _str),
        ])  # fmt: skip
    if fact["type"] != "account" or fact["kind"] not in ("opened", "closed", "reopened"):
        raise ProofError(f"unknown fact {fact.get('type')!r}/{fact.get('kind')!r}")
    parts = [
        _u8(FORMAT), _u8(FACT_TYPES[fact["kind"]]), _str(ledger), _str(account_id),
        _i64(fact["number"]), _i64(fact["version"]), _instant(fact["at"]),
    ]  # fmt: skip
    if fact["kind"] == "opened":
        _exactly(fact, _CHANGE_FIELDS | {"terms"})
        terms = fact["terms"]
        _exactly(terms, _TERMS_FIELDS["opened"])
        parts += [
            _str(terms["currency"]), _bool(terms["debits_must_not_exceed_credits"]),
            _bool(terms["credits_must_not_exceed_debits"]),
            _optional(terms["lower_bound"], _i64), _optional(terms["upper_bound"], _i64),
        ]  # fmt: skip
    else:
        _exactly(fact, _CHANGE_FIELDS)
    return b"".join(parts)


def _position(fact: Mapping[str, Any]) -> tuple[int, int]:
    """Where a fact sits in its chain: entries by sequence; a change after the entry
    count it saw (``version``), ordered among changes by its ``number``."""
    if fact["type"] == "entry":
        return (fact["sequence"], 0)
    return (fact["version"], fact["number"])


def genesis(ledger: str, account_id: str) -> bytes:
    return hashlib.sha256(_u8(GENESIS) + _u8(FORMAT) + _str(ledger) + _str(account_id)).digest()


def link(previous: bytes, encoded_fact: bytes) -> bytes:
    return hashlib.sha256(_u8(LINK) + previous + encoded_fact).digest()


def account_key(ledger: str, account_id: str) -> bytes:
    return hashlib.sha256(_u8(KEY) + _str(ledger) + _str(account_id)).digest()


def leaf_hash(key: bytes, length: int, head: bytes) -> bytes:
    return hashlib.sha256(_u8(LEAF) + key + _u64(length) + head).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_u8(NODE) + left + right).digest()


def fold(key: bytes, leaf: bytes, siblings: Sequence[bytes]) -> bytes:
    """Up the tree from a leaf at depth len(siblings): at depth d the key's bit d (from
    the most significant) says whether the path goes right (1) or left (0)."""
    current = leaf
    for depth in reversed(range(len(siblings))):
        if (key[depth // 8] >> (7 - depth % 8)) & 1:
            current = node_hash(siblings[depth], current)
        else:
            current = node_hash(current, siblings[depth])
    return current


def checkpoint_statement(checkpoint: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint's digest is the SHA-256 of."""
    if checkpoint["format"] != FORMAT:
        raise ProofError(f"unknown checkpoint format {checkpoint['format']!r}")
    return b"".join([
        _u8(CHECKPOINT), _u8(FORMAT), _str(checkpoint["ledger"]), _u64(checkpoint["number"]),
        _instant(checkpoint["snapshot_at"]), _u64(checkpoint["accounts"]),
        _hash(checkpoint["root"]), _hash(checkpoint["previous"]),
    ])  # fmt: skip

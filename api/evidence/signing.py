"""Who vouches for a checkpoint: ECDSA P-256 over its SHA-256 digest.

A ``Signer`` signs a 32-byte digest and names its key; the signature is DER, as Cloud
KMS returns it, so one verifier serves both: ``verify_signature`` with the public key's
PEM. ``LocalSigner`` keeps its key in process (``make run``, tests); ``KmsSigner``
(api/evidence/kms.py) never sees its key.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

DIGEST_SIZE = 32
_PREHASHED = ec.ECDSA(Prehashed(hashes.SHA256()))


class SigningError(RuntimeError):
    """The digest could not be signed (the key is unreachable, or its answer was not
    intact); nothing was signed."""


class Signer(Protocol):
    @property
    def key_name(self) -> str:
        """Names the key in each checkpoint, so a verifier picks its public key."""
        ...

    def sign_digest(self, digest: bytes) -> bytes:
        """A DER ECDSA P-256 signature of a SHA-256 digest."""
        ...

    def public_key_pem(self) -> str: ...


class LocalSigner:
    """A P-256 key held in process."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise TypeError(f"the key is on {private_key.curve.name}, not P-256")
        self._key = private_key
        self._pem = _public_pem(private_key.public_key())
        self._name = "local:" + key_fingerprint(self._pem)

    @classmethod
    def generate(cls) -> LocalSigner:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes) -> LocalSigner:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("not an elliptic-curve private key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> LocalSigner:
        """The key in ``path``, made (readable by its owner only) on first use: a local
        run keeps one key across restarts, so its checkpoints stay verifiable."""
        if path.exists():
            return cls.from_pem(path.read_bytes())
        signer = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(signer.private_key_pem())
        return signer

    @property
    def key_name(self) -> str:
        return self._name

    def sign_digest(self, digest: bytes) -> bytes:
        _check_digest(digest)
        return self._key.sign(digest, _PREHASHED)

    def public_key_pem(self) -> str:
        return self._pem

    def private_key_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def verify_signature(public_key_pem: str, digest: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the key's ECDSA P-256 signature of ``digest``."""
    _check_digest(digest)
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise TypeError("not a P-256 public key")
    try:
        key.verify(signature, digest, _PREHASHED)
    except InvalidSignature:
        return False
    return True


def key_fingerprint(public_key_pem: str) -> str:
    """The first 16 hex digits of SHA-256 over the key's DER SubjectPublicKeyInfo."""
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def _public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _check_digest(digest: bytes) -> None:
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"a SHA-256 digest has {DIGEST_SIZE} bytes, not {len(digest)}")

"""Checkpoints signed by a Cloud KMS key (EC_SIGN_P256_SHA256) over its REST API.

The runtime may use the key to sign and nothing else (``cloudkms.cryptoKeyVersions.
useToSign`` and ``viewPublicKey``): the private key never leaves KMS, so a leaked
database credential cannot sign a forged checkpoint. The REST API through google-auth's
``AuthorizedSession`` needs no package beyond what the service has.

Both calls carry Google's integrity fields: the request's ``digestCrc32c``, checked by
KMS (``verifiedDigestCrc32c`` says it was), and the answer's ``signatureCrc32c`` and
``pemCrc32c``, checked here. A mismatch is retried a few times, as Google's reference
asks, then refused.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Protocol

from api.evidence.signing import DIGEST_SIZE, SigningError

KMS_ENDPOINT = "https://cloudkms.googleapis.com"
KMS_SCOPE = "https://www.googleapis.com/auth/cloudkms"
ALGORITHM = "EC_SIGN_P256_SHA256"
KEY_VERSION = re.compile(
    r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+/cryptoKeyVersions/[^/]+$"
)
ATTEMPTS = 3


class _Response(Protocol):
    status_code: int
    text: str

    def json(self) -> Any: ...


class HttpSession(Protocol):
    """What is used of ``google.auth.transport.requests.AuthorizedSession``."""

    def request(self, method: str, url: str, **kwargs: Any) -> _Response: ...


class KmsSigner:
    """Signs with one CryptoKeyVersion: ``projects/P/locations/L/keyRings/R/cryptoKeys/
    K/cryptoKeyVersions/V``, which is also the key's name in every checkpoint."""

    def __init__(
        self,
        key_version: str,
        *,
        session: HttpSession | None = None,
        endpoint: str = KMS_ENDPOINT,
        timeout_seconds: float = 10.0,
    ) -> None:
        if not KEY_VERSION.match(key_version):
            raise ValueError(f"{key_version!r} is not a CryptoKeyVersion resource name")
        self._name = key_version
        self._session = session if session is not None else _default_session()
        self._endpoint = endpoint.rstrip("/")
        self._timeout = timeout_seconds

    @property
    def key_name(self) -> str:
        return self._name

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != DIGEST_SIZE:
            raise ValueError(f"a SHA-256 digest has {DIGEST_SIZE} bytes, not {len(digest)}")
        body = {
            "digest": {"sha256": base64.b64encode(digest).decode("ascii")},
            # Int64Value fields are JSON strings.
            "digestCrc32c": str(crc32c(digest)),
        }
        url = f"{self._endpoint}/v1/{self._name}:asymmetricSign"
        for _ in range(ATTEMPTS):
            answer = self._call("POST", url, json=body)
            if answer.get("verifiedDigestCrc32c") is not True:
                continue  # the digest was damaged on its way, or the checksum dropped
            signature = base64.b64decode(answer.get("signature", ""))
            if str(crc32c(signature)) != str(answer.get("signatureCrc32c")):
                continue
            self._check_name(answer)
            return signature
        raise SigningError(f"KMS answers for {self._name} failed their checksums {ATTEMPTS} times")

    def public_key_pem(self) -> str:
        url = f"{self._endpoint}/v1/{self._name}/publicKey"
        for _ in range(ATTEMPTS):
            answer = self._call("GET", url)
            pem = answer.get("pem", "")
            if str(crc32c(pem.encode("utf-8"))) != str(answer.get("pemCrc32c")):
                continue
            self._check_name(answer)
            if answer.get("algorithm") != ALGORITHM:
                raise SigningError(f"{self._name} is {answer.get('algorithm')}, not {ALGORITHM}")
            return str(pem)
        raise SigningError(f"KMS answers for {self._name} failed their checksums {ATTEMPTS} times")

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except Exception as exc:  # any transport failure: the caller retries later
            raise SigningError(f"KMS unreachable: {exc}") from exc
        if response.status_code != 200:
            raise SigningError(f"KMS answered {response.status_code}: {response.text[:500]}")
        answer = response.json()
        if not isinstance(answer, dict):
            raise SigningError("KMS answered something other than a JSON object")
        return answer

    def _check_name(self, answer: dict[str, Any]) -> None:
        if answer.get("name") != self._name:
            raise SigningError(f"KMS answered for {answer.get('name')!r}, not {self._name!r}")


def _default_session() -> HttpSession:
    import google.auth  # noqa: PLC0415  (only a KMS signer needs credentials)
    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

    credentials, _ = google.auth.default(scopes=[KMS_SCOPE])
    session: HttpSession = AuthorizedSession(credentials)
    return session


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ 0x82F63B78 if value & 1 else value >> 1
        table.append(value)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), KMS's checksum; pure Python, for inputs of a few hundred
    bytes (no dependency for it)."""
    value = 0xFFFFFFFF
    for byte in data:
        value = (value >> 8) ^ _TABLE[(value ^ byte) & 0xFF]
    return value ^ 0xFFFFFFFF

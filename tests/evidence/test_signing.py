"""Signers: the local key, and Cloud KMS through its REST API against a fake server that
holds each request to the shape of Google's reference (asymmetricSign, getPublicKey)."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials

from api.evidence.kms import KmsSigner, crc32c
from api.evidence.signing import LocalSigner, SigningError, key_fingerprint, verify_signature

DIGEST = hashlib.sha256(b"a checkpoint statement").digest()
KEY = "projects/p/locations/europe-west1/keyRings/ledger/cryptoKeys/checkpoints/cryptoKeyVersions/1"


def test_a_local_signature_verifies_with_its_key_only():
    signer = LocalSigner.generate()
    signature = signer.sign_digest(DIGEST)
    assert verify_signature(signer.public_key_pem(), DIGEST, signature)
    assert not verify_signature(LocalSigner.generate().public_key_pem(), DIGEST, signature)
    assert not verify_signature(signer.public_key_pem(), hashlib.sha256(b"x").digest(), signature)


def test_a_local_key_is_named_by_its_fingerprint():
    signer = LocalSigner.generate()
    assert signer.key_name == "local:" + key_fingerprint(signer.public_key_pem())


def test_a_local_key_is_made_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "keys" / "checkpoints.pem"
    first = LocalSigner.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert LocalSigner.load_or_create(path).key_name == first.key_name


def test_only_a_sha256_digest_is_signed():
    with pytest.raises(ValueError, match="32 bytes"):
        LocalSigner.generate().sign_digest(b"short")


def test_crc32c_is_castagnolis():
    assert crc32c(b"123456789") == 0xE3069283  # the check value of CRC-32C
    assert crc32c(b"") == 0


# --- Cloud KMS --------------------------------------------------------------------------


@dataclass
class FakeKms:
    """Answers asymmetricSign and getPublicKey for KEY with a local P-256 key; each
    entry of ``faults`` spoils one answer, in order."""

    key: LocalSigner = field(default_factory=LocalSigner.generate)
    faults: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        self.requests.append({"method": method, "path": path, "headers": dict(headers),
                              "body": body})  # fmt: skip
        if headers.get("Authorization") != "Bearer test-token":
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}
        fault = self.faults.pop(0) if self.faults else None
        if fault == "denied":
            return 403, {"error": {"code": 403, "status": "PERMISSION_DENIED"}}
        if method == "POST" and path == f"/v1/{KEY}:asymmetricSign":
            return 200, self._sign(json.loads(body), fault)
        if method == "GET" and path == f"/v1/{KEY}/publicKey":
            pem = self.key.public_key_pem()
            return 200, {
                "pem": pem,
                "algorithm": "EC_SIGN_P256_SHA256",
                "pemCrc32c": str(crc32c(pem.encode()) ^ (1 if fault == "bad pem crc" else 0)),
                "name": KEY,
                "protectionLevel": "HSM",
            }
        return 404, {"error": {"code": 404, "status": "NOT_FOUND"}}

    def _sign(self, request: dict[str, Any], fault: str | None) -> dict[str, Any]:
        # The request, as the REST reference has it: a Digest with its sha256 in base64,
        # and digestCrc32c as an Int64Value (a JSON string).
        assert set(request) == {"digest", "digestCrc32c"}
        assert set(request["digest"]) == {"sha256"}
        digest = base64.b64decode(request["digest"]["sha256"], validate=True)
        assert len(digest) == 32
        assert isinstance(request["digestCrc32c"], str)
        verified = int(request["digestCrc32c"]) == crc32c(digest) and fault != "digest unverified"
        signature = self.key.sign_digest(digest)
        return {
            "signature": base64.b64encode(signature).decode(),
            "signatureCrc32c": str(crc32c(signature) ^ (1 if fault == "bad signature crc" else 0)),
            "verifiedDigestCrc32c": verified,
            "name": "projects/p/other" if fault == "other key" else KEY,
            "protectionLevel": "HSM",
        }


@pytest.fixture
def kms() -> Iterator[tuple[FakeKms, str]]:
    fake = FakeKms()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            status, answer = fake.answer(
                self.command, self.path, self.headers, self.rfile.read(size)
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def signer(endpoint: str) -> KmsSigner:
    session = AuthorizedSession(Credentials(token="test-token"))
    return KmsSigner(KEY, session=session, endpoint=endpoint)


def test_kms_signs_a_digest_that_its_public_key_verifies(kms):
    fake, endpoint = kms
    kms_signer = signer(endpoint)
    signature = kms_signer.sign_digest(DIGEST)
    assert kms_signer.key_name == KEY
    assert verify_signature(kms_signer.public_key_pem(), DIGEST, signature)
    sign, public = fake.requests
    assert (sign["method"], public["method"]) == ("POST", "GET")
    assert sign["headers"]["Content-Type"] == "application/json"
    assert json.loads(sign["body"]) == {
        "digest": {"sha256": base64.b64encode(DIGEST).decode()},
        "digestCrc32c": str(crc32c(DIGEST)),
    }
    assert public["body"] == b""


@pytest.mark.parametrize("fault", ["digest unverified", "bad signature crc"])
def test_a_damaged_answer_is_asked_again(kms, fault):
    fake, endpoint = kms
    fake.faults = [fault]
    signature = signer(endpoint).sign_digest(DIGEST)
    assert verify_signature(fake.key.public_key_pem(), DIGEST, signature)
    assert len(fake.requests) == 2


def test_answers_damaged_every_time_are_refused(kms):
    fake, endpoint = kms
    fake.faults = ["bad signature crc"] * 3
    with pytest.raises(SigningError, match="checksums"):
        signer(endpoint).sign_digest(DIGEST)


def test_a_public_key_damaged_every_time_is_refused(kms):
    fake, endpoint = kms
    fake.faults = ["bad pem crc"] * 3
    with pytest.raises(SigningError, match="checksums"):
        signer(endpoint).public_key_pem()


def test_an_answer_for_another_key_is_refused(kms):
    fake, endpoint = kms
    fake.faults = ["other key"]
    with pytest.raises(SigningError, match="not"):
        signer(endpoint).sign_digest(DIGEST)


def test_a_refusal_is_a_signing_error_with_the_status(kms):
    fake, endpoint = kms
    fake.faults = ["denied"]
    with pytest.raises(SigningError, match="403"):
        signer(endpoint).sign_digest(DIGEST)


def test_an_unreachable_kms_is_a_signing_error():
    with pytest.raises(SigningError, match="unreachable"):
        signer("http://127.0.0.1:9").sign_digest(DIGEST)


def test_only_a_key_version_names_a_kms_key():
    with pytest.raises(ValueError, match="CryptoKeyVersion"):
        KmsSigner(KEY.rsplit("/", 2)[0], session=AuthorizedSession(Credentials(token="t")))

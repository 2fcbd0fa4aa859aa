"""Request bodies over LEDGER_MAX_BODY_BYTES: 413 payload_too_large, nothing written."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.config import Settings
from api.edge import BodySizeLimitMiddleware
from api.errors import PROBLEM_CONTENT_TYPE
from api.ids import metadata_size

LIMIT = 4096

pytestmark = pytest.mark.emulator


def account(account_id: str, metadata_bytes: int) -> dict[str, Any]:
    return {"id": account_id, "currency": "USD", "metadata": {"note": "x" * metadata_bytes}}


def chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    """A body without Content-Length: httpx sends it chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def assert_too_large(response: httpx.Response, path: str) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    problem = response.json()
    assert problem["code"] == "payload_too_large"
    assert problem["status"] == 413
    assert problem["instance"] == path
    assert str(LIMIT) in problem["detail"]


@pytest.fixture
def client(edge_client: Callable[..., TestClient]) -> TestClient:
    return edge_client(max_body_bytes=LIMIT)


def test_declared_length_over_the_limit_is_refused_and_nothing_is_written(
    client: TestClient, unique: Callable[[str], str]
) -> None:
    account_id = unique("big")
    body = json.dumps(account(account_id, LIMIT)).encode()
    response = client.post(
        "/v1/accounts", content=body, headers={"content-type": "application/json"}
    )
    assert_too_large(response, "/v1/accounts")
    assert client.get(f"/v1/accounts/{account_id}").status_code == 404


def test_chunked_body_over_the_limit_is_refused_and_nothing_is_written(
    client: TestClient, unique: Callable[[str], str]
) -> None:
    account_id = unique("chunked")
    body = json.dumps(account(account_id, LIMIT)).encode()
    response = client.post(
        "/v1/accounts", content=chunks(body), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_too_large(response, "/v1/accounts")
    assert client.get(f"/v1/accounts/{account_id}").status_code == 404


def test_body_under_the_limit_goes_through(
    client: TestClient, unique: Callable[[str], str]
) -> None:
    account_id = unique("small")
    body = json.dumps(account(account_id, 100)).encode()
    assert len(body) < LIMIT
    response = client.post(
        "/v1/accounts", content=chunks(body, 50), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201
    assert client.get(f"/v1/accounts/{account_id}").status_code == 200


def test_a_refused_body_still_gets_its_request_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api.request"):
        client.post("/v1/accounts", content=b"x" * (LIMIT + 1))
    (record,) = [r for r in caplog.records if r.name == "api.request"]
    assert record.httpRequest["status"] == 413  # type: ignore[attr-defined]


def test_413_is_declared_on_the_v1_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "413" in paths["/v1/transfers"]["post"]["responses"]
    assert "413" in paths["/v1/accounts/{account_id}"]["get"]["responses"]
    assert "413" not in paths["/healthz"]["get"]["responses"]


def test_the_default_limit_fits_a_full_batch_with_metadata() -> None:
    """A full batch: 64-character ids and the most metadata a transfer may carry."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    filler = settings.metadata_max_bytes - metadata_size({"invoice": ""})
    transfer = {
        "id": "t" * 64,
        "debit_account_id": "d" * 64,
        "credit_account_id": "c" * 64,
        "amount": 2**63 - 1,
        "currency": "USD",
        "metadata": {"invoice": "i" * filler},
    }
    assert metadata_size(transfer["metadata"]) == settings.metadata_max_bytes
    batch = {"transfers": [transfer] * settings.batch_max_transfers, "atomic": True}
    assert len(json.dumps(batch, indent=1).encode()) < settings.max_body_bytes


# --- over real HTTP (uvicorn), where a chunked body really arrives in pieces ---------------


def test_over_real_http_both_kinds_are_refused(
    live_server_factory: Callable[..., Any], unique: Callable[[str], str]
) -> None:
    server = live_server_factory(max_body_bytes=LIMIT)
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for kind in ("declared", "chunked"):
            account_id = unique(kind)
            body = json.dumps(account(account_id, 4 * LIMIT)).encode()
            content = body if kind == "declared" else chunks(body)
            assert_too_large(http.post("/v1/accounts", content=content, headers=headers),
                             "/v1/accounts")  # fmt: skip
            assert http.get(f"/v1/accounts/{account_id}").status_code == 404
        small = json.dumps(account(unique("ok"), 10)).encode()
        assert http.post("/v1/accounts", content=chunks(small, 7), headers=headers).is_success


# --- the middleware alone -----------------------------------------------------------------


def small_app(limit: int) -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=limit)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/early")
    async def early() -> dict[str, bool]:
        return {"read_nothing": True}

    return app


def test_a_route_that_reads_the_body_itself_also_gets_413() -> None:
    with TestClient(small_app(1024)) as client:
        response = client.post("/echo", content=chunks(b"x" * 2000, 100))
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert client.post("/echo", content=b"x" * 1024).json() == {"received": 1024}


def test_a_route_that_never_reads_the_body_is_refused_only_by_declared_length() -> None:
    with TestClient(small_app(1024)) as client:
        assert client.post("/early", content=b"x" * 1025).status_code == 413
        # Unread, the chunked body is never counted: the route answers as it would.
        assert client.post("/early", content=chunks(b"x" * 2000)).status_code == 200

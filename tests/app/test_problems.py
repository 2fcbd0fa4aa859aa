"""Failures reach callers as precise problem responses, never stack traces."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.api_core import exceptions as gexc
from google.cloud.spanner_v1.transaction import Transaction
from pytest_mock import MockerFixture

from api.app import create_app
from api.config import Settings
from api.errors import IdempotencyConflict, NotFound, Problem, problem_responses
from api.spanner.errors import SessionsExhausted

PROBLEM = "application/problem+json"


def aborted() -> gexc.Aborted:
    # Real Aborted errors carry their gRPC cause; the client reads errors[0].
    return gexc.Aborted("injected", errors=[RuntimeError("injected abort")])


@pytest.fixture(params=[True, False], ids=["group-commit", "txn-per-request"])
def short_budget_client(
    ledger_settings: Settings, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    settings = ledger_settings.model_copy(
        update={"request_timeout_seconds": 0.5, "group_commit_enabled": request.param}
    )
    with TestClient(create_app(settings, configure_logs=False)) as test_client:
        yield test_client


def open_pair(client: TestClient, unique: Callable[[str], str]) -> tuple[str, str]:
    ids = unique("acct"), unique("acct")
    for account_id in ids:
        client.post("/v1/accounts", json={"id": account_id, "currency": "USD"})
    return ids


def always(mocker: MockerFixture, error: Exception) -> None:
    def commit(self: Transaction, *args: Any, **kwargs: Any) -> Any:
        self.rollback()
        raise error

    mocker.patch.object(Transaction, "commit", autospec=True, side_effect=commit)


def transfer_failing_with(
    client: TestClient, mocker: MockerFixture, unique: Callable[[str], str], error: Exception
) -> tuple[Any, str]:
    """A transfer whose every commit fails with ``error``: the answer, and its credit
    account (to see that nothing was written)."""
    a, b = open_pair(client, unique)
    always(mocker, error)
    response = client.post(
        "/v1/transfers",
        json={"id": unique("t"), "debit_account_id": a, "credit_account_id": b, "amount": 5},
    )
    mocker.stopall()
    return response, b


@pytest.mark.parametrize(
    "error",
    [
        gexc.ServiceUnavailable("injected"),
        gexc.DeadlineExceeded("injected"),
        aborted(),
        gexc.ResourceExhausted("injected"),
        # Not a GoogleAPICallError: api_core's retry wrapper gave up.
        gexc.RetryError("retry budget spent", cause=gexc.ServiceUnavailable("down")),
        SessionsExhausted("no free session"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transient_backend_failure_is_503_with_retry_after_and_writes_nothing(
    short_budget_client: TestClient,
    mocker: MockerFixture,
    unique: Callable[[str], str],
    error: Exception,
) -> None:
    response, b = transfer_failing_with(short_budget_client, mocker, unique, error)
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "backend_unavailable"
    assert short_budget_client.get(f"/v1/accounts/{b}").json()["version"] == 0


@pytest.mark.parametrize(
    "error",
    [gexc.PermissionDenied("no grant on Entries"), gexc.Unauthenticated("bad credentials")],
    ids=lambda e: type(e).__name__,
)
def test_a_refused_identity_is_500_without_retry_after_and_says_nothing_was_written(
    short_budget_client: TestClient,
    mocker: MockerFixture,
    unique: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
    error: Exception,
) -> None:
    response, b = transfer_failing_with(short_budget_client, mocker, unique, error)
    assert (response.status_code, response.json()["code"]) == (500, "internal_error")
    assert "retry-after" not in response.headers
    assert "nothing was written" in response.json()["detail"]
    assert "no grant" not in response.text and "credentials" not in response.text
    assert any("refused this service's identity" in r.getMessage() for r in caplog.records)
    assert short_budget_client.get(f"/v1/accounts/{b}").json()["version"] == 0


def test_unexpected_failure_is_500_problem_without_internals(
    client: TestClient, mocker: MockerFixture
) -> None:
    mocker.patch(
        "api.accounts.repository.read_account", side_effect=RuntimeError("secret internals")
    )
    safe_client = TestClient(client.app, raise_server_exceptions=False)
    response = safe_client.get("/v1/accounts/whatever")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    response = client.delete("/v1/accounts/x")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_validation_problem_lists_fields_without_echoing_input(client: TestClient) -> None:
    response = client.post("/v1/accounts", json={"currency": "usd", "secret_field": "hunter2"})
    assert response.status_code == 422
    problem = response.json()
    assert {tuple(e["loc"]) for e in problem["errors"]} >= {("body", "currency")}
    assert "hunter2" not in response.text


def test_openapi_declares_every_problem_status(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post_transfer = spec["paths"]["/v1/transfers"]["post"]["responses"]
    assert {"200", "201", "404", "409", "422", "500", "503"} <= post_transfer.keys()
    assert "Problem" in spec["components"]["schemas"]
    problem_schema = post_transfer["409"]["content"][PROBLEM]["schema"]
    assert problem_schema == {"$ref": "#/components/schemas/Problem"}


def test_openapi_names_every_error_that_shares_a_status(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    conflict = spec["paths"]["/v1/transfers"]["post"]["responses"]["409"]["description"]
    assert "Id already used for a different request" in conflict
    assert "Account balance limit reached" in conflict


@pytest.mark.parametrize("body", [b"\x80", b'{"currency": "\xff"}'], ids=["lone-byte", "in-string"])
def test_undecodable_body_is_422_validation_error(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/v1/accounts", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "validation_error"


def test_openapi_declares_the_lifecycle_conflicts(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    post = paths["/v1/transfers/{transfer_id}:post"]["post"]["responses"]
    for title in ("Transfer is not a hold", "Hold already posted", "Hold already voided",
                  "Hold expired"):  # fmt: skip
        assert title in post["409"]["description"]
    assert "Posted amount exceeds the hold" in post["422"]["description"]
    assert "404" in post
    reverse = paths["/v1/transfers/{transfer_id}:reverse"]["post"]["responses"]
    assert {"200", "201"} <= reverse.keys()
    for title in ("Transfer is not posted", "Reversal exceeds what can be reversed",
                  "Account is closed"):  # fmt: skip
        assert title in reverse["409"]["description"]
    close = paths["/v1/accounts/{account_id}:close"]["post"]["responses"]
    assert "Account has open holds" in close["409"]["description"]


def test_problem_responses_document_what_a_model_on_every_status_would() -> None:
    # Only one status carries the model (each costs FastAPI a TypeAdapter at import): the
    # document must read as if all of them did.
    def spec(responses: dict[int | str, dict[str, Any]]) -> dict[str, Any]:
        app = FastAPI()
        app.get("/thing", responses=responses)(lambda: None)
        return app.openapi()

    declared = problem_responses(NotFound, IdempotencyConflict)
    every_status = {status: {**d, "model": Problem} for status, d in declared.items()}

    assert sum("model" in d for d in declared.values()) == 1
    assert spec(declared) == spec(every_status)

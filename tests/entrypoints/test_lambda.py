"""The AWS Lambda handler, invoked in this process with stored API Gateway and ALB events.

The events in fixtures/ follow the shapes AWS documents for Lambda proxy integrations:
HTTP API payload 2.0, REST API (payload 1.0, with multi-value headers) and Application
Load Balancer targets (with and without multi-value headers). One handler over one app
and database serves the whole module, as one Lambda container serves its invocations.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from api.app import create_app
from api.entrypoints import make_lambda_handler

pytestmark = pytest.mark.emulator

CONTEXT = SimpleNamespace(
    function_name="ledger",
    function_version="$LATEST",
    invoked_function_arn="arn:aws:lambda:us-east-2:123456789012:function:ledger",
    memory_limit_in_mb=512,
    aws_request_id="8f5c1d6e-0000-4000-8000-000000000000",
    log_group_name="/aws/lambda/ledger",
    log_stream_name="2026/11/23/[$LATEST]0123456789abcdef",
)


@pytest.fixture(scope="module")
def app(settings_for, ledger_database_factory):
    app = create_app(settings_for(ledger_database_factory()), configure_logs=False)
    yield app
    app.state.runtime.stop()


@pytest.fixture(scope="module")
def handler(app) -> Iterator[Any]:
    yield make_lambda_handler(app)
    # Mangum installed an event loop for this thread on the first invocation.
    loop = asyncio.get_event_loop_policy().get_event_loop()
    loop.close()
    asyncio.set_event_loop(None)


def _json(response: dict[str, Any]) -> Any:
    body = response["body"]
    return json.loads(base64.b64decode(body) if response["isBase64Encoded"] else body)


def test_http_api_v2_get(handler, lambda_event):
    response = handler(lambda_event("http-api-v2-get-readyz"), CONTEXT)

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"])["status"] == "ready"


def test_http_api_v2_post_with_a_base64_body(handler, lambda_event):
    event = lambda_event("http-api-v2-post-account-base64")
    assert event["isBase64Encoded"] is True

    response = handler(event, CONTEXT)

    assert response["statusCode"] == 201
    assert _json(response)["id"] == "lambda-v2-wallet"
    assert _json(response)["metadata"] == {"channel": "http-api"}


def test_problem_details_go_out_as_text_not_base64(handler, lambda_event):
    response = handler(lambda_event("http-api-v2-get-missing-account"), CONTEXT)

    assert response["statusCode"] == 404
    assert response["headers"]["content-type"] == "application/problem+json"
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"])["code"] == "account_not_found"


def test_rest_api_v1_post_then_get_with_a_query_string(handler, lambda_event):
    created = handler(lambda_event("rest-api-v1-post-account"), CONTEXT)
    balances = handler(lambda_event("rest-api-v1-get-balances"), CONTEXT)

    assert created["statusCode"] == 201
    assert balances["statusCode"] == 200
    assert balances["headers"]["content-type"] == "application/json"
    assert [b["account_id"] for b in _json(balances)["balances"]] == ["lambda-v1-wallet"]


def test_alb_answers_in_the_header_shape_of_the_request(handler, lambda_event):
    created = handler(lambda_event("alb-post-account"), CONTEXT)
    read = handler(lambda_event("alb-get-account-multi-value-headers"), CONTEXT)

    assert created["statusCode"] == 201
    assert created["headers"]["content-type"] == "application/json"
    assert "multiValueHeaders" not in created
    assert read["statusCode"] == 200
    assert read["multiValueHeaders"]["content-type"] == ["application/json"]
    assert "headers" not in read
    assert _json(read)["id"] == "lambda-alb-wallet"


def _v2(lambda_event, method: str, path: str, payload: Any) -> dict[str, Any]:
    """The stored HTTP API event, re-aimed: same shape, another request."""
    event = lambda_event("http-api-v2-get-readyz")
    body = json.dumps(payload)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["headers"].update({"content-type": "application/json", "content-length": str(len(body))})
    event["body"] = body
    return event


def test_lifespan_does_not_run_per_invocation(handler, lambda_event):
    # Were the lifespan run per invocation, its shutdown would close the group-commit
    # writer after the first transfer and the second would get 503.
    for account in ("lambda-bank", "lambda-alice"):
        handler(
            _v2(lambda_event, "POST", "/v1/accounts", {"id": account, "currency": "USD"}), CONTEXT
        )
    transfer = {"debit_account_id": "lambda-bank", "credit_account_id": "lambda-alice", "amount": 3}

    statuses = [
        handler(_v2(lambda_event, "POST", "/v1/transfers", {"id": id_, **transfer}), CONTEXT)[
            "statusCode"
        ]
        for id_ in ("lt-1", "lt-2")
    ]

    assert statuses == [201, 201]


def test_the_runtime_starts_once_across_invocations(app, handler, lambda_event):
    shapes = ("http-api-v2-get-readyz", "rest-api-v1-get-balances", "alb-post-account")
    for name in shapes * 2:
        assert handler(lambda_event(name), CONTEXT)["statusCode"] < 500

    assert app.state.runtime.starts == 1

"""One structured line per request in Cloud Logging's shape."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from pytest_mock import MockerFixture

from api.observability import CloudLoggingFormatter, parse_trace


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "api.request"]


def test_one_line_per_request_with_http_request_and_spanner_time(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api.request"):
        client.get(
            "/v1/accounts/ghost",
            headers={"X-Cloud-Trace-Context": "0123456789abcdef0123456789abcdef/42;o=1"},
        )
    (record,) = request_records(caplog)
    line = json.loads(CloudLoggingFormatter(project="proj").format(record))
    assert line["severity"] == "INFO"
    assert line["httpRequest"]["requestMethod"] == "GET"
    assert line["httpRequest"]["status"] == 404
    assert line["httpRequest"]["latency"].endswith("s")
    assert line["spanner"]["calls"] == 1
    assert line["spanner"]["seconds"] > 0
    assert line["logging.googleapis.com/trace"] == (
        "projects/proj/traces/0123456789abcdef0123456789abcdef"
    )
    assert line["logging.googleapis.com/spanId"] == "42"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}, ("a" * 32, "b" * 16)),
        ({"x-cloud-trace-context": "c" * 32 + "/7;o=1"}, ("c" * 32, "7")),
        ({"x-cloud-trace-context": "not-a-trace"}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_trace_header_parsing(
    headers: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    assert parse_trace(headers) == expected


def test_server_errors_log_at_error_severity(
    client: TestClient, caplog: pytest.LogCaptureFixture, mocker: MockerFixture
) -> None:
    mocker.patch("api.accounts.repository.read_account", side_effect=RuntimeError("boom"))
    safe_client = TestClient(client.app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO, logger="api.request"):
        safe_client.get("/v1/accounts/x")
    assert request_records(caplog)[-1].levelname == "ERROR"

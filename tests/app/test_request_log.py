"""One structured line per request in Cloud Logging's shape."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from pytest_mock import MockerFixture

from api.observability import CloudLoggingFormatter, TraceContext, client_address, parse_trace


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
    assert line["logging.googleapis.com/spanId"] == "000000000000002a"  # 42, in hex
    assert line["logging.googleapis.com/trace_sampled"] is True


def logged_line(client: TestClient, caplog: pytest.LogCaptureFixture, **headers: str) -> dict:
    with caplog.at_level(logging.INFO, logger="api.request"):
        client.get("/v1/accounts/ghost", headers=headers)
    return json.loads(CloudLoggingFormatter(project="proj").format(request_records(caplog)[-1]))


def test_the_caller_address_is_the_first_forwarded_hop(client, caplog):
    line = logged_line(client, caplog, **{"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    assert line["httpRequest"]["remoteIp"] == "203.0.113.7"


def test_an_unsampled_trace_is_logged_as_such(client, caplog):
    line = logged_line(client, caplog, traceparent="00-" + "e" * 32 + "-" + "f" * 16 + "-00")
    assert line["logging.googleapis.com/trace_sampled"] is False


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
            TraceContext("a" * 32, "b" * 16, True),
        ),
        (
            {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-00"},
            TraceContext("a" * 32, "b" * 16, False),
        ),
        # The decimal span id of X-Cloud-Trace-Context becomes the hex Cloud Logging wants.
        ({"x-cloud-trace-context": "C" * 32 + "/7;o=1"}, TraceContext("c" * 32, f"{7:016x}", True)),
        (
            {"x-cloud-trace-context": "c" * 32 + "/18446744073709551615;o=0"},
            TraceContext("c" * 32, "f" * 16, False),
        ),
        ({"x-cloud-trace-context": "c" * 32}, TraceContext("c" * 32, None, None)),
        # traceparent wins over X-Cloud-Trace-Context; an invalid one does not.
        (
            {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
             "x-cloud-trace-context": "c" * 32 + "/7;o=0"},
            TraceContext("a" * 32, "b" * 16, True),
        ),
        (
            {"traceparent": "00-" + "0" * 32 + "-" + "b" * 16 + "-01",
             "x-cloud-trace-context": "c" * 32 + "/7;o=0"},
            TraceContext("c" * 32, f"{7:016x}", False),
        ),
        # A span id past 64 bits is no span id.
        (
            {"x-cloud-trace-context": "c" * 32 + "/18446744073709551616"},
            TraceContext("c" * 32, None, None),
        ),
        ({"x-cloud-trace-context": "not-a-trace"}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_trace_header_parsing(headers: dict[str, str], expected: TraceContext | None) -> None:
    assert parse_trace(headers) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [("198.51.100.2", "198.51.100.2"), (" 198.51.100.2 ,10.1.1.1", "198.51.100.2"), ("", "peer")],
)
def test_client_address(forwarded: str, expected: str) -> None:
    assert client_address({"x-forwarded-for": forwarded}, ("peer", 1)) == expected


def test_server_errors_log_at_error_severity(
    client: TestClient, caplog: pytest.LogCaptureFixture, mocker: MockerFixture
) -> None:
    mocker.patch("api.accounts.repository.read_account", side_effect=RuntimeError("boom"))
    safe_client = TestClient(client.app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO, logger="api.request"):
        safe_client.get("/v1/accounts/x")
    assert request_records(caplog)[-1].levelname == "ERROR"

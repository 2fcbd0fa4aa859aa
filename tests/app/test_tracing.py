"""With tracing on, a request is a server span in its caller's trace, and its log line
names that span."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.app import create_app
from api.observability import CloudLoggingFormatter
from api.tracing import build_tracer_provider
from tests.support import make_settings

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def traced(emulator, ledger_settings, exporter) -> Iterator[TestClient]:
    settings = make_settings(emulator.address, ledger_settings.spanner_database, otel_enabled=True)
    provider = build_tracer_provider(settings, exporter)
    app = create_app(settings, configure_logs=False, tracer_provider=provider)
    with TestClient(app) as client:
        client.provider = provider  # type: ignore[attr-defined]
        yield client


def server_spans(client: TestClient, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    client.provider.force_flush()  # type: ignore[attr-defined]
    spans = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    exporter.clear()
    return spans


def test_a_request_is_a_span_in_the_callers_w3c_trace(traced, exporter):
    traced.get("/v1/accounts/ghost", headers={"traceparent": f"00-{TRACE}-{PARENT}-01"})
    [span] = server_spans(traced, exporter)
    assert (f"{span.context.trace_id:032x}", f"{span.parent.span_id:016x}") == (TRACE, PARENT)


def test_a_request_is_a_span_in_the_trace_cloud_run_names(traced, exporter):
    headers = {"X-Cloud-Trace-Context": f"{TRACE}/{int(PARENT, 16)};o=1"}
    traced.get("/v1/accounts/ghost", headers=headers)
    [span] = server_spans(traced, exporter)
    assert (f"{span.context.trace_id:032x}", f"{span.parent.span_id:016x}") == (TRACE, PARENT)


def test_a_caller_that_does_not_sample_gets_no_span(traced, exporter):
    traced.get("/v1/accounts/ghost", headers={"traceparent": f"00-{TRACE}-{PARENT}-00"})
    assert server_spans(traced, exporter) == []


def test_the_log_line_names_the_requests_own_span(traced, exporter, caplog):
    with caplog.at_level(logging.INFO, logger="api.request"):
        traced.get("/v1/accounts/ghost", headers={"traceparent": f"00-{TRACE}-{PARENT}-01"})
    [record] = [r for r in caplog.records if r.name == "api.request"]
    line = json.loads(CloudLoggingFormatter(project="proj").format(record))
    [span] = server_spans(traced, exporter)
    assert line["logging.googleapis.com/trace"] == f"projects/proj/traces/{TRACE}"
    assert line["logging.googleapis.com/spanId"] == f"{span.context.span_id:016x}"

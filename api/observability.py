"""JSON logs in Cloud Logging's shape, and one log line per request.

Cloud Run forwards stdout lines that are JSON objects as structured entries: the
``severity``, ``message``, ``httpRequest`` and ``logging.googleapis.com/trace`` fields
are understood, so a request's line is linked to its trace in the console.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import RequestRecord, open_record

_TRACE_CONTEXT = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
# color_message: uvicorn attaches an ANSI-coloured copy of the message.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}

request_log = logging.getLogger("api.request")


class CloudLoggingFormatter(logging.Formatter):
    def __init__(self, project: str | None = None) -> None:
        super().__init__()
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        trace = entry.pop("trace_id", None)
        if trace:
            entry["logging.googleapis.com/trace"] = (
                f"projects/{self.project}/traces/{trace}" if self.project else trace
            )
        span = entry.pop("span_id", None)
        if span:
            entry["logging.googleapis.com/spanId"] = span
        return json.dumps(entry, default=str)


def configure_logging(level: str, project: str | None) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter(project))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would repeat our request line in another shape.
    logging.getLogger("uvicorn.access").disabled = True


def parse_trace(headers: dict[str, str]) -> tuple[str | None, str | None]:
    """(trace id, span id) from traceparent (W3C) or X-Cloud-Trace-Context."""
    match = _TRACEPARENT.match(headers.get("traceparent", ""))
    if match:
        return match.group(1), match.group(2)
    match = _TRACE_CONTEXT.match(headers.get("x-cloud-trace-context", ""))
    if match:
        return match.group(1), match.group(2)
    return None, None


class RequestLogMiddleware:
    """Opens the request's record (deadline, Spanner timing) and logs one line at the end."""

    def __init__(self, app: ASGIApp, *, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = open_record(scope, self.timeout_seconds)
        started = time.perf_counter()
        status = 500
        size = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            level = logging.ERROR if status >= 500 else logging.INFO
            if request_log.isEnabledFor(level):
                _log_request(
                    scope, status=status, size=size, started=started, record=record,
                    level=level,
                )  # fmt: skip


def _log_request(
    scope: Scope,
    *,
    status: int,
    size: int,
    started: float,
    record: RequestRecord,
    level: int,
) -> None:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    trace_id, span_id = parse_trace(headers)
    path = scope.get("path", "")
    query = scope.get("query_string", b"").decode("latin-1")
    latency = time.perf_counter() - started
    client = scope.get("client")
    request_log.log(
        level,
        "%s %s %d",
        scope["method"],
        path,
        status,
        extra={
            "httpRequest": {
                "requestMethod": scope["method"],
                "requestUrl": path + (f"?{query}" if query else ""),
                "status": status,
                "responseSize": str(size),
                "userAgent": headers.get("user-agent", ""),
                "remoteIp": client[0] if client else "",
                "latency": f"{latency:.6f}s",
                "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
            },
            "spanner": {
                "seconds": round(record.meter.seconds, 6),
                "calls": record.meter.calls,
                "aborts": record.meter.aborts,
                **record.meter.extra,
            },
            "principal": record.principal,
            "trace_id": trace_id,
            "span_id": span_id,
        },
    )

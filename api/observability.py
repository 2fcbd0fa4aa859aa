"""JSON logs in Cloud Logging's shape, and one log line per request.

Cloud Run forwards stdout lines that are JSON objects as structured entries: the
``severity``, ``message``, ``httpRequest`` and ``logging.googleapis.com/trace``,
``spanId`` and ``trace_sampled`` fields are understood, so a request's line is linked
to its trace (and span) in the console.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import RequestRecord, open_record

# X-Cloud-Trace-Context: TRACE_ID[/SPAN_ID][;o=OPTIONS], the span id in DECIMAL (an
# unsigned 64-bit integer), o=1 when the caller traces the request.
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d{1,20}))?(?:;o=(\d+))?")
# W3C traceparent: version-trace_id-parent_id-flags, all lowercase hex.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)")
_UINT64 = 2**64
# color_message: uvicorn attaches an ANSI-coloured copy of the message.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}

request_log = logging.getLogger("api.request")
# What a request's line reads of its headers (ASGI names them in lowercase).
_LOGGED_HEADERS = frozenset(
    (b"user-agent", b"traceparent", b"x-cloud-trace-context", b"x-forwarded-for")
)


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
        fields = vars(record)
        for key in fields.keys() - _RESERVED:  # the caller's extra=, in C
            if not key.startswith("_"):
                entry[key] = fields[key]
        trace_id = entry.pop("trace_id", None)
        if trace_id:
            entry["logging.googleapis.com/trace"] = (
                f"projects/{self.project}/traces/{trace_id}" if self.project else trace_id
            )
        span = entry.pop("span_id", None)
        if span:
            entry["logging.googleapis.com/spanId"] = span
        sampled = entry.pop("trace_sampled", None)
        if sampled is not None:
            entry["logging.googleapis.com/trace_sampled"] = sampled
        return json.dumps(entry, default=str)


def configure_logging(level: str, project: str | None) -> None:
    # What a record gathers that no line of ours prints (the logging HOWTO's
    # "Optimization"): the caller's frame (a stack walk per record), thread, process
    # and multiprocessing names. One line per request makes them a cost worth cutting.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter(project))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would repeat our request line in another shape.
    logging.getLogger("uvicorn.access").disabled = True


@dataclass(frozen=True)
class TraceContext:
    """A request's place in a trace, as Cloud Logging and Cloud Trace spell it."""

    trace_id: str  # 32 lowercase hex digits
    span_id: str | None  # 16 lowercase hex digits
    sampled: bool | None  # None: the caller did not say


def parse_trace(headers: dict[str, str]) -> TraceContext | None:
    """The caller's trace context: W3C ``traceparent`` first, else Google's
    ``X-Cloud-Trace-Context`` (whose decimal span id becomes hex)."""
    match = _TRACEPARENT.match(headers.get("traceparent", "").strip())
    if match and match.group(1) != "ff" and int(match.group(2), 16) and int(match.group(3), 16):
        return TraceContext(match.group(2), match.group(3), bool(int(match.group(4), 16) & 1))
    match = _CLOUD_TRACE.match(headers.get("x-cloud-trace-context", "").strip())
    if match is None or not int(match.group(1), 16):
        return None
    span = int(match.group(2) or 0)
    options = match.group(3)
    return TraceContext(
        trace_id=match.group(1).lower(),
        span_id=f"{span:016x}" if 0 < span < _UINT64 else None,
        sampled=None if options is None else bool(int(options) & 1),
    )


def current_span_trace() -> TraceContext | None:
    """The OpenTelemetry span the request runs in, when tracing made one: the log line
    then points at this service's own span rather than the caller's."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return TraceContext(
        f"{context.trace_id:032x}", f"{context.span_id:016x}", context.trace_flags.sampled
    )


def client_address(headers: dict[str, str], peer: tuple[str, int] | None) -> str:
    """The caller's address: the first X-Forwarded-For hop (on Cloud Run the peer is
    Google's front end, never the caller), else the peer. For logs only: a caller can
    put anything in that header, so no decision is made on it."""
    first = headers.get("x-forwarded-for", "").split(",")[0].strip()
    if first:
        return first
    return peer[0] if peer else ""


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
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _LOGGED_HEADERS
    }
    where = current_span_trace() or parse_trace(headers)
    path = scope.get("path", "")
    query = scope.get("query_string", b"").decode("latin-1")
    latency = time.perf_counter() - started
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
                "remoteIp": client_address(headers, scope.get("client")),
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
            "trace_id": where.trace_id if where else None,
            "span_id": where.span_id if where else None,
            "trace_sampled": where.sampled if where else None,
        },
    )

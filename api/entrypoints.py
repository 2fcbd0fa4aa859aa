"""Serverless adapters: a functions-framework target and an AWS Lambda handler.

Both wrap the one ASGI app that uvicorn serves on Cloud Run, and neither runs the app's
lifespan: functions-framework builds its own Starlette app around the target, whose
lifespan never reaches ours, and Mangum would run it on every invocation
(Kludex/mangum#342), stopping the runtime after each request. So each adapter starts the
worker's runtime itself, once per process, on the first request: the Spanner client
opens after any fork (gunicorn forks functions-framework's workers after importing
``main``) and never at import time.

- ``make_function_target(app)``: ``functions-framework --target=ledger --asgi``. The
  target returns a ``Response`` that hands the raw ASGI request to the app, so status,
  headers and the streamed body are the app's own, exactly as under uvicorn.
- ``make_lambda_handler(app)``: Lambda behind API Gateway (HTTP API v2, REST API v1) or
  an ALB, through Mangum with ``lifespan="off"``.

Shutdown: neither platform gives these adapters a hook, and neither needs one to keep
writes. A transfer's request returns only after the group commit that carries it, so
what is queued belongs to requests still in flight: functions-framework's uvicorn worker
finishes those on SIGTERM before it exits (then dies by the SIGTERM uvicorn re-raises,
so ``atexit`` would not run either), and a Lambda invocation has committed before it
returns. Sessions left open expire on the Spanner side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_CONTENT_TYPE
from api.runtime import Runtime

if TYPE_CHECKING:
    from mangum import Mangum

# What an ASGI server puts in an HTTP scope. functions-framework's own routing adds
# keys (app, router, endpoint, path_params, route) that must not reach our app: Starlette
# keeps a "router" it finds in the scope, so url_for would resolve against theirs.
_ASGI_HTTP_SCOPE_KEYS = frozenset(
    {
        "type",
        "asgi",
        "http_version",
        "method",
        "scheme",
        "path",
        "raw_path",
        "query_string",
        "root_path",
        "headers",
        "client",
        "server",
        "extensions",
        "state",
    }
)

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class _ForwardToApp(Response):
    """A response that lets the app answer the request it was given, unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__()
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inner = {key: value for key, value in scope.items() if key in _ASGI_HTTP_SCOPE_KEYS}
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(inner, receive, tracking_send)
        except Exception:
            if not started:
                raise
            # The app has answered (its handler sent a 500 problem and logged the error,
            # then Starlette re-raised): raising on would make functions-framework log it
            # again and try to start a second response.


def make_function_target(app: FastAPI) -> Callable[[Request], Response]:
    """The HTTP function for ``functions-framework --target=<name> --asgi``.

    Only the ASGI mode passes a Starlette request the app can be handed; the default
    (Flask) mode is refused with a message that says so. The function is synchronous on
    purpose: functions-framework runs it in a thread, where the runtime's blocking
    start-up (session pool creation) belongs, never on the event loop.
    """
    runtime: Runtime = app.state.runtime

    def ledger(request: Request) -> Response:
        if not isinstance(request, Request):
            raise TypeError(
                "the ledger function needs functions-framework's ASGI mode: serve it with "
                "`functions-framework --target=ledger --asgi` (or FUNCTION_USE_ASGI=true)"
            )
        runtime.start()  # once per worker process: a no-op after the first request
        return _ForwardToApp(app)

    return ledger


def make_lambda_handler(app: FastAPI) -> LambdaHandler:
    """The AWS Lambda handler: API Gateway HTTP API (v2), REST API (v1) and ALB events.

    Mangum is imported and built on the first invocation, not at import: its
    constructor installs an event loop, which the uvicorn and functions-framework
    entrypoints (which import the same module) have no use for, and the container image
    does not carry it at all (requirements-lambda.txt). Lambda runs one invocation at a
    time per process.
    """
    runtime: Runtime = app.state.runtime
    adapter: Mangum | None = None

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        nonlocal adapter
        if adapter is None:
            from mangum import Mangum  # noqa: PLC0415 - only the Lambda package has it
            from mangum.adapter import DEFAULT_TEXT_MIME_TYPES  # noqa: PLC0415

            adapter = Mangum(
                app,
                lifespan="off",
                # Problem details are text too: without this they would go out base64.
                text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, PROBLEM_CONTENT_TYPE],
            )
        runtime.start()  # once per container: a no-op after the first invocation
        return adapter(event, context)

    return handler

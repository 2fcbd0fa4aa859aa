"""Edge hygiene: request body size limit, CORS and the per-principal rate limit.

``install_edge(app, settings)`` (called once by ``create_app``) wires all three:

- ``BodySizeLimitMiddleware``: a request whose ``Content-Length`` is over
  ``max_body_bytes`` is refused with ``413 payload_too_large`` before the app sees it;
  a body without a length (chunked) is counted as it streams in and refused the moment
  it goes over. Either way nothing is written.
- CORS (Starlette's ``CORSMiddleware``) only when ``cors_allow_origins`` lists origins:
  exactly those, methods GET and POST, request headers Authorization and Content-Type.
- The rate limiter the v1 routes' ``enforce_rate_limit`` uses (see
  ``api.ratelimit``), on ``app.state.rate_limiter``; None when disabled.

Both middlewares are pure ASGI (no ``BaseHTTPMiddleware``, which breaks context
variables and streaming) and sit *inside* the request log middleware, so a refused
request still gets its log line; CORS sits outside the body limit, so a browser can
read a 413 too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import Settings
from api.errors import LedgerError, problem_declaration, problem_response
from api.ratelimit import RateLimited, TokenBucketLimiter

CORS_METHODS = ("GET", "POST")
CORS_HEADERS = ("Authorization", "Content-Type")
# Response headers a browser client may read besides the CORS-safelisted ones.
CORS_EXPOSE_HEADERS = ("Retry-After", "WWW-Authenticate")
CORS_MAX_AGE_SECONDS = 600


class PayloadTooLarge(LedgerError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"The request body is larger than {max_bytes} bytes.")


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Add the body limit and CORS middlewares and the rate limiter to ``app``.

    The middlewares go *inside* every middleware added so far (``add_middleware``
    would put them outside): call this after the request log middleware is added.
    """
    if app.middleware_stack is not None:
        raise RuntimeError("install_edge must run before the application starts")
    if settings.cors_allow_origins:
        app.user_middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_allow_origins),
                allow_methods=list(CORS_METHODS),
                allow_headers=list(CORS_HEADERS),
                expose_headers=list(CORS_EXPOSE_HEADERS),
                allow_credentials=False,  # bearer tokens, never cookies
                max_age=CORS_MAX_AGE_SECONDS,
            )
        )
    app.user_middleware.append(
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    )
    app.state.rate_limiter = (
        TokenBucketLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
        if settings.rate_limit_per_second > 0 and settings.rate_limit_burst > 0
        else None
    )


# Router-level ``responses=`` of the v1 routers: what the edge may answer on any route.
EDGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    PayloadTooLarge.status: problem_declaration(PayloadTooLarge.title),
    RateLimited.status: problem_declaration(RateLimited.title + "; see Retry-After"),
}


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or None if absent or not a number."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
            return length if length >= 0 else None
    return None


async def send_problem(scope: Scope, receive: Receive, send: Send, error: LedgerError) -> None:
    """Answer from ASGI middleware, rendered like every other problem."""
    await problem_response(error, instance=scope.get("path"))(scope, receive, send)


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with ``413 payload_too_large``.

    A declared ``Content-Length`` over the limit is refused before the app runs. A body
    of unknown length is counted chunk by chunk: the chunk that goes over raises
    ``PayloadTooLarge`` inside the app (so its handler never runs), and whatever the app
    answers to that is replaced by the 413 - unless it had already started a response.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await send_problem(scope, receive, send, PayloadTooLarge(self.max_bytes))
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise PayloadTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to the oversized body; the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not (exceeded and not started):
                raise
        if exceeded and not started:
            await send_problem(scope, receive, send, PayloadTooLarge(self.max_bytes))

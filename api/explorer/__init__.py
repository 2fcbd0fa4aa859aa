"""The ledger explorer: read-only pages at /explorer, served only when
LEDGER_EXPLORER_ENABLED is true.

Static files only (HTML, one vanilla JS module, CSS; no build step). The page holds no
privilege of its own: it calls the same /v1 JSON API from the browser with the bearer
token the user pastes (kept in sessionStorage), so the auth middleware - which guards
/v1 only - lets the page itself load without a token and still checks every read.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"
MOUNT_PATH = "/explorer"

# Scripts and styles from this origin only (no inline code), no framing, no referrer
# leaking account ids: the page renders ledger data, so it must not run anyone's code.
SECURITY_HEADERS = {
    b"content-security-policy": (
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
}


class ExplorerFiles(StaticFiles):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS.items()]
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def mount_explorer(app: FastAPI) -> None:
    app.mount(MOUNT_PATH, ExplorerFiles(directory=STATIC_DIR, html=True), name="explorer")

"""The webhooks' HTTP transport: a kept-alive connection per thread that survives the
receiver closing it, follows no redirect, and reports what the receiver answered."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.events.sinks.webhooks import KeepAlive

_closing = contextlib.closing


class Receiver:
    """Answers each POST with ``status``; with ``close_after``, drops the connection
    after answering, without saying so (as an idle timeout does)."""

    def __init__(self, status: int = 204, *, close_after: bool = False) -> None:
        receiver = self
        self.connections: set[int] = set()
        self.bodies: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                receiver.connections.add(self.client_address[1])
                receiver.bodies.append(self.rfile.read(int(self.headers["content-length"])))
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("location", "http://127.0.0.1:1/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()
                if close_after:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?x=1"


@pytest.fixture
def receiver() -> Iterator[type[Receiver]]:
    made: list[Receiver] = []

    def make(*args: object, **kwargs: bool) -> Receiver:
        made.append(Receiver(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make  # type: ignore[misc]
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def test_posts_on_one_kept_alive_connection(receiver: type[Receiver]) -> None:
    target = receiver()
    with _closing(KeepAlive(target.url, timeout=5)) as http:
        statuses = [http.post(b"{}", {"content-type": "application/json"}) for _ in range(5)]

    assert statuses == [204] * 5
    assert len(target.connections) == 1
    assert target.bodies == [b"{}"] * 5


def test_a_connection_the_receiver_closed_is_replaced_and_the_post_sent_once(
    receiver: type[Receiver],
) -> None:
    target = receiver(close_after=True)
    with _closing(KeepAlive(target.url, timeout=5)) as http:
        statuses = [http.post(str(i).encode(), {}) for i in range(3)]

    assert statuses == [204] * 3
    assert target.bodies == [b"0", b"1", b"2"]


def test_a_redirect_is_not_followed(receiver: type[Receiver]) -> None:
    target = receiver(307)

    with _closing(KeepAlive(target.url, timeout=5)) as http:
        assert http.post(b"{}", {}) == 307


def test_an_unreachable_receiver_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        with (
            pytest.raises(ConnectionRefusedError),
            _closing(KeepAlive(f"http://127.0.0.1:{port}/", timeout=2)) as http,
        ):
            http.post(b"{}", {})

"""The fault proxy itself, against a local echo server: each mode does what it says."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.faults.proxy import FaultProxy


@pytest.fixture
def echo() -> Iterator[str]:
    """An echo server on a free loopback port; its address."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # the proxy may reset it
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


@pytest.fixture
def proxy(echo: str) -> Iterator[FaultProxy]:
    with FaultProxy(echo, slow_seconds=(0.2, 0.2)) as running:
        yield running


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def roundtrip(sock: socket.socket, data: bytes = b"ping") -> bytes:
    sock.sendall(data)
    return sock.recv(65536)


def keep_talking(sock: socket.socket) -> None:
    """A few round trips: an RST may land only after the first send."""
    with sock:
        for _ in range(3):
            roundtrip(sock)
            time.sleep(0.1)


def test_pass_forwards_both_ways(proxy):
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"


def test_slow_delays_each_direction(proxy):
    with connect(proxy) as sock:
        proxy.set_mode("slow")
        started = time.monotonic()
        assert roundtrip(sock) == b"ping"
        assert time.monotonic() - started >= 0.4  # 0.2 s up, 0.2 s down


def test_blackhole_holds_open_and_new_connections(proxy):
    with connect(proxy) as before:
        assert roundtrip(before) == b"ping"
        proxy.set_mode("blackhole")
        before.settimeout(0.3)
        with pytest.raises(TimeoutError):
            roundtrip(before)
        with connect(proxy) as during:  # accepted...
            during.settimeout(0.3)
            with pytest.raises(TimeoutError):
                roundtrip(during)  # ...but goes nowhere
            # Held, not dropped: what was sent arrives once the network heals.
            proxy.set_mode("pass")
            during.settimeout(2)
            before.settimeout(2)
            assert during.recv(65536) == b"ping"
            assert before.recv(65536) == b"ping"


def test_reset_sends_rst_to_open_and_new_connections(proxy):
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"
        proxy.set_mode("reset")
        with pytest.raises(ConnectionResetError):
            keep_talking(sock)
    with pytest.raises(ConnectionResetError):
        keep_talking(connect(proxy))  # accepted by the kernel, then reset by the proxy
    deadline = time.monotonic() + 2  # the pumps notice within their poll interval
    while proxy.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.open_connections == 0


def test_back_to_pass_after_reset(proxy):
    proxy.set_mode("reset")
    proxy.set_mode("pass")
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"


def test_armed_blackhole_goes_off_on_a_large_upstream_chunk(proxy):
    proxy.set_mode("slow")
    proxy.arm_blackhole(min_upstream_chunk=1000)
    with connect(proxy) as sock:
        assert roundtrip(sock, b"small") == b"small"
        assert proxy.mode == "slow"
        assert not proxy.triggered.is_set()
        sock.sendall(b"x" * 2000)
        assert proxy.triggered.wait(2)
        assert proxy.mode == "blackhole"
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(65536)


def test_armed_response_reset_loses_one_answer(proxy):
    proxy.arm_on_response("reset")
    with connect(proxy) as sock:
        sock.sendall(b"ping")
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(65536) == b""
    assert proxy.triggered.is_set()
    assert proxy.mode == "pass"
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"


def test_armed_response_blackhole_holds_the_answer(proxy):
    proxy.arm_on_response("blackhole")
    with connect(proxy) as sock:
        sock.sendall(b"ping")
        assert proxy.triggered.wait(2)
        assert proxy.mode == "blackhole"
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(65536)

"""A TCP proxy that injects network faults between the service and the emulator.

Threads and the standard library only. It listens on a free 127.0.0.1 port and forwards
every connection to ``upstream``; the test switches its mode at any time:

- ``pass``: forward as is.
- ``slow``: hold every chunk for a random latency (``slow_seconds``) in both directions.
- ``blackhole``: connections stay open and new ones are accepted, but nothing is
  forwarded (chunks read are held, not dropped: like a partition with TCP retransmits,
  they arrive if the network heals before the connection dies).
- ``reset``: every open connection is closed with an RST (``SO_LINGER`` 0), and new
  ones are reset as soon as they are accepted.

``arm_blackhole(min_upstream_chunk=N)`` keeps the current mode (``pass`` or ``slow``)
until a client-to-server chunk of at least N bytes arrives, then turns ``blackhole``
with that chunk held: the network freezes exactly while a large request — a commit,
whose mutations dwarf the reads before it — is on the wire.

``arm_on_response(fault)`` waits for the next server-to-client chunk — the request was
delivered and answered — and loses it: ``reset`` resets that one connection (the mode
stays), ``blackhole`` turns ``blackhole`` with the answer held. A client in front of a
service sees its write applied but never hears so.
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
import struct
import threading
import time

MODES = ("pass", "slow", "blackhole", "reset")
_POLL_SECONDS = 0.05  # how often blocked pumps look at the mode and at their link
_CHUNK = 65536


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` so that the peer sees an RST, not a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Link:
    """One proxied connection: the client's socket, the upstream socket, two pumps."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._running = 2  # pumps; the last one out closes both sockets
        self.threads = [
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True),
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def reset(self) -> None:
        self.closed.set()
        _reset(self.client)
        _reset(self.upstream)

    def _pump(self, src: socket.socket, dst: socket.socket, to_upstream: bool) -> None:
        try:
            while not self.closed.is_set():
                readable, _, _ = select.select([src], [], [], _POLL_SECONDS)
                if not readable:
                    continue
                data = src.recv(_CHUNK)
                if not data:  # half-close: pass the FIN on, keep the other way open
                    dst.shutdown(socket.SHUT_WR)
                    break
                if not self.proxy.admit(data, to_upstream=to_upstream, link=self):
                    break
                dst.sendall(data)
        except (OSError, ValueError):  # reset by a peer, or by the proxy (closed fd)
            self.reset()
        finally:
            with self._lock:
                self._running -= 1
                last = self._running == 0
            if last:
                self.closed.set()
                self.client.close()
                self.upstream.close()
                self.proxy.forget(self)


class FaultProxy:
    def __init__(self, upstream: str, *, slow_seconds: tuple[float, float] = (0.2, 0.5)) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.slow_seconds = slow_seconds
        self._mode = "pass"
        self._arm_bytes: int | None = None
        self._arm_response: str | None = None  # the fault armed for the next answer
        self.triggered = threading.Event()  # set when an armed blackhole went off
        self._cond = threading.Condition()
        self._links: set[_Link] = set()
        self.accepted = 0  # connections accepted, for tests and diagnostics
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(_POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_forever, daemon=True)
        self._acceptor.start()

    # --- control ----------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        with self._cond:
            self._mode = mode
            self._arm_bytes = None
            self._arm_response = None
            links = list(self._links) if mode == "reset" else []
            self._cond.notify_all()
        for link in links:
            link.reset()

    def arm_blackhole(self, *, min_upstream_chunk: int) -> None:
        with self._cond:
            self._arm_bytes = min_upstream_chunk
            self.triggered.clear()

    def arm_on_response(self, fault: str) -> None:
        if fault not in ("reset", "blackhole"):
            raise ValueError(f"unknown fault {fault!r}; reset or blackhole")
        with self._cond:
            self._arm_response = fault
            self.triggered.clear()

    @property
    def open_connections(self) -> int:
        with self._cond:
            return len(self._links)

    def close(self) -> None:
        self._stopping.set()
        self._acceptor.join(5)
        with contextlib.suppress(OSError):
            self._listener.close()
        self.set_mode("reset")

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the data path ------------------------------------------------------------

    def admit(self, data: bytes, *, to_upstream: bool, link: _Link) -> bool:
        """Wait until ``data`` may be forwarded; False if the link died meanwhile."""
        with self._cond:
            if (
                self._arm_bytes is not None
                and to_upstream
                and len(data) >= self._arm_bytes
                and self._mode in ("pass", "slow")
            ):
                self._mode = "blackhole"
                self._arm_bytes = None
                self.triggered.set()
                self._cond.notify_all()
            if self._arm_response and not to_upstream and self._mode in ("pass", "slow"):
                fault, self._arm_response = self._arm_response, None
                self.triggered.set()
                if fault == "reset":
                    link.reset()
                    return False
                self._mode = "blackhole"
                self._cond.notify_all()
            while self._mode == "blackhole" and not link.closed.is_set():
                self._cond.wait(_POLL_SECONDS)
            if self._mode == "reset" or link.closed.is_set():
                link.reset()
                return False
            slow = self._mode == "slow"
        if slow:
            time.sleep(random.uniform(*self.slow_seconds))
        return not link.closed.is_set()

    def forget(self, link: _Link) -> None:
        with self._cond:
            self._links.discard(link)

    def _accept_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self._mode == "reset":
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            for sock in (client, upstream):
                sock.settimeout(None)  # blocking; the pumps poll with select
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(self, client, upstream)
            with self._cond:
                self._links.add(link)
            link.start()

"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation.

The benchmark runs client, server and emulator on the same 2 cores, so the client must
cost as little CPU per request as possible: this one sends pre-encoded requests and
parses only the status line and Content-Length (bench/cpu_per_request.py compares it
with httpx).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class HttpConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def post_json(self, path: str, body: Any) -> tuple[int, bytes]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        return await self.request(head + payload)

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode()
        )

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            await self._connect()
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            raise ConnectionError("not connected")
        writer.write(raw)
        status_line = await reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        close = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

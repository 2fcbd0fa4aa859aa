"""Client CPU per request: bench/httpclient.py vs httpx.AsyncClient.

The benchmark's load generator shares the machine's 2 cores with the server and the
emulator; every CPU-millisecond the client burns is taken from them. This measures the
client process's CPU time per request against the same server (GET /healthz, which
does no Spanner work), so the choice of client rests on a number:

    python -m bench.cpu_per_request
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx

from bench import harness
from bench.httpclient import HttpConnection
from devtools.emulator import Emulator

REQUESTS = 3000
CLIENTS = 16


async def with_minimal_client(url: str) -> None:
    parts = urlsplit(url)
    raw = f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()

    async def client() -> None:
        connection = HttpConnection(parts.hostname or "127.0.0.1", parts.port or 80)
        for _ in range(REQUESTS // CLIENTS):
            await connection.request(raw)
        await connection.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


async def with_httpx(url: str) -> None:
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits) as http:

        async def client() -> None:
            for _ in range(REQUESTS // CLIENTS):
                await http.get("/healthz")

        await asyncio.gather(*(client() for _ in range(CLIENTS)))


def cpu_ms_per_request(run: object, url: str) -> float:
    asyncio.run(run(url))  # type: ignore[operator]  # warm-up
    started = time.process_time()
    asyncio.run(run(url))  # type: ignore[operator]
    return (time.process_time() - started) * 1000 / REQUESTS


def compare(url: str) -> dict[str, float]:
    """Client CPU milliseconds per request, by client."""
    return {
        "bench/httpclient.py": cpu_ms_per_request(with_minimal_client, url),
        "httpx.AsyncClient": cpu_ms_per_request(with_httpx, url),
    }


def main() -> None:
    with Emulator() as emulator:
        harness.create_database(emulator.address, "cpu")
        with harness.service(emulator.address, "cpu", {}) as url:
            for name, ms in compare(url).items():
                print(f"{name:22s} {ms:.3f} ms client CPU per request")


if __name__ == "__main__":
    main()

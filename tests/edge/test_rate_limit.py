"""The per-principal rate limit: the bucket (on a hand-driven clock) and the routers.

No sleeps and no timed asserts: the app tests use a rate so low that no token can come
back while they run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.errors import PROBLEM_CONTENT_TYPE
from api.ratelimit import TokenBucketLimiter, retry_after_seconds
from tests.support import FakeClock

SLOW = 0.01  # tokens per second: 100 s per token, far longer than any test


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(
    clock: FakeClock, *, rate: float = 2.0, burst: int = 3, max_keys: int = 100
) -> TokenBucketLimiter:
    return TokenBucketLimiter(rate=rate, burst=burst, max_keys=max_keys, clock=clock)


# --- the bucket ------------------------------------------------------------------------------


def test_a_burst_then_a_wait_for_the_next_token(clock: FakeClock) -> None:
    buckets = limiter(clock, rate=2.0, burst=3)
    assert [buckets.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.acquire("a") == pytest.approx(0.5)
    clock.advance(0.25)
    assert buckets.acquire("a") == pytest.approx(0.25)  # a refused request costs nothing
    clock.advance(0.25)
    assert buckets.acquire("a") == 0.0
    assert buckets.acquire("a") == pytest.approx(0.5)


def test_each_caller_has_its_own_bucket(clock: FakeClock) -> None:
    buckets = limiter(clock, burst=2)
    assert buckets.acquire("alice") == buckets.acquire("alice") == 0.0
    assert buckets.acquire("alice") > 0
    assert buckets.acquire("bob") == buckets.acquire("bob") == 0.0
    assert buckets.acquire("bob") > 0


def test_tokens_never_pile_up_beyond_the_burst(clock: FakeClock) -> None:
    buckets = limiter(clock, rate=2.0, burst=3)
    buckets.acquire("a")
    clock.advance(3600)
    assert [buckets.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.acquire("a") > 0


def test_idle_buckets_are_dropped(clock: FakeClock) -> None:
    buckets = limiter(clock, rate=2.0, burst=3)  # full again 1.5 s after last use
    for key in ("a", "b", "c"):
        buckets.acquire(key)
    assert len(buckets) == 3
    clock.advance(1.0)
    buckets.acquire("c")
    clock.advance(0.6)  # a and b idle 1.6 s: full, hence forgettable; c idle 0.6 s
    buckets.acquire("d")
    assert len(buckets) == 2  # c and d


def test_memory_is_bounded_by_max_keys(clock: FakeClock) -> None:
    buckets = limiter(clock, rate=SLOW, burst=1, max_keys=10)
    for n in range(1000):
        assert buckets.acquire(f"caller-{n}") == 0.0
    assert len(buckets) == 10


def test_concurrent_callers_share_one_bucket_exactly(clock: FakeClock) -> None:
    buckets = limiter(clock, rate=SLOW, burst=50)
    granted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = sum(1 for _ in range(100) if buckets.acquire("shared") == 0.0)
        with lock:
            granted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50


@pytest.mark.parametrize(
    ("wait", "header"), [(0.001, 1), (0.5, 1), (1.0, 1), (1.2, 2), (99.9, 100)]
)
def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(wait: float, header: int) -> None:
    assert retry_after_seconds(wait) == header


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0), (-1, 5)])
def test_a_bucket_needs_a_positive_rate_and_burst(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        TokenBucketLimiter(rate=rate, burst=burst)


# --- on the routers ------------------------------------------------------------------------


@pytest.mark.emulator
def test_a_caller_over_its_burst_gets_429_with_retry_after(
    edge_client: Callable[..., TestClient], unique: Callable[[str], str]
) -> None:
    client = edge_client(rate_limit_per_second=SLOW, rate_limit_burst=3)
    path = f"/v1/accounts/{unique('nobody')}"
    assert [client.get(path).status_code for _ in range(3)] == [404, 404, 404]
    response = client.get(path)
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 1 / SLOW
    # Writes spend from the same bucket; health checks are never limited.
    assert client.post("/v1/accounts", json={"currency": "USD"}).status_code == 429
    assert client.get("/healthz").status_code == 200


@pytest.mark.emulator
def test_principals_are_limited_separately(
    edge_client: Callable[..., TestClient], unique: Callable[[str], str]
) -> None:
    client = edge_client(rate_limit_per_second=SLOW, rate_limit_burst=2, tokens_name_callers=True)
    path = f"/v1/accounts/{unique('nobody')}"

    def as_caller(name: str) -> int:
        return client.get(path, headers={"Authorization": f"Bearer {name}"}).status_code

    assert [as_caller("alice") for _ in range(3)] == [404, 404, 429]
    assert [as_caller("bob") for _ in range(3)] == [404, 404, 429]


@pytest.mark.emulator
@pytest.mark.parametrize("setting", ["rate_limit_per_second", "rate_limit_burst"])
def test_zero_disables_the_limit(
    edge_client: Callable[..., TestClient], unique: Callable[[str], str], setting: str
) -> None:
    client = edge_client(**{setting: 0})
    assert client.app.state.rate_limiter is None  # type: ignore[attr-defined]
    path = f"/v1/accounts/{unique('nobody')}"
    assert {client.get(path).status_code for _ in range(5)} == {404}


@pytest.mark.emulator
def test_429_is_declared_on_every_v1_route_and_not_on_health(
    edge_client: Callable[..., TestClient],
) -> None:
    paths = edge_client().get("/openapi.json").json()["paths"]
    v1 = [(path, op) for path, ops in paths.items() if path.startswith("/v1") for op in ops]
    assert v1
    for path, method in v1:
        responses = paths[path][method]["responses"]
        assert "429" in responses, (method, path)
        assert "413" in responses, (method, path)
    assert "429" not in paths["/healthz"]["get"]["responses"]

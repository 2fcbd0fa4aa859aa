"""Bounded staleness on lists, history and queries: opt-in, capped, and reported."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.spanner.config import SpannerConfig

Ids = Callable[[str], str]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/accounts", {}),
        ("/v1/transfers", {}),
        ("/v1/balances", {"account_ids": "{a}"}),
        ("/v1/accounts/{a}/entries", {}),
        ("/v1/accounts/{a}/statement", {"from": "2020-01-01T00:00:00Z"}),
    ],
)
def test_a_stale_read_says_when_it_read_and_is_never_staler_than_asked(
    client: TestClient, unique: Ids, path: str, query: dict[str, str]
) -> None:
    account = unique("a")
    assert client.post("/v1/accounts", json={"id": account, "currency": "USD"}).status_code == 201
    time.sleep(1.2)  # the account exists 1 s ago: a read 1 s stale still sees it
    url = path.format(a=account)
    params = {k: v.format(a=account) for k, v in query.items()}
    started = datetime.now(UTC)
    response = client.get(url, params={**params, "max_staleness": 1})
    assert response.status_code == 200, response.text
    read_at = parse(response.json()["read_timestamp"])
    assert started - timedelta(seconds=1.5) <= read_at <= datetime.now(UTC)
    strong = client.get(url, params=params).json()["read_timestamp"]
    assert parse(strong) >= read_at


@pytest.mark.emulator
@pytest.mark.parametrize("value", ["0", "-1", "3601", "1e9", "soon"])
def test_staleness_beyond_the_cap_or_not_a_number_is_422(client: TestClient, value: str) -> None:
    response = client.get("/v1/accounts", params={"max_staleness": value})
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_stale_reads_go_to_the_configured_replicas() -> None:
    config = SpannerConfig(
        "i", "d", stale_read_replica_type="READ_ONLY", stale_read_location="us-east1"
    )
    assert config.directed_read_options == {
        "include_replicas": {"replica_selections": [{"type_": "READ_ONLY", "location": "us-east1"}]}
    }
    assert SpannerConfig("i", "d").directed_read_options is None

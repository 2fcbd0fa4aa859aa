"""What the transfers tests share."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def pair(client: TestClient, unique: Callable[[str], str]) -> tuple[str, str]:
    """Two open USD accounts of the shared database."""
    ids = unique("acct"), unique("acct")
    for account_id in ids:
        assert client.post("/v1/accounts", json={"id": account_id, "currency": "USD"}).is_success
    return ids

"""Input a transaction could choke on is refused before anything commits (422)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.api_core import exceptions as gexc
from pytest_mock import MockerFixture

from api.batch import service as batch_service
from api.ids import MAX_METADATA_DEPTH

Ids = Callable[[str], str]
LONE_SURROGATE = "\ud800"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


BAD_METADATA = {
    "lone surrogate in a value": {"note": LONE_SURROGATE},
    "lone surrogate in a key": {LONE_SURROGATE: 1},
    "nested 300 levels": nested(300),
    "nested one level too deep": nested(MAX_METADATA_DEPTH + 1),
    "not a finite number": {"x": float("nan")},
    "integer too large to store": {"x": 2**70},
}


def send(client: TestClient, path: str, body: Any) -> Any:
    # json.dumps escapes a lone surrogate as \ud800, which the server decodes back.
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def transfer(tid: str, a: str, b: str, amount: int = 1, **extra: Any) -> dict[str, Any]:
    return {"id": tid, "debit_account_id": a, "credit_account_id": b, "amount": amount, **extra}


def version(client: TestClient, account_id: str) -> int:
    return int(client.get(f"/v1/accounts/{account_id}").json()["version"])


@pytest.mark.parametrize("metadata", BAD_METADATA.values(), ids=BAD_METADATA.keys())
def test_unstorable_metadata_on_an_account_is_422(
    client: TestClient, unique: Ids, metadata: Any
) -> None:
    account_id = unique("acct")
    body = {"id": account_id, "currency": "USD", "metadata": metadata}
    response = send(client, "/v1/accounts", body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert client.get(f"/v1/accounts/{account_id}").status_code == 404


@pytest.mark.parametrize("metadata", BAD_METADATA.values(), ids=BAD_METADATA.keys())
def test_unstorable_metadata_on_a_transfer_is_422(
    client: TestClient, pair: tuple[str, str], unique: Ids, metadata: Any
) -> None:
    a, b = pair
    response = send(client, "/v1/transfers", transfer(unique("t"), a, b, metadata=metadata))
    assert response.status_code == 422, response.text
    assert version(client, a) == 0


@pytest.mark.parametrize("atomic", [True, False])
@pytest.mark.parametrize("metadata", BAD_METADATA.values(), ids=BAD_METADATA.keys())
def test_unstorable_metadata_in_a_batch_is_422_and_nothing_commits(
    client: TestClient, pair: tuple[str, str], unique: Ids, metadata: Any, atomic: bool
) -> None:
    a, b = pair
    items = [transfer(unique("t"), a, b) for _ in range(150)]
    items[120]["metadata"] = metadata  # in the second chunk of 100
    response = send(client, "/v1/transfers:batch", {"transfers": items, "atomic": atomic})
    assert response.status_code == 422, response.text
    assert version(client, a) == 0


def test_a_chunk_that_fails_for_good_leaves_the_results_of_what_committed(
    client: TestClient, pair: tuple[str, str], unique: Ids, mocker: MockerFixture
) -> None:
    a, b = pair
    real = batch_service.commit_orders
    calls = 0

    def second_chunk_refused(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise gexc.InvalidArgument("injected: a value storage refuses")
        return real(*args, **kwargs)

    mocker.patch.object(batch_service, "commit_orders", side_effect=second_chunk_refused)
    items = [transfer(unique("t"), a, b) for _ in range(250)]
    response = send(client, "/v1/transfers:batch", {"transfers": items})
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [201] * 100 + [422] * 100 + [201] * 50
    assert (body["created"], body["failed"]) == (150, 100)
    assert version(client, a) == 150


def test_a_large_wrong_body_gets_a_small_answer(client: TestClient) -> None:
    items = [{"id": f"t{i}", "amount": "x"} for i in range(5000)]
    response = send(client, "/v1/transfers:batch", {"transfers": items})
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == 50
    assert "errors; the first 50 are listed" in problem["detail"]
    assert len(response.content) < 20_000


def test_a_batch_longer_than_the_hard_limit_is_refused_by_its_length(client: TestClient) -> None:
    response = send(client, "/v1/transfers:batch", {"transfers": [{}] * 10_001})
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 1


# --- JSON types as they are: no number from a string, no integer from a float, no
# boolean from anything but true and false ----------------------------------------

WRONG_TYPES = {
    "atomic 0 for false": ("/v1/transfers:batch", {"atomic": 0}),
    "atomic 'true'": ("/v1/transfers:batch", {"atomic": "true"}),
    "pending 1": ("/v1/transfers", {"pending": 1}),
    "pending 'false'": ("/v1/transfers", {"pending": "false"}),
    "amount '5'": ("/v1/transfers", {"amount": "5"}),
    "amount 5.0": ("/v1/transfers", {"amount": 5.0}),
    "timeout 60.0": ("/v1/transfers", {"pending": True, "timeout_seconds": 60.0}),
    "a transaction's pending 0": ("/v1/transactions", {"pending": 0}),
    "an account flag 1": ("/v1/accounts", {"flags": {"debits_must_not_exceed_credits": 1}}),
    "an account bound '-5'": ("/v1/accounts", {"bounds": {"lower": "-5"}}),
}


def valid_body(path: str, pair: tuple[str, str], unique: Ids) -> dict[str, Any]:
    a, b = pair
    transfer = {"id": unique("t"), "debit_account_id": a, "credit_account_id": b, "amount": 5}
    if path == "/v1/accounts":
        return {"id": unique("acct"), "currency": "USD"}
    if path == "/v1/transactions":
        return {"id": unique("x"), "legs": [{k: transfer[k] for k in list(transfer)[1:]}]}
    if path == "/v1/transfers:batch":
        return {"transfers": [transfer]}
    return transfer


@pytest.mark.parametrize(("path", "change"), WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_a_value_of_the_wrong_json_type_is_422_and_nothing_is_written(
    client: TestClient, pair: tuple[str, str], unique: Ids, path: str, change: dict[str, Any]
) -> None:
    body = valid_body(path, pair, unique) | change
    response = client.post(path, json=body)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert client.get(f"/v1/accounts/{pair[0]}").json()["version"] == 0

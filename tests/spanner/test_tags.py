"""Per-request Spanner settings: request and transaction tags (action and principal),
the request's deadline as each call's timeout, and low priority for list reads.

Checked on the arguments the Spanner client receives during real requests against the
emulator (spies, not stand-ins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.cloud.spanner_v1 import RequestOptions
from google.cloud.spanner_v1.snapshot import _SnapshotBase
from google.cloud.spanner_v1.transaction import Transaction
from pytest_mock import MockerFixture

from api.app import create_app
from api.auth import READ, WRITE, Authenticator, Principal
from api.config import Settings
from api.spanner.budget import TAG_MAX_CHARS, compose_tag
from api.spanner.tx import PRIORITY_DEFAULT, PRIORITY_LOW

BUDGET_SECONDS = 4.0
CALLER = Principal(
    subject="112233445566778899",
    email="svc-payments@proj.iam.gserviceaccount.com",
    issuer="https://accounts.google.com",
    scopes=frozenset({READ, WRITE}),
)


# --- composing a tag -------------------------------------------------------------------


def test_tag_names_the_action_and_the_principal_without_its_domain() -> None:
    tag = compose_tag("transfers.create", "svc-payments@proj.iam.gserviceaccount.com")
    assert tag == "action=transfers.create,principal=svc-payments"


def test_tag_without_a_principal_names_the_action() -> None:
    assert compose_tag("accounts.get", None) == "action=accounts.get"


@pytest.mark.parametrize(
    "principal",
    [
        "a-very-long-service-account-name-indeed@proj.iam.gserviceaccount.com",
        "x" * 300,
        "1" * 21,  # a Google subject without an email
    ],
)
def test_tag_fits_spanners_fifty_characters(principal: str) -> None:
    tag = compose_tag("accounts.entries", principal)
    assert len(tag) <= TAG_MAX_CHARS
    assert tag.startswith("action=accounts.entries,principal=")
    assert principal.partition("@")[0].startswith(tag.split("principal=")[1])


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("evil,action=admin@x", "action=a.b,principal=evil_action_admin"),
        ("__svc@x", "action=a.b,principal=svc"),
        ("bob smith\n@x", "action=a.b,principal=bob_smith_"),
        ("émile@x", "action=a.b,principal=mile"),  # leading "_" dropped
        ("@x", "action=a.b"),
        ("", "action=a.b"),
    ],
)
def test_tag_keeps_only_safe_characters(principal: str, expected: str) -> None:
    assert compose_tag("a.b", principal) == expected


def test_an_overlong_action_is_cut_and_leaves_no_room_for_the_principal() -> None:
    tag = compose_tag("x" * 80, "svc@x")
    assert tag == ("action=" + "x" * 80)[:TAG_MAX_CHARS]


def test_every_tag_character_is_printable_ascii() -> None:
    tag = compose_tag("accounts.list\t", "用户@example.com")
    assert all(32 <= ord(c) <= 126 for c in tag)
    assert not tag.startswith("_")


# --- what Spanner receives during a request ---------------------------------------------


class FixedCaller(Authenticator):
    """Every request is ``CALLER`` (the real dependency still records it on the scope)."""

    def __init__(self) -> None:
        super().__init__(verifier=None)

    def authenticate(self, token: str | None) -> Principal:
        return CALLER


@pytest.fixture
def tagged_client(ledger_settings: Settings) -> Iterator[TestClient]:
    settings = ledger_settings.model_copy(
        update={"request_timeout_seconds": BUDGET_SECONDS, "group_commit_enabled": False}
    )
    app = create_app(settings, configure_logs=False)
    app.state.authenticator = FixedCaller()
    with TestClient(app) as client:
        yield client


class Calls:
    def __init__(self, mocker: MockerFixture) -> None:
        self.read = mocker.spy(_SnapshotBase, "read")
        self.execute_sql = mocker.spy(_SnapshotBase, "execute_sql")
        self.commit = mocker.spy(Transaction, "commit")

    def reset(self) -> None:
        for spy in (self.read, self.execute_sql, self.commit):
            spy.reset_mock()

    def queries(self) -> list[Any]:
        """(self, args, kwargs) of every read and query, in no particular order."""
        return [*self.read.call_args_list, *self.execute_sql.call_args_list]


@pytest.fixture
def calls(mocker: MockerFixture) -> Calls:
    return Calls(mocker)


def options(call: Any) -> RequestOptions:
    request_options = call.kwargs["request_options"]
    assert isinstance(request_options, RequestOptions)
    return request_options


def open_accounts(client: TestClient, unique: Callable[[str], str]) -> tuple[str, str]:
    bank, alice = unique("bank"), unique("alice")
    for account in (bank, alice):
        assert client.post("/v1/accounts", json={"id": account, "currency": "USD"}).is_success
    return bank, alice


@pytest.mark.emulator
def test_a_read_carries_the_request_tag_and_the_remaining_budget(
    tagged_client: TestClient, calls: Calls, unique: Callable[[str], str]
) -> None:
    _, alice = open_accounts(tagged_client, unique)
    calls.reset()
    assert tagged_client.get(f"/v1/accounts/{alice}").status_code == 200
    (call,) = calls.queries()
    assert options(call).request_tag == "action=accounts.get,principal=svc-payments"
    assert options(call).priority == PRIORITY_DEFAULT
    assert 0 < call.kwargs["timeout"] <= BUDGET_SECONDS


@pytest.mark.emulator
def test_one_snapshot_of_balances_is_tagged(
    tagged_client: TestClient, calls: Calls, unique: Callable[[str], str]
) -> None:
    bank, alice = open_accounts(tagged_client, unique)
    calls.reset()
    assert tagged_client.get(f"/v1/balances?account_ids={alice},{bank}").status_code == 200
    assert calls.queries()
    for call in calls.queries():
        assert options(call).request_tag == "action=balances.read,principal=svc-payments"
        assert 0 < call.kwargs["timeout"] <= BUDGET_SECONDS


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/v1/accounts?page_size=2", "accounts.list"),
        ("/v1/accounts/{id}/entries", "accounts.entries"),
    ],
)
def test_list_and_history_reads_run_at_low_priority(
    tagged_client: TestClient,
    calls: Calls,
    unique: Callable[[str], str],
    path: str,
    action: str,
) -> None:
    _, alice = open_accounts(tagged_client, unique)
    calls.reset()
    assert tagged_client.get(path.format(id=alice)).status_code == 200
    assert calls.queries()
    for call in calls.queries():
        assert options(call).priority == PRIORITY_LOW
        assert options(call).request_tag == f"action={action},principal=svc-payments"


@pytest.mark.emulator
def test_a_write_carries_the_transaction_tag_on_its_reads_and_its_commit(
    tagged_client: TestClient, calls: Calls, unique: Callable[[str], str]
) -> None:
    bank, alice = open_accounts(tagged_client, unique)
    calls.reset()
    response = tagged_client.post(
        "/v1/transfers",
        json={"id": unique("t"), "debit_account_id": bank, "credit_account_id": alice,
              "amount": 3},
    )  # fmt: skip
    assert response.status_code == 201
    expected = "action=transfers.create,principal=svc-payments"
    (commit,) = calls.commit.call_args_list
    transaction = commit.args[0]
    assert transaction.transaction_tag == expected
    reads = calls.queries()
    assert reads
    for call in reads:
        assert call.args[0] is transaction
        assert options(call).request_tag == expected
        assert 0 < call.kwargs["timeout"] <= BUDGET_SECONDS


@pytest.mark.emulator
def test_group_commits_are_tagged_without_a_principal(
    ledger_settings: Settings, calls: Calls, unique: Callable[[str], str]
) -> None:
    """One group carries several callers' transfers: no single principal to name."""
    settings = ledger_settings.model_copy(update={"group_commit_enabled": True})
    app = create_app(settings, configure_logs=False)
    app.state.authenticator = FixedCaller()
    with TestClient(app) as client:
        bank, alice = open_accounts(client, unique)
        calls.reset()
        response = client.post(
            "/v1/transfers",
            json={"id": unique("t"), "debit_account_id": bank, "credit_account_id": alice,
                  "amount": 1},
        )  # fmt: skip
    assert response.status_code == 201
    (commit,) = calls.commit.call_args_list
    assert commit.args[0].transaction_tag == "action=transfers.group"

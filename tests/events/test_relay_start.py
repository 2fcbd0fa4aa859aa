"""Where the relay begins: from the change stream's creation on its first start, so no
change committed before it is missed; and never a silent gap when the stream's retention
has passed (it refuses, until an operator accepts a later start, which the feed shows)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from api.events.__main__ import EXIT_REFUSED
from api.events.model import Place, encode_cursor, parse_rfc3339
from tests.events.conftest import (
    Ledger,
    Subscriber,
    WebhookReceiver,
    pubsub_env,
    webhooks_env,
)

ACCOUNTS = ("a", "b", "c", "d")
# As if the migrations ran eight days ago and the relay was never deployed.
STREAM_BEGAN_8_DAYS_AGO = (
    "UPDATE SchemaMigrationsHistory SET StatementsCommittedAt = "
    "[TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 8 DAY)] WHERE Version = 11"
)
# As if the relay stopped eight days ago.
RELAY_STOPPED_8_DAYS_AGO = (
    "UPDATE EventPartitions SET "
    "StartTimestamp = TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 8 DAY), "
    "Watermark = TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 8 DAY) WHERE Finished = FALSE"
)


def _open_accounts(ledger: Ledger) -> None:
    for account_id in ACCOUNTS:
        body = {"id": account_id, "currency": "USD"}
        assert ledger.http.post("/v1/accounts", json=body).status_code == 201


def _transfers(ledger: Ledger, prefix: str, count: int) -> set[str]:
    def one(i: int) -> str:
        debit, credit = ACCOUNTS[i % 4], ACCOUNTS[(i + 1) % 4]
        body = {"id": f"{prefix}{i:03d}", "debit_account_id": debit,
                "credit_account_id": credit, "amount": 1 + i}  # fmt: skip
        response = ledger.http.post("/v1/transfers", json=body)
        assert response.status_code == 201, response.text
        return str(body["id"])

    with ThreadPoolExecutor(16) as pool:  # concurrent: group commits, several per commit
        return set(pool.map(one, range(count)))


def _created(events: list[dict[str, Any]]) -> set[str]:
    return {e["data"]["id"] for e in events if e["type"] == "transfer.created"}


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def _refused(ledger: Ledger, **env: str) -> str:
    pipeline = ledger.start_pipeline(wait=False, **env)
    assert pipeline.exit_code() == EXIT_REFUSED, pipeline.output()
    assert "events relay refused:" in pipeline.output()
    return pipeline.output()


def _accept_gap_from(instant: datetime) -> dict[str, str]:
    return {
        "LEDGER_EVENTS_ACCEPT_GAP": "true",
        "LEDGER_EVENTS_START_AT": instant.isoformat().replace("+00:00", "Z"),
    }


def _spanner_now(ledger: Ledger) -> datetime:
    now: datetime = ledger.query("SELECT CURRENT_TIMESTAMP()")[0][0]
    return now


def test_changes_committed_before_the_first_start_all_reach_the_feed_pubsub_and_a_webhook(
    ledger_factory: Callable[[], Ledger],
    webhook_receiver: Callable[..., WebhookReceiver],
    pubsub_emulator: Any,
    subscribe: Callable[[str], Subscriber],
) -> None:
    ledger = ledger_factory()
    _open_accounts(ledger)
    before = _transfers(ledger, "early-", 300)  # the ledger took traffic; no relay yet
    topic = f"events-{uuid.uuid4().hex[:8]}"
    subscriber = subscribe(topic)
    receiver = webhook_receiver()
    env = {**pubsub_env(pubsub_emulator.address, topic), **webhooks_env(("erp", receiver.url))}

    ledger.start_pipeline(**env)
    after = _transfers(ledger, "late-", 20)

    feed = ledger.wait_for(lambda items: _created(items) >= before | after)
    opened = {e["data"]["id"] for e in feed if e["type"] == "account.opened"}
    assert opened == set(ACCOUNTS)
    page = ledger.http.get("/v1/events", params={"limit": 1}).json()
    assert parse_rfc3339(page["starts_at"].replace("+00:00", "Z")) <= parse_rfc3339(
        page["items"][0]["occurred_at"]
    )
    everything = {e["id"] for e in feed}
    _wait(lambda: subscriber.ids() >= everything, "Pub/Sub missed events")
    _wait(lambda: {e["id"] for e in receiver.events()} >= everything, "the webhook missed events")


def test_a_first_start_past_the_streams_retention_is_refused(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    ledger.sql(STREAM_BEGAN_8_DAYS_AGO)

    output = _refused(ledger)

    assert "never read it" in output
    assert "LEDGER_EVENTS_ACCEPT_GAP" in output
    assert ledger.http.get("/v1/events").json()["complete_until"] is None


def test_an_operator_accepts_a_later_first_start_and_the_feed_says_where_it_begins(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    _open_accounts(ledger)
    lost = _transfers(ledger, "lost-", 5)
    ledger.sql(STREAM_BEGAN_8_DAYS_AGO)
    start = _spanner_now(ledger)

    ledger.start_pipeline(**_accept_gap_from(start))
    kept = _transfers(ledger, "kept-", 5)

    feed = ledger.wait_for(lambda items: _created(items) >= kept)
    assert not _created(feed) & lost
    page = ledger.http.get("/v1/events").json()
    assert parse_rfc3339(page["starts_at"].replace("+00:00", "Z")) == start


def test_a_relay_down_longer_than_the_retention_refuses_to_resume(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline().stop()
    ledger.sql(RELAY_STOPPED_8_DAYS_AGO)

    output = _refused(ledger)

    assert "down longer than the stream's retention" in output


def test_after_an_accepted_gap_old_cursors_expire_and_new_events_flow(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    _open_accounts(ledger)
    pipeline = ledger.start_pipeline()
    ledger.wait_for(lambda items: len(items) >= len(ACCOUNTS))
    old_cursor = ledger.http.get("/v1/events", params={"limit": 1}).json()["next_cursor"]
    pipeline.stop()
    ledger.sql(RELAY_STOPPED_8_DAYS_AGO)
    start = _spanner_now(ledger) + timedelta(seconds=1)
    time.sleep(1.5)

    ledger.start_pipeline(**_accept_gap_from(start))
    kept = _transfers(ledger, "kept-", 3)

    ledger.wait_for(lambda items: _created(items) >= kept)
    expired = ledger.http.get("/v1/events", params={"after": old_cursor})
    assert expired.status_code == 410
    assert expired.json()["code"] == "cursor_expired"
    # The relay restarted with the same settings resumes: the gap is accepted once.
    ledger.start_pipeline(**_accept_gap_from(start)).stop()
    assert ledger.query("SELECT COUNT(*) FROM EventFeedStarts")[0][0] == 2


def test_a_cursor_from_before_the_feeds_start_is_410(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    starts_at = ledger.http.get("/v1/events").json()["starts_at"]
    before = Place(parse_rfc3339(starts_at.replace("+00:00", "Z")) - timedelta(seconds=1))

    response = ledger.http.get("/v1/events", params={"after": encode_cursor(before)})

    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "cursor_expired"
    assert "the relay began reading there" in response.json()["detail"]


def test_a_cursor_older_than_the_events_retention_is_410(
    ledger_factory: Callable[[], Ledger],
) -> None:
    ledger = ledger_factory()
    ledger.start_pipeline()
    # As if the relay had begun 40 days ago.
    ledger.sql("DELETE FROM EventFeedStarts WHERE TRUE")
    ledger.sql(
        "INSERT INTO EventFeedStarts (StartsAt, Reason, RecordedAt) VALUES "
        "(TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 40 DAY), 'test', PENDING_COMMIT_TIMESTAMP())"
    )
    month_ago = Place(datetime.now(UTC) - timedelta(days=31))

    response = ledger.http.get("/v1/events", params={"after": encode_cursor(month_ago)})

    assert response.status_code == 410
    assert response.json()["code"] == "cursor_expired"
    assert "events are kept 30 days" in response.json()["detail"]


def test_a_webhook_endpoint_behind_the_retention_is_dead_lettered_with_the_reason(
    ledger_factory: Callable[[], Ledger],
    webhook_receiver: Callable[..., WebhookReceiver],
) -> None:
    ledger = ledger_factory()
    receiver = webhook_receiver()
    ledger.sql(
        "INSERT INTO EventSinkCursors (SinkId, CommitTimestamp, Position, UpdatedAt) VALUES "
        "('webhook:erp', TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 31 DAY), '', "
        "PENDING_COMMIT_TIMESTAMP())"
    )

    ledger.start_pipeline(**webhooks_env(("erp", receiver.url)))
    _open_accounts(ledger)

    _wait(lambda: len(receiver.events()) >= len(ACCOUNTS), "the endpoint got nothing")
    letters = ledger.query("SELECT EventId, Attempts, LastError FROM WebhookDeadLetters")
    assert len(letters) == 1
    event_id, attempts, error = letters[0]
    assert event_id.startswith("gap_")
    assert attempts == 0
    assert "fell behind the feed" in error
    assert "are not in the feed" in error

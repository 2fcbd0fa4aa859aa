"""The explorer's pages in headless Chromium against the real app: they render, their
links navigate, and what is made through the API shows up."""

from __future__ import annotations

import json
from collections.abc import Callable

from ledger_client import LedgerClient
from ledger_client.models import AccountFlags, LegCreate
from playwright.sync_api import Page, Route, expect

from tests.conftest import LiveServer


def open_pair(ledger: LedgerClient, unique: Callable[[str], str], label: str) -> tuple[str, str]:
    bank = ledger.open_account("USD", id=unique("bank"), labels={"team": label}).id
    wallet = ledger.open_account(
        "USD", id=unique("wallet"), flags=AccountFlags(debits_must_not_exceed_credits=True)
    ).id
    ledger.create_transfer(
        id=unique("fund"), debit_account_id=bank, credit_account_id=wallet, amount=1000
    )
    return bank, wallet


def test_search_by_label_links_to_the_account(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    team = unique("team")
    bank, _ = open_pair(ledger, unique, team)
    page.goto(f"{explorer_server.url}/explorer/")
    page.get_by_label("or label KEY=VALUE").fill(f"team={team}")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=bank).click()
    expect(page.get_by_role("heading", name=f"Account {bank}")).to_be_visible()
    expect(page.locator("dl.fields").first).to_contain_text("-1000")


def test_search_by_id_opens_the_account(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    _, wallet = open_pair(ledger, unique, unique("t"))
    page.goto(f"{explorer_server.url}/explorer/")
    page.get_by_label("Account id").fill(wallet)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=f"Account {wallet}")).to_be_visible()


def test_a_transfer_made_through_the_api_appears(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    bank, wallet = open_pair(ledger, unique, unique("t"))
    page.goto(f"{explorer_server.url}/explorer/#/account/{wallet}")
    history = page.locator("#history tbody tr")
    expect(history).to_have_count(1)
    paid = ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=250)
    page.reload()
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text(paid.id)
    expect(history.first).to_contain_text("-250")


def test_entry_links_to_its_transfer_and_on_to_the_other_account(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    bank, wallet = open_pair(ledger, unique, unique("t"))
    paid = ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=40)
    page.goto(f"{explorer_server.url}/explorer/#/account/{wallet}")
    page.get_by_role("link", name=paid.id).click()
    expect(page.get_by_role("heading", name=f"Transfer {paid.id}")).to_be_visible()
    page.locator("dl.fields").get_by_role("link", name=bank).click()
    expect(page.get_by_role("heading", name=f"Account {bank}")).to_be_visible()


def test_reversal_links_both_ways(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    bank, wallet = open_pair(ledger, unique, unique("t"))
    paid = ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=40)
    refund = ledger.reverse_transfer(paid.id, amount=15)
    page.goto(f"{explorer_server.url}/explorer/#/transfer/{paid.id}")
    page.locator("#reversed-by").get_by_role("link", name=refund.id).click()
    expect(page.get_by_role("heading", name=f"Transfer {refund.id}")).to_be_visible()
    page.locator("dl.fields").get_by_role("link", name=paid.id).click()
    expect(page.get_by_role("heading", name=f"Transfer {paid.id}")).to_be_visible()


def test_transaction_lists_its_legs(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    bank, wallet = open_pair(ledger, unique, unique("t"))
    tx = ledger.create_transaction(
        [LegCreate(debit_account_id=wallet, credit_account_id=bank, amount=n) for n in (3, 4)]
    )
    page.goto(f"{explorer_server.url}/explorer/#/transaction/{tx.id}")
    expect(page.locator("#legs tbody tr")).to_have_count(2)
    page.get_by_role("link", name=f"{tx.id}~1").click()
    expect(page.locator("dl.fields")).to_contain_text(tx.id)


def test_balance_as_of_and_statement(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    bank, wallet = open_pair(ledger, unique, unique("t"))
    funded_at = ledger.get_account(wallet).updated_at.isoformat()
    ledger.create_transfer(debit_account_id=wallet, credit_account_id=bank, amount=100)
    page.goto(f"{explorer_server.url}/explorer/#/account/{wallet}")
    page.get_by_label("Balance as of (RFC 3339)").fill(funded_at)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#as-of dl")).to_contain_text("1000")
    page.get_by_label("From (RFC 3339)").fill("2000-01-01T00:00:00Z")
    page.get_by_role("button", name="Statement").click()
    expect(page.locator("#statement dl")).to_contain_text("900")


def test_events_feed_polls_with_the_cursor(page: Page, explorer_server: LiveServer) -> None:
    # GET /v1/events lands with the event relay: until then the browser's request for
    # it (only it) is answered here, in the contract's shape.
    cursors: list[str | None] = []

    def feed(route: Route) -> None:
        after = route.request.url.partition("after=")[2].partition("&")[0] or None
        cursors.append(after)
        items = [] if after else [{
            "id": "evt_1", "type": "transfer.created", "occurred_at": "2026-12-01T00:00:01Z",
            "account_ids": ["alice", "bank"], "data": {"id": "t-1"},
        }]  # fmt: skip
        body = {"items": items, "next_cursor": "c1", "complete_until": "2026-12-01T00:00:02Z"}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/v1/events*", feed)
    with page.expect_request(lambda request: "after=c1" in request.url):
        page.goto(f"{explorer_server.url}/explorer/#/events")
    expect(page.locator("tr[data-event-id=evt_1]")).to_contain_text("transfer.created")
    assert cursors[:2] == [None, "c1"]
    page.get_by_role("link", name="t-1").click()
    expect(page.get_by_role("heading", name="Transfer t-1")).to_be_visible()


def test_usable_on_a_phone(
    page: Page, explorer_server: LiveServer, ledger: LedgerClient, unique: Callable[[str], str]
) -> None:
    _, wallet = open_pair(ledger, unique, unique("t"))
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{explorer_server.url}/explorer/#/account/{wallet}")
    expect(page.locator("#history tbody tr")).to_have_count(1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_an_api_error_is_shown(page: Page, explorer_server: LiveServer) -> None:
    page.goto(f"{explorer_server.url}/explorer/#/account/no-such-account")
    expect(page.get_by_role("alert")).to_contain_text("account_not_found")

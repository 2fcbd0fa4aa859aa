"""The explorer in a real headless Chromium (Debian's ``chromium``, driven by
Playwright's Python API; Playwright's own browsers are never downloaded), against the
real app served over real HTTP with the explorer on.

No Chromium is a failure, not a skip: ``make test`` installs it first (devtools/testdeps.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from ledger_client import LedgerClient, RetryPolicy
from playwright.sync_api import Browser, Page, sync_playwright

from devtools.emulator import Emulator
from devtools.testdeps import chromium_path
from tests.conftest import LiveServer
from tests.support import make_settings


@pytest.fixture(scope="module")
def explorer_server(
    emulator: Emulator, ledger_database_factory: Callable[[], str]
) -> Iterator[LiveServer]:
    settings = make_settings(emulator.address, ledger_database_factory(), explorer_enabled=True)
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.fail("chromium is not on PATH: `make test` installs it (devtools/testdeps.py)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def ledger(explorer_server: LiveServer) -> Iterator[LedgerClient]:
    with LedgerClient(explorer_server.url, retry=RetryPolicy(max_attempts=1)) as client:
        yield client

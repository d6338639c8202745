"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Playwright's own browser download cannot work here, so the tests always launch /usr/bin/chromium.
Without it they are skipped, except on CI (CI=true), where a missing browser is an error.
"""

import os
from pathlib import Path

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

from attt.core.testing import PASSWORD


class OneRequestAtATime(WSGIServer):
    """The live server without a thread per request. Its threads all share the test database's one SQLite
    connection, and a page that sends requests as one types (the incidents form's system picker) hung a run for
    good, one request waiting inside SQLite for ever. Served one at a time, each answer closes its connection
    (Django does so for a server without threads), so the browser never waits on a kept-alive one."""

    def __init__(self, *args, connections_override=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # the server's own thread already uses the shared connections


LiveServerThread.server_class = OneRequestAtATime

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # This hook sees every collected item of the session: mark only the ones in this folder.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run on CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module.

    While Playwright's sync API is running it keeps an asyncio loop marked as running in the test thread,
    and Django then refuses ORM calls from that thread (fixtures creating data, assertions reading it)
    unless DJANGO_ALLOW_ASYNC_UNSAFE is set. Both are therefore limited to the browser modules: a
    session-wide browser would break ORM calls of the other tests run later by the same worker, and a
    session-wide variable leaks into subprocesses (`attt check --deploy` then reports it, async.E001).
    """
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed")

    from django.db import connections

    test_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            # With an event loop running, Django's thread-critical connection storage turns into a
            # context-variable one and would hand the test thread brand-new connection objects, not the
            # ones the live server shares and without the state the test database setup left on them
            # (the serialized contents serialized_rollback restores). Keep using the originals.
            for alias, connection in test_connections.items():
                connections[alias] = connection
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """Opens a fresh page in its own context (no cookies shared), with the context's options changed as asked
    (`java_script_enabled=False`, a phone's `viewport`); each is closed when the test ends."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(**{"viewport": VIEWPORT, "base_url": live_server.url, **options})
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(open_page):
    """A fresh page in its own context (no cookies shared between tests)."""
    return open_page()


def login(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Fill in and submit the log-in form; the page then shows wherever the server sent it."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        # The top bar holds the language form's button too: take the one of the log-in form.
        page.locator("main form button[type=submit]").click()


@pytest.fixture(name="login")
def login_fixture():
    """The `login` helper, as a fixture so test modules need not import this conftest."""
    return login

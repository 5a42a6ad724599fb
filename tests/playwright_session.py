"""Debian's Chromium through Playwright for the browser tests, with the Django connections the
test made while it ran closed on exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """A launched headless Chromium; on exit the browser and the Django connections made
    inside the block are closed.

    Under Playwright's sync API the test's own ORM calls run in a context of their own, and
    Django keeps its connections per context: the test's connection is not the one Django
    closes at teardown. Left open, it keeps PostgreSQL from dropping the test database at
    the end of the run ("is being accessed by other users").
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()

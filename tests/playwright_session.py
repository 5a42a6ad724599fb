"""Playwright for the browser tests, with the Django connections it opened closed on exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections


@contextmanager
def django_playwright() -> Iterator[Any]:
    """`sync_playwright()` that closes the Django connections made inside it before it exits.

    Under Playwright's sync API the test's own ORM calls run in a context of their own, and
    Django keeps its connections per context: the test's connection is not the one Django
    closes at teardown. Left open, it keeps PostgreSQL from dropping the test database at
    the end of the run ("is being accessed by other users").
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            yield playwright
        finally:
            connections.close_all()

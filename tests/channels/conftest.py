"""Helpers for the email tests: the fixture corpus and importing from it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from calmdesk.accounts.models import Organisation
from calmdesk.channels.services import ImportResult, email_import

FIXTURES = Path(__file__).parent / "fixtures" / "eml"


def fixture_bytes(name: str, **placeholders: object) -> bytes:
    """A corpus email; UPPER_CASE placeholders are replaced by ids known only at test time."""
    raw = (FIXTURES / name).read_bytes()
    for key, value in placeholders.items():
        raw = raw.replace(key.encode("ascii"), str(value).encode("ascii"))
    return raw


@pytest.fixture
def import_fixture(org: Organisation) -> Callable[..., ImportResult]:
    def run(name: str, **placeholders: object) -> ImportResult:
        return email_import(organisation=org, raw=fixture_bytes(name, **placeholders), source=name)

    return run

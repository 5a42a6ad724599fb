"""Shared fixtures. Data is made through the services, as production makes it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from calmdesk.accounts.models import Organisation, Role, Team, User


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_browser = pytest.mark.skip(reason="needs Chromium at /usr/bin/chromium")
    skip_pg = pytest.mark.skip(reason="needs CALMDESK_DATABASE_URL pointing at PostgreSQL")
    have_chromium = shutil.which("chromium") is not None or os.path.exists("/usr/bin/chromium")
    on_postgres = os.environ.get("CALMDESK_DATABASE_URL", "").startswith("postgres")
    for item in items:
        if "browser" in item.keywords and not have_chromium:
            item.add_marker(skip_browser)
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)


@pytest.fixture
def org(db: Any) -> Organisation:
    return Organisation.objects.create(name="Acme Supplies", slug="acme", time_zone="Europe/London")


@pytest.fixture
def other_org(db: Any) -> Organisation:
    return Organisation.objects.create(name="Other Corp", slug="other")


@pytest.fixture
def team_a(org: Organisation) -> Team:
    return Team.objects.create(organisation=org, name="Billing")


@pytest.fixture
def team_b(org: Organisation) -> Team:
    return Team.objects.create(organisation=org, name="Deliveries")


@pytest.fixture
def make_user(org: Organisation) -> Callable[..., User]:
    def make(
        username: str,
        *,
        role: str = Role.AGENT,
        teams: tuple[Team, ...] = (),
        organisation: Organisation | None = None,
        password: str = "a-long-test-password",
    ) -> User:
        user = User.objects.create_user(
            username=username,
            password=password,
            organisation=organisation or org,
            role=role,
            first_name=username.title(),
        )
        if teams:
            user.teams.set(teams)
        return user

    return make


@pytest.fixture
def agent_a(make_user: Callable[..., User], team_a: Team) -> User:
    return make_user("alice", teams=(team_a,))


@pytest.fixture
def agent_b(make_user: Callable[..., User], team_b: Team) -> User:
    return make_user("bob", teams=(team_b,))


@pytest.fixture
def supervisor_a(make_user: Callable[..., User], team_a: Team) -> User:
    return make_user("sam", role=Role.SUPERVISOR, teams=(team_a,))


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user("ada", role=Role.ADMIN)

"""A short practice session in Debian's Chromium (Playwright) against live_server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calmdesk.accounts.models import User
from calmdesk.training_web.models import PracticeRun
from tests.workspace.test_browser import browser_page, log_in, screenshot  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPTS = Path(__file__).parents[1] / "training" / "scripts"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_trainee_practises_with_the_live_coach_and_gets_the_report(
    browser_page: Any,  # noqa: F811
    live_server: Any,
    agent_a: User,
) -> None:
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, agent_a)

    page.goto(f"{live_server.url}/practice/")
    assert page.locator("li.scenario").count() >= 12
    screenshot(page, "practice-home.png")
    page.locator("li.scenario[data-scenario='refund-kettle'] button[type=submit]").click()
    page.wait_for_url("**/practice/runs/*/")
    assert page.get_by_text("I was told NO refund on my kettle").is_visible()

    # The live coach marks a bad draft as it is typed.
    page.fill("#practice-reply", "Calm down, it's our policy.")
    page.locator("#practice-reply").dispatch_event("input")
    page.wait_for_selector("#live-coach .finding")
    assert "dismissing_emotion" in page.inner_text("#live-coach")

    # Hostile markup typed by the trainee is shown as text and never runs.
    page.fill("#practice-reply", HOSTILE)
    page.click("#reply-box button[type=submit]")
    page.wait_for_selector("li[data-role=trainee]")
    assert page.locator("li[data-role=trainee] .message-body").first.inner_text() == HOSTILE

    for line in (SCRIPTS / "refund-kettle.good.txt").read_text().splitlines():
        if not line.strip():
            continue
        before = page.locator("li[data-role=trainee]").count()
        page.fill("#practice-reply", line)
        page.click("#reply-box button[type=submit]")
        page.wait_for_function(
            f"document.querySelectorAll('li[data-role=trainee]').length > {before}"
        )
        if page.locator("#report").count():
            break

    page.wait_for_selector("#report")
    report = page.inner_text("#report")
    assert "Overall" in report and "composure" in report
    run = PracticeRun.objects.get(trainee=agent_a)
    assert run.finished and run.overall is not None
    assert page.locator(".meter-anger").count() == 1
    screenshot(page, "practice-run.png")
    assert dialogs == []
    assert errors == []

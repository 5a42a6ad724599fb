"""The workspace in a real browser: Debian's Chromium driven by Playwright against live_server.

Hostile customer text must show up literally and never run; the HTMX parts must
work end to end. Screenshots go to /work/screens/ (or $CALMDESK_SCREENSHOT_DIR)
for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from calmdesk.accounts.models import Team, User
from calmdesk.conversations.models import Conversation, Direction
from calmdesk.conversations.services import note_add, reply_send
from tests.playwright_session import chromium_browser
from tests.workspace.conftest import HOSTILE, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(os.environ.get("CALMDESK_SCREENSHOT_DIR", "/work/screens"))


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls
    # made by the test itself would otherwise be refused as "async unsafe".
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_browser() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()


def screenshot(page: Any, name: str) -> None:
    try:
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky bar would be painted mid-page
        page.screenshot(path=str(SCREENS / name), full_page=True)
    except OSError:
        pass  # a read-only CI checkout still runs the assertions


def log_in(page: Any, base_url: str, user: User) -> None:
    page.goto(f"{base_url}/")
    assert "/login/" in page.url
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def seed(receive: Callable[..., Conversation], team: Team, agent: User) -> Conversation:
    """A small, realistic queue; the returned conversation carries the hostile text."""
    receive(
        "Hi, could you tell me when my order will ship? Thanks a lot.",
        team=team,
        email="grace@example.com",
        name="Grace Hopper",
        subject="When will my order ship?",
    )
    legal = receive(
        "This is the THIRD time I write about the double charge. If it is not refunded "
        "by Friday my lawyer will take this further and I will post about it everywhere!!",
        team=team,
        email="devon@example.com",
        name="Devon Price",
        subject="Charged twice for one order",
    )
    reply_send(
        conversation=legal,
        author=agent,
        body_text="I am sorry you were charged twice. I have asked billing to refund it today.",
    )
    receive(
        "Still nothing. You people are useless and I am cancelling my account.",
        team=team,
        email="devon@example.com",
        conversation=legal,
    )
    hostile = receive(
        f"You idiots broke my laptop. {HOSTILE}\nFix it or I will find you.",
        team=team,
        email="mallory@example.com",
        name="Mallory",
        subject=f"Broken laptop {HOSTILE}",
        body_html=f"<p>You idiots broke my laptop.</p>{HOSTILE}",
    )
    note_add(
        conversation=hostile, author=agent, body_text="Threat in the message: told the supervisor."
    )
    return hostile


def test_agent_works_a_hostile_conversation_in_the_browser(
    browser_page: Any,
    live_server: Any,
    receive: Callable[..., Conversation],
    team_a: Team,
    agent_a: User,
) -> None:
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    hostile = seed(receive, team_a, agent_a)

    log_in(page, live_server.url, agent_a)
    assert page.locator("tr.inbox-row").count() == 3
    assert page.get_by_text(f"Broken laptop {HOSTILE}").is_visible()
    screenshot(page, "inbox.png")

    # Filtering swaps the list through HTMX and pushes the URL.
    page.select_option("select[name=status]", "all")
    page.wait_for_url("**/?*status=all*")
    assert page.locator("tr.inbox-row").count() == 3

    page.click(f"a[href='/conversations/{hostile.pk}/']")
    page.wait_for_url(f"**/conversations/{hostile.pk}/")
    body = page.locator(
        f"#message-{hostile.messages.filter(direction=Direction.INBOUND).get().pk} .message-body"
    )
    assert HOSTILE in body.inner_text()
    assert page.locator("mark.flag").count() >= 1
    assert page.locator("svg.timeline circle.dot-anger").count() == 1
    page.click("details.email-original summary")
    # Sanitised when stored: no script element, no event handler attribute survives.
    assert page.locator(".email-html script").count() == 0
    assert page.locator(".email-html [onerror]").count() == 0
    screenshot(page, "conversation.png")

    page.fill(
        "#reply-body", "I am sorry the laptop arrived broken. I will arrange a replacement today."
    )
    page.click("#reply-box button[type=submit]")
    page.wait_for_selector("#reply-box .notice")
    assert page.locator(".message-outbound").count() == 1
    assert page.locator("#status-select").input_value() == "pending_customer"
    hostile.refresh_from_db()
    assert hostile.messages.filter(direction=Direction.OUTBOUND).count() == 1
    screenshot(page, "conversation-after-reply.png")

    # The customer page also shows the text literally.
    page.goto(f"{live_server.url}/customers/{hostile.customer_id}/")
    assert page.get_by_text(f"Broken laptop {HOSTILE}").is_visible()

    assert dialogs == []
    assert errors == []


def test_live_coach_rewrites_and_guards_a_blocking_send(
    browser_page: Any,
    live_server: Any,
    receive: Callable[..., Conversation],
    team_a: Team,
    agent_a: User,
) -> None:
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # htmx reports a misconfigured request (such as a selector that finds nothing) only on
    # the console, so the live coach's requests are checked there.
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    conversation = receive(
        "This is the third time I write!! My parcel is two weeks late and nobody answers.",
        team=team_a,
        email="devon@example.com",
        name="Devon Price",
        subject="Parcel two weeks late",
    )
    log_in(page, live_server.url, agent_a)
    page.goto(f"{live_server.url}/conversations/{conversation.pk}/")
    assert page.locator("#playbook-panel .stage").count() == 7

    # Typing is coached after a pause, without sending anything.
    page.locator("#reply-body").press_sequentially("Calm down, we are looking at it.", delay=5)
    page.wait_for_selector("#coach-panel .finding")
    assert page.locator("#coach-panel mark.finding-avoid").count() >= 1
    screenshot(page, "conversation-coach.png")

    # One click applies a rewrite in the reply box, and the coach looks again.
    button = page.locator("#coach-panel button[data-rewrite]").first
    replacement = button.get_attribute("data-replacement")
    button.click()
    assert replacement and replacement in page.locator("#reply-body").input_value()
    assert "Calm down" not in page.locator("#reply-body").input_value()

    # A reply with an insult is held back until the agent confirms.
    page.fill("#reply-body", "")
    page.locator("#reply-body").press_sequentially("You idiot, read the tracking page.", delay=5)
    page.wait_for_selector("#coach-panel input[name=confirm_blocking]")
    page.click("#reply-box button[type=submit]")
    page.wait_for_selector("#reply-box .form-errors")
    assert conversation.messages.filter(direction=Direction.OUTBOUND).count() == 0
    page.check("#coach-panel input[name=confirm_blocking]")
    page.click("#reply-box button[type=submit]")
    page.wait_for_selector("#reply-box .notice")
    sent = conversation.messages.get(direction=Direction.OUTBOUND)
    assert sent.coaching and sent.coaching["blocking"]
    assert dialogs == []
    assert console_errors == []


def test_the_policy_suggested_boundary_reply_goes_into_the_reply_box(
    browser_page: Any,
    live_server: Any,
    receive: Callable[..., Conversation],
    team_a: Team,
    agent_a: User,
) -> None:
    page = browser_page
    conversation = receive(
        "You are a useless idiot and my bill is wrong again.",
        team=team_a,
        email="kit@example.com",
        name="Kit Moss",
        subject="Bill wrong again",
    )
    log_in(page, live_server.url, agent_a)
    page.goto(f"{live_server.url}/conversations/{conversation.pk}/")
    suggestion = page.locator("#policy-suggestion").inner_text().strip()
    assert suggestion and page.locator(".policy-step").inner_text().startswith("Boundary")
    page.click("button[data-suggestion]")
    assert page.locator("#reply-body").input_value() == suggestion
    # The coach reads the suggestion like any draft, and nothing is sent by the click.
    page.wait_for_selector("#coach-panel .coach")
    assert conversation.messages.filter(direction=Direction.OUTBOUND).count() == 0
    screenshot(page, "conversation-policy-suggestion.png")
    page.click("#reply-box button[type=submit]")
    page.wait_for_selector("#reply-box .notice")
    assert conversation.messages.get(direction=Direction.OUTBOUND).body_text == suggestion
    assert page.locator("#policy-suggestion").count() == 0

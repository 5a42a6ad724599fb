"""Auto-replies and bounces in the thread, in Chromium: muted system entries, not messages.

In its own file so it does not collide with tests added to the other browser tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from calmdesk.accounts.models import User
from calmdesk.channels.services import email_import
from calmdesk.conversations.models import Conversation
from tests.workspace.test_browser import browser_page, log_in, screenshot
from tests.workspace.test_views import bounce, out_of_office

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["browser_page"]  # the fixture, shared with test_browser.py


def test_machine_mail_reads_as_system_entries(
    browser_page: Any, live_server: Any, agent_a: User
) -> None:
    organisation = agent_a.organisation
    assert organisation is not None
    first = email_import(
        organisation=organisation,
        raw=(
            b"From: Casey Customer <casey@example.com>\r\nTo: support@calmdesk.localhost\r\n"
            b"Subject: Parcel never came\r\nMessage-ID: <parcel-browser@mail.example.com>\r\n\r\n"
            b"Where is my parcel? It has been two weeks.\r\n"
        ),
        source="browser test",
    )
    conversation = Conversation.objects.get(pk=first.conversation_id)
    conversation.assignee = agent_a
    conversation.save()
    out_of_office(conversation, agent_a, 1, text="I am away until <b>Monday</b>.")
    bounce(conversation, agent_a)

    page = browser_page
    log_in(page, live_server.url, agent_a)
    page.goto(f"{live_server.url}/conversations/{conversation.pk}/")
    entries = page.locator(".system-entry")
    assert entries.count() == 2
    assert "automatic reply received" in entries.nth(0).inner_text().lower()
    assert "I am away until <b>Monday</b>." in entries.nth(0).inner_text()
    assert "552 5.2.2 Mailbox full" in entries.nth(1).inner_text()
    # Small and muted beside a message: the font is smaller than a message body's.
    sizes = page.evaluate(
        "[getComputedStyle(document.querySelector('.system-entry')).fontSize,"
        " getComputedStyle(document.querySelector('.message-body')).fontSize]"
    )
    assert float(sizes[0].rstrip("px")) < float(sizes[1].rstrip("px"))
    page.locator(".system-entry-bounce").scroll_into_view_if_needed()
    screenshot(page, "conversation-machine-mail.png")

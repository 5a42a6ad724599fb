"""Email in the workspace, in Chromium: attachments download (never open) and deliveries show.

Kept apart from test_browser.py so the two grow without stepping on each other.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from calmdesk.accounts.models import User
from calmdesk.channels.models import EmailAttachment, EmailDelivery
from calmdesk.channels.services import email_delivery_attempt, email_import
from calmdesk.conversations.models import Conversation
from calmdesk.conversations.services import reply_send
from tests.workspace.test_browser import browser_page, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["browser_page"]  # the fixture, shared with test_browser.py


def test_email_attachments_and_delivery_status_in_the_browser(
    browser_page: Any, live_server: Any, agent_a: User, settings: Any
) -> None:
    raw = (
        b"From: Casey Customer <casey@example.com>\r\nTo: support@calmdesk.localhost\r\n"
        b"Subject: Damaged lamp\r\nMessage-ID: <browser-attach@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nThe lamp arrived broken, photos attached.\r\n--b\r\n"
        b'Content-Type: text/html; name="x.html"\r\n'
        b'Content-Disposition: attachment; filename="<b onmouseover=alert(1)>notes.html"\r\n\r\n'
        b"<script>document.title='pwned'</script>\r\n--b--\r\n"
    )
    organisation = agent_a.organisation
    assert organisation is not None
    imported = email_import(organisation=organisation, raw=raw, source="browser test")
    conversation = Conversation.objects.get(pk=imported.conversation_id)
    reply = reply_send(
        conversation=conversation, author=agent_a, body_text="I am sorry, a new lamp is on its way."
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    email_delivery_attempt(delivery_id=EmailDelivery.objects.get(message=reply).pk)

    page = browser_page
    log_in(page, live_server.url, agent_a)
    page.goto(f"{live_server.url}/conversations/{conversation.pk}/")
    link = page.locator(".attachment a")
    assert link.inner_text() == "<b onmouseover=alert(1)>notes.html"
    assert page.locator(".attachments b").count() == 0
    retrying = page.locator(".delivery-retrying").inner_text()
    assert "Retrying" in retrying and "attempt 1 failed" in retrying
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    attachment = EmailAttachment.objects.get(message=conversation.messages.first())
    assert Path(download.path()).read_bytes() == bytes(attachment.content)
    assert page.title() != "pwned"
    screenshot(page, "conversation-email-delivery.png")

"""The channels admin page in a real browser (Debian's Chromium through Playwright).

In its own file so it does not collide with tests added to test_browser.py.
Screenshots go to /work/screens/ (or $CALMDESK_SCREENSHOT_DIR).
"""

from __future__ import annotations

from typing import Any

import pytest

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels.models import ChatSettings, WebhookSubscription
from tests.supervision.test_browser import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_adds_an_origin_and_a_webhook_and_sees_the_secret_once(
    page: Any, live_server: Any, org: Organisation, admin_user: User
) -> None:
    base = live_server.url
    log_in(page, base, admin_user)
    page.goto(f"{base}/supervision/")
    page.get_by_role("link", name="Channels").click()
    page.wait_for_url(f"{base}/supervision/channels/")

    # A page-level rule is refused with the line it is on; the text stays to correct.
    page.fill("#chat-title-input", "Talk to <b>Acme</b>")
    page.fill("#chat-origins", "https://shop.example.com\nhttps://shop.example.com/help")
    page.click("#save-chat")
    page.wait_for_selector("#chat-origin-errors")
    errors = page.inner_text("#chat-origin-errors")
    assert "Line 2:" in errors and "an origin has no path" in errors and "Line 1" not in errors
    assert page.input_value("#chat-origins").endswith("https://shop.example.com/help")
    assert not ChatSettings.objects.filter(organisation=org).exists()
    screenshot(page, "channels-origin-error.png")

    page.fill("#chat-origins", "https://shop.example.com\nhttps://Help.Example.com:443")
    page.click("#save-chat")
    page.wait_for_selector("text=Web chat settings saved.")
    assert page.input_value("#chat-origins") == "https://help.example.com\nhttps://shop.example.com"
    chat = ChatSettings.objects.get(organisation=org)
    assert chat.allowed_origins == ["https://help.example.com", "https://shop.example.com"]
    assert chat.title == "Talk to <b>Acme</b>"
    embed = page.inner_text("#embed-code")
    assert embed == f'<script src="{base}/chat/widget.js" data-calmdesk-org="acme" async></script>'
    screenshot(page, "channels-admin.png")

    # A webhook: URL and events; the secret is on the next page, once.
    page.fill("#webhook-form input[name=url]", "https://hooks.acme.example/calmdesk")
    page.check("#webhook-form input[value='incident.opened']")
    page.check("#webhook-form input[value='conversation.escalated']")
    page.fill("#webhook-form input[name=description]", "Pager <i>duty</i>")
    page.click("#add-webhook")
    page.wait_for_selector("#new-secret-card")
    subscription = WebhookSubscription.objects.get(organisation=org)
    assert subscription.events == ["conversation.escalated", "incident.opened"]
    assert page.input_value("#new-secret") == subscription.secret
    assert "only time calmdesk shows it" in page.inner_text("#new-secret-card")
    page.click("#new-secret-card button[data-copy]")
    page.wait_for_function(
        "['Copied', 'Press Ctrl+C'].includes("
        "document.querySelector('#new-secret-card button[data-copy]').textContent)"
    )
    screenshot(page, "channels-webhook-secret.png")

    page.reload()
    page.wait_for_selector("#deliveries")
    assert page.locator("#new-secret-card").count() == 0
    assert subscription.secret not in page.content()
    page.get_by_role("link", name="← Channels").click()
    page.wait_for_selector("#webhook-list")
    row = page.inner_text("#webhook-list")
    assert "https://hooks.acme.example/calmdesk" in row and "Pager <i>duty</i>" in row
    assert "none yet" in row
    assert subscription.secret not in page.content()
    screenshot(page, "channels-admin-with-webhook.png")


def test_admin_reads_delivery_history_and_email_settings(
    page: Any,
    live_server: Any,
    org: Organisation,
    admin_user: User,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from calmdesk.channels.models import ImapMailboxState, WebhookDelivery
    from calmdesk.channels.webhooks import webhook_subscription_create

    monkeypatch.setenv("ACME_IMAP_PASSWORD", "imap-browser-secret")
    settings.CALMDESK_IMAP_MAILBOXES = [
        {
            "name": "support",
            "host": "imap.acme.example",
            "username": "support@acme.example",
            "password_env": "ACME_IMAP_PASSWORD",
            "folder": "INBOX",
            "organisation": "acme",
            "address": "help@acme.example",
        }
    ]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "smtp.acme.example", 587
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "mailer", "smtp-browser-secret"
    ImapMailboxState.objects.create(name="support", last_polled_at=timezone.now())
    subscription = webhook_subscription_create(
        organisation=org,
        url="https://hooks.acme.example/calmdesk",
        events=["message.received", "incident.opened"],
        actor=admin_user,
    )
    outcomes = [
        {"status": "delivered", "attempts": 1, "last_status_code": 200},
        {"status": "retrying", "attempts": 2, "last_status_code": 503, "last_error": "HTTP 503"},
        {"status": "failed", "attempts": 6, "last_error": "URLError: <urlopen error timed out>"},
    ]
    for number in range(23):
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event="message.received" if number % 2 else "incident.opened",
            event_id=uuid.uuid4(),
            payload={"n": number},
            next_attempt_at=timezone.now() + timedelta(minutes=2) if number % 3 == 1 else None,
            **outcomes[number % 3],
        )
    newest = delivery

    base = live_server.url
    log_in(page, base, admin_user)
    page.goto(f"{base}/supervision/channels/")
    email = page.inner_text("#email-settings")
    assert "imap.acme.example:993" in email and "support@acme.example" in email
    assert "Last polled" in email and "OK" in email and "smtp.acme.example:587" in email
    assert "imap-browser-secret" not in page.content()
    assert "smtp-browser-secret" not in page.content()
    # The newest delivery's outcome.
    assert "Failed, will retry HTTP 503" in page.inner_text("#webhook-list")
    screenshot(page, "channels-email-settings.png")
    page.click("#webhook-list a:text('Deliveries')")
    page.wait_for_selector("#delivery-table")
    assert page.locator("#delivery-table tbody tr").first.get_attribute("id") == (
        f"delivery-{newest.pk}"
    )
    assert "Page 1 of 2" in page.inner_text("#deliveries")
    screenshot(page, "channels-webhook-deliveries.png")
    page.click("#deliveries a[rel=next]")
    page.wait_for_selector("text=Page 2 of 2")
    assert page.locator("#delivery-table tbody tr").count() == 3
    assert page.url.endswith(f"/channels/webhooks/{subscription.pk}/")  # swapped in place

"""The channels admin page in a real browser (Debian's Chromium through Playwright).

In its own file so it does not collide with tests added to test_browser.py.
Screenshots go to /work/screens/ (or $CALMDESK_SCREENSHOT_DIR).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels.models import ChatSettings, WebhookSubscription
from tests.supervision.test_browser import CHROMIUM, CHROMIUM_ARGS, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        tab = context.new_page()
        dialogs: list[str] = []
        tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            yield tab
        finally:
            assert dialogs == [], f"entered text ran as script: {dialogs}"
            context.close()
            browser.close()


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

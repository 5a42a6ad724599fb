"""The admin's channel pages: who may change what, validation kept in the forms, the
webhook secret shown once, delivery history, and the email settings without secrets."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from calmdesk.accounts.models import Organisation, Role, User
from calmdesk.audit.models import AuditEvent
from calmdesk.channels.chat import chat_settings_update
from calmdesk.channels.models import (
    ChatSettings,
    ImapMailboxState,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from calmdesk.channels.webhooks import webhook_event_emit, webhook_subscription_create

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
HOSTILE = "<script>alert(1)</script>"
CHANNELS = reverse("supervision:channels")
CHAT = reverse("supervision:channels-chat")
CREATE = reverse("supervision:webhook-create")
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def login() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return make


@pytest.fixture
def subscription(org: Organisation, admin_user: User) -> WebhookSubscription:
    return webhook_subscription_create(
        organisation=org,
        url="https://hooks.acme.example/calmdesk",
        events=["message.received"],
        actor=admin_user,
        description=f"Ops {HOSTILE}",
    )


def detail_url(subscription: WebhookSubscription) -> str:
    return reverse("supervision:webhook", args=[subscription.pk])


def delete_url(subscription: WebhookSubscription) -> str:
    return reverse("supervision:webhook-delete", args=[subscription.pk])


# -- permissions -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_only_admins_change_anything(
    role: str,
    make_user: Callable[..., User],
    login: Callable[[User], Client],
    subscription: WebhookSubscription,
) -> None:
    client = login(make_user("lee", role=role))
    posts = {
        CHAT: {"enabled": "on", "title": "Hi", "allowed_origins": "https://shop.example.com"},
        CREATE: {"url": "https://evil.example/hook", "events": ["message.received"]},
        detail_url(subscription): {"url": subscription.url, "events": ["incident.opened"]},
        delete_url(subscription): {},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    # Webhook pages are admin data (a URL can carry the receiver's own token).
    assert client.get(detail_url(subscription)).status_code == 403
    assert client.get(delete_url(subscription)).status_code == 403
    assert not ChatSettings.objects.exists()
    assert list(WebhookSubscription.objects.values_list("url", "events")) == [
        ("https://hooks.acme.example/calmdesk", ["message.received"])
    ]
    # The overview is read-only for them: no form, no webhook, no email settings.
    page = client.get(CHANNELS).content.decode()
    assert "Only admins can change the web chat." in page
    assert "Only admins see and manage webhooks" in page
    assert 'name="allowed_origins"' not in page
    assert "hooks.acme.example" not in page
    assert ">Channels</a>" not in page  # not in their navigation either


def test_admin_sees_the_channels_page_in_the_nav(
    admin_user: User, login: Callable[[User], Client], subscription: WebhookSubscription
) -> None:
    page = login(admin_user).get(CHANNELS).content.decode()
    assert ">Channels</a>" in page and 'aria-current="page">Channels' in page
    assert 'name="allowed_origins"' in page and 'id="webhook-form"' in page
    assert "https://hooks.acme.example/calmdesk" in page
    # Admin-entered text is escaped; the secret is never on the list.
    assert HOSTILE not in page and "Ops &lt;script&gt;" in page
    assert subscription.secret not in page


def test_another_organisations_subscription_is_a_404(
    admin_user: User,
    other_org: Organisation,
    make_user: Callable[..., User],
    login: Callable[[User], Client],
) -> None:
    theirs = webhook_subscription_create(
        organisation=other_org,
        url="https://hooks.other.example/in",
        events=["incident.opened"],
        actor=make_user("otto", role=Role.ADMIN, organisation=other_org),
    )
    client = login(admin_user)
    assert client.get(detail_url(theirs)).status_code == 404
    assert (
        client.post(
            detail_url(theirs), {"url": "https://x.example", "events": ["incident.opened"]}
        ).status_code
        == 404
    )
    assert client.get(delete_url(theirs)).status_code == 404
    assert client.post(delete_url(theirs)).status_code == 404
    assert WebhookSubscription.objects.filter(
        pk=theirs.pk, url="https://hooks.other.example/in"
    ).exists()
    assert "hooks.other.example" not in client.get(CHANNELS).content.decode()


def test_every_post_needs_the_csrf_token(
    admin_user: User, subscription: WebhookSubscription
) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=admin_user.username, password=PASSWORD)
    for url, data in {
        CHAT: {"title": "Hi", "allowed_origins": ""},
        CREATE: {"url": "https://a.example/h", "events": ["incident.opened"]},
        detail_url(subscription): {"url": subscription.url, "events": ["incident.opened"]},
        delete_url(subscription): {},
    }.items():
        assert client.post(url, data).status_code == 403, url
    assert WebhookSubscription.objects.count() == 1
    page = client.get(CHANNELS).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 3  # chat, add webhook, log out


# -- web chat --------------------------------------------------------------------------


def test_admin_saves_the_chat_settings_and_the_change_is_audited(
    org: Organisation, admin_user: User, login: Callable[[User], Client]
) -> None:
    client = login(admin_user)
    response = client.post(
        CHAT,
        {
            "enabled": "on",
            "title": "Talk to Acme",
            "greeting": "Hello! Ask us anything.",
            "allowed_origins": "https://shop.example.com\n\n  HTTPS://Help.Example.com:443/  \n",
        },
    )
    assert response.status_code == 302
    chat = ChatSettings.objects.get(organisation=org)
    assert chat.allowed_origins == ["https://help.example.com", "https://shop.example.com"]
    assert chat.enabled and chat.title == "Talk to Acme"
    assert chat.greeting == "Hello! Ask us anything."
    event = AuditEvent.objects.get(action="chat.settings_updated")
    assert event.actor == admin_user and event.data["after"]["origins"] == chat.allowed_origins
    page = client.get(CHANNELS).content.decode()
    assert "Web chat settings saved." in page
    # The normalised origins are what the form shows next time.
    assert "https://help.example.com\nhttps://shop.example.com</textarea>" in page


def test_bad_origins_are_refused_line_by_line_and_the_text_is_kept(
    org: Organisation, admin_user: User, login: Callable[[User], Client]
) -> None:
    chat_settings_update(organisation=org, allowed_origins=["https://old.example.com"])
    typed = "https://shop.example.com\nhttps://shop.example.com/checkout\n*.example.com\nnot a site"
    response = login(admin_user).post(
        CHAT, {"enabled": "on", "title": f"Chat {HOSTILE}", "allowed_origins": typed}
    )
    assert response.status_code == 400
    page = response.content.decode()
    errors = page[page.index('id="chat-origin-errors"') :]
    errors = errors[: errors.index("</div>")]
    assert "Line 1" not in errors
    assert "Line 2: &#x27;https://shop.example.com/checkout&#x27; is not an origin" in errors
    assert "an origin has no path" in errors
    assert "Line 3:" in errors and "wildcards" in errors
    assert "Line 4:" in errors
    # What the admin typed is still there to correct, escaped.
    assert "https://shop.example.com/checkout\n*.example.com\nnot a site</textarea>" in page
    assert 'value="Chat &lt;script&gt;' in page and HOSTILE not in page
    assert ChatSettings.objects.get(organisation=org).allowed_origins == ["https://old.example.com"]
    assert not AuditEvent.objects.filter(action="chat.settings_updated", actor=admin_user).exists()


def test_chat_form_by_htmx_answers_with_the_fragment(
    org: Organisation, admin_user: User, login: Callable[[User], Client]
) -> None:
    client = login(admin_user)
    bad = client.post(CHAT, {"title": "Hi", "allowed_origins": "ftp://files.example.com"}, **HX)
    # 200 so HTMX swaps it in; the errors are in the fragment.
    assert bad.status_code == 200
    fragment = bad.content.decode()
    assert fragment.lstrip().startswith('<section class="card stack-tight" id="chat-settings"')
    assert "Line 1:" in fragment and "<html" not in fragment
    good = client.post(CHAT, {"title": "Hi", "allowed_origins": "https://ok.example.com"}, **HX)
    assert "Web chat settings saved." in good.content.decode()
    chat = ChatSettings.objects.get(organisation=org)
    assert chat.allowed_origins == ["https://ok.example.com"] and not chat.enabled


def test_embed_tags_are_shown_to_copy(
    admin_user: User, login: Callable[[User], Client], settings: Any
) -> None:
    page = login(admin_user).get(CHANNELS).content.decode()
    tag = "&lt;script src=&quot;http://testserver/chat/widget.js&quot; data-calmdesk-org=&quot;acme&quot; async&gt;&lt;/script&gt;"
    assert tag in page
    assert "data-calmdesk-transport=&quot;sse&quot; async" in page
    assert "Streaming is turned off" not in page
    settings.CALMDESK_CHAT_STREAM_SECONDS = 0
    assert "Streaming is turned off" in login(admin_user).get(CHANNELS).content.decode()


# -- webhooks --------------------------------------------------------------------------


def test_the_secret_is_shown_once_right_after_creation(
    org: Organisation, admin_user: User, login: Callable[[User], Client]
) -> None:
    client = login(admin_user)
    response = client.post(
        CREATE,
        {
            "url": "https://hooks.acme.example/new",
            "events": ["incident.opened", "conversation.escalated"],
            "description": "Pager",
        },
    )
    created = WebhookSubscription.objects.get(url="https://hooks.acme.example/new")
    assert response.status_code == 302 and response["Location"] == detail_url(created)
    assert created.events == ["conversation.escalated", "incident.opened"]
    assert created.secret.startswith("whsec_")
    assert AuditEvent.objects.filter(action="webhook.subscribed", target_id=created.pk).exists()

    first = client.get(detail_url(created))
    assert created.secret in first.content.decode()
    assert "no-store" in first["Cache-Control"]
    assert "This is the only time calmdesk shows it." in first.content.decode()
    again = client.get(detail_url(created)).content.decode()
    assert created.secret not in again and "only time" not in again
    assert created.secret not in client.get(CHANNELS).content.decode()


def test_webhook_form_errors_are_kept_in_the_form(
    admin_user: User, login: Callable[[User], Client]
) -> None:
    client = login(admin_user)
    response = client.post(
        CREATE, {"url": "https://user:pw@hooks.example/x", "description": f"d {HOSTILE}"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "must not contain a user name or password" in page
    assert "Choose at least one event." in page
    assert 'value="https://user:pw@hooks.example/x"' in page
    assert "d &lt;script&gt;" in page and HOSTILE not in page
    bad_scheme = client.post(CREATE, {"url": "ftp://hooks.example/x", "events": ["x.unknown"]})
    assert bad_scheme.status_code == 400
    text = bad_scheme.content.decode()
    assert "must start with https://" in text and "Select a valid choice" in text
    assert not WebhookSubscription.objects.exists()


def test_admin_edits_events_and_pauses_a_webhook(
    admin_user: User, login: Callable[[User], Client], subscription: WebhookSubscription
) -> None:
    client = login(admin_user)
    response = client.post(
        detail_url(subscription),
        {
            "url": subscription.url,
            "events": ["followup.overdue", "incident.opened"],
            "description": "Ops",
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.events == ["followup.overdue", "incident.opened"]
    assert not subscription.is_active  # the box was not ticked
    assert AuditEvent.objects.filter(action="webhook.updated", target_id=subscription.pk).exists()
    assert "Paused" in client.get(CHANNELS).content.decode()

    rejected = client.post(detail_url(subscription), {"url": "javascript:alert(1)", "events": []})
    assert rejected.status_code == 400
    page = rejected.content.decode()
    assert 'value="javascript:alert(1)"' in page and "Choose at least one event." in page
    subscription.refresh_from_db()
    assert subscription.url == "https://hooks.acme.example/calmdesk"


def test_delete_asks_first_then_deletes_on_post(
    admin_user: User, login: Callable[[User], Client], subscription: WebhookSubscription
) -> None:
    client = login(admin_user)
    confirm = client.get(delete_url(subscription)).content.decode()
    assert "Delete this webhook?" in confirm and 'id="confirm-delete"' in confirm
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    response = client.post(delete_url(subscription))
    assert response.status_code == 302 and response["Location"] == CHANNELS
    assert not WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    assert AuditEvent.objects.filter(action="webhook.deleted", target_id=subscription.pk).exists()
    assert client.get(delete_url(subscription)).status_code == 404


def test_delivery_history_newest_first_paginated_with_each_outcome(
    org: Organisation,
    admin_user: User,
    login: Callable[[User], Client],
    subscription: WebhookSubscription,
) -> None:
    for number in range(25):
        webhook_event_emit(organisation_id=org.pk, event="message.received", data={"n": number})
    rows = list(subscription.deliveries.order_by("id"))
    oldest, newest = rows[0], rows[-1]
    WebhookDelivery.objects.filter(pk=newest.pk).update(
        status=WebhookDeliveryStatus.FAILED,
        attempts=6,
        last_status_code=502,
        last_error=f"HTTP 502 {HOSTILE}",
    )
    WebhookDelivery.objects.filter(pk=oldest.pk).update(
        status=WebhookDeliveryStatus.DELIVERED, attempts=2, last_status_code=204
    )
    client = login(admin_user)
    page = client.get(detail_url(subscription)).content.decode()
    assert '<span class="count">25</span>' in page
    shown = [int(i) for i in re.findall(r'<tr id="delivery-(\d+)"', page)]
    assert len(shown) == 20 and shown[0] == newest.pk
    assert shown == sorted(shown, reverse=True)
    assert "HTTP 502" in page and "&lt;script&gt;" in page and HOSTILE not in page
    assert "Page 1 of 2" in page and 'hx-get="?page=2"' in page
    # The list shows each subscription's last delivery.
    listing = client.get(CHANNELS).content.decode()
    assert "delivery-status-failed" in listing and "HTTP 502" in listing

    second = client.get(detail_url(subscription), {"page": "2"}, **HX)
    fragment = second.content.decode()
    assert fragment.lstrip().startswith('<section class="card stack-tight" id="deliveries"')
    older = [int(i) for i in re.findall(r'<tr id="delivery-(\d+)"', fragment)]
    assert len(older) == 5 and older[-1] == oldest.pk and not set(older) & set(shown)
    assert "HTTP 204" in fragment and "Page 2 of 2" in fragment
    # A page number out of range shows the last page, not an error.
    assert client.get(detail_url(subscription), {"page": "99"}).status_code == 200


# -- email -----------------------------------------------------------------------------


def test_email_settings_show_mailboxes_and_smtp_but_no_secret(
    admin_user: User,
    login: Callable[[User], Client],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.utils import timezone

    monkeypatch.setenv("ACME_IMAP_PASSWORD", "imap-hunter2-secret")
    settings.CALMDESK_IMAP_MAILBOXES = [
        {
            "name": "support",
            "host": "imap.acme.example",
            "username": "support@acme.example",
            "password_env": "ACME_IMAP_PASSWORD",
            "folder": "Support",
            "organisation": "acme",
        },
        {"name": "theirs", "host": "imap.other.example", "organisation": "other"},
    ]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "smtp.acme.example"
    settings.EMAIL_PORT = 465
    settings.EMAIL_USE_SSL = True
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = "mailer"
    settings.EMAIL_HOST_PASSWORD = "smtp-hunter2-secret"
    ImapMailboxState.objects.create(
        name="support", last_polled_at=timezone.now(), last_error="LOGIN failed <b>x</b>"
    )
    page = login(admin_user).get(CHANNELS).content.decode()
    section = page[page.index('id="email-settings"') :]
    assert "imap.acme.example:993" in section and "support@acme.example" in section
    assert "Support" in section and "$ACME_IMAP_PASSWORD" in section
    assert "Last polled" in section and "LOGIN failed &lt;b&gt;x&lt;/b&gt;" in section
    assert "imap.other.example" not in page  # another organisation's mailbox
    assert "smtp.acme.example:465" in section and "implicit TLS" in section
    assert "imap-hunter2-secret" not in page and "smtp-hunter2-secret" not in page


def test_unreadable_mailbox_settings_are_explained_not_a_500(
    admin_user: User, login: Callable[[User], Client], settings: Any
) -> None:
    settings.CALMDESK_IMAP_MAILBOXES = [{"name": "bad", "host": "imap.example", "password": "x"}]
    response = login(admin_user).get(CHANNELS)
    assert response.status_code == 200
    assert "give password_env" in response.content.decode()

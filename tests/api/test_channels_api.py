"""The channel endpoints: raw email in, webhooks, chat settings, delivery status, attachments."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from calmdesk.accounts.models import Organisation, Role, User
from calmdesk.audit.models import AuditEvent
from calmdesk.channels.models import (
    ChatSettings,
    EmailAttachment,
    EmailDelivery,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from calmdesk.channels.services import email_delivery_attempt
from calmdesk.channels.webhooks import sign, signature_verify
from calmdesk.conversations.models import Conversation, Message
from calmdesk.conversations.services import ReceiveResult
from tests.api.conftest import ApiCaller, error_of

pytestmark = pytest.mark.django_db

EML = Path(__file__).parent.parent / "channels" / "fixtures" / "eml"


def eml(name: str) -> bytes:
    return (EML / name).read_bytes()


def post_email(caller: ApiCaller, raw: bytes) -> Any:
    return caller.client.generic(
        "POST",
        "/api/v1/email/raw",
        raw,
        content_type="message/rfc822",
        headers=caller._headers(),
    )


def send(caller: ApiCaller, method: str, path: str, payload: Any = None) -> Any:
    import json

    body = b"" if payload is None else json.dumps(payload).encode()
    return caller.client.generic(
        method, f"/api/v1{path}", body, content_type="application/json", headers=caller._headers()
    )


# Raw email -------------------------------------------------------------------------


def test_a_raw_email_is_imported_once_and_reports_its_outcome(
    api_as: Callable[[User], ApiCaller], agent_a: User, org: Organisation
) -> None:
    caller = api_as(agent_a)
    first = post_email(caller, eml("01_plain_new.eml"))
    assert first.status_code == 201, first.content
    answer = first.json()
    assert answer["outcome"] == "new"
    message = Message.objects.get(pk=answer["message_id"])
    assert message.conversation_id == answer["conversation_id"]
    assert message.organisation == org and message.channel == "email"
    assert message.assessment is not None

    again = post_email(caller, eml("01_plain_new.eml"))
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["message_id"] == answer["message_id"]
    assert Message.objects.filter(channel="email").count() == 1


def test_json_with_base64_takes_the_same_path(
    api_as: Callable[[User], ApiCaller], admin_user: User
) -> None:
    caller = api_as(admin_user)
    encoded = base64.b64encode(eml("16_out_of_office.eml")).decode()
    response = caller.post("/email/raw", {"raw_base64": encoded})
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "auto-reply"
    assert response.json()["message_id"] is None
    # Machine mail never becomes a customer message.
    assert not Message.objects.exists()

    bounce = caller.post(
        "/email/raw", {"raw_base64": base64.b64encode(eml("15_bounce_dsn.eml")).decode()}
    )
    assert bounce.json()["outcome"] == "bounce"


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"raw_base64": "not base64!"}, 422),
        ({"raw_base64": "QUJD", "extra": 1}, 422),
        ({}, 422),
        ({"raw_base64": 5}, 422),
    ],
)
def test_bad_json_bodies_are_refused(
    api_as: Callable[[User], ApiCaller], agent_a: User, payload: Any, status: int
) -> None:
    response = api_as(agent_a).post("/email/raw", payload)
    assert response.status_code == status
    assert error_of(response)["code"] == "validation_error"


def test_raw_email_content_types_sizes_and_tokens(
    api_as: Callable[[User], ApiCaller], agent_a: User, anonymous: ApiCaller, settings: Any
) -> None:
    caller = api_as(agent_a)
    wrong_type = caller.client.generic(
        "POST", "/api/v1/email/raw", b"hello", content_type="text/plain", headers=caller._headers()
    )
    assert wrong_type.status_code == 415
    assert error_of(wrong_type)["code"] == "unsupported_media_type"
    # Django's test client drops Content-Type with an empty body; a real client sends it.
    empty = caller.client.generic(
        "POST", "/api/v1/email/raw", b"", headers=caller._headers(), CONTENT_TYPE="message/rfc822"
    )
    assert empty.status_code == 422
    assert post_email(anonymous, eml("01_plain_new.eml")).status_code == 401

    raw = eml("14_small_attachments.eml")
    settings.CALMDESK_API_MAX_EMAIL_BYTES = len(raw) - 1
    too_big = post_email(caller, raw)
    assert too_big.status_code == 413
    assert error_of(too_big)["code"] == "payload_too_large"
    # Base64 that decodes to more than the limit, in a body the guard lets through.
    encoded = base64.b64encode(raw + b"x" * 3).decode()
    settings.CALMDESK_API_MAX_EMAIL_BYTES = len(raw) + 2
    assert caller.post("/email/raw", {"raw_base64": encoded}).status_code == 413
    # A declared Content-Length over the request limit is refused before reading.
    settings.CALMDESK_API_MAX_EMAIL_BYTES = 100
    assert post_email(caller, raw).status_code == 413
    assert not Message.objects.exists()


def test_raw_email_is_stored_in_the_token_users_organisation(
    api_as: Callable[[User], ApiCaller], make_user: Callable[..., User], other_org: Organisation
) -> None:
    outsider = make_user("olga", organisation=other_org)
    answer = post_email(api_as(outsider), eml("01_plain_new.eml")).json()
    assert Conversation.objects.get(pk=answer["conversation_id"]).organisation == other_org


# Conversation messages: attachments and delivery -----------------------------------


def test_attachments_are_listed_and_downloaded_only_by_who_may_see_them(
    api_as: Callable[[User], ApiCaller],
    agent_a: User,
    make_user: Callable[..., User],
    other_org: Organisation,
) -> None:
    caller = api_as(agent_a)
    imported = post_email(caller, eml("14_small_attachments.eml")).json()
    conversation = caller.get(f"/conversations/{imported['conversation_id']}").json()
    (message,) = conversation["messages"]
    assert message["delivery"] is None
    names = {item["filename"]: item for item in message["attachments"]}
    assert set(names) == {"receipt.pdf", "étiquette.png"}
    pdf = names["receipt.pdf"]
    stored = EmailAttachment.objects.get(pk=pdf["id"])
    assert pdf["size"] == stored.size and pdf["content_type"] == "application/pdf"

    download = caller.client.get(pdf["download_url"], headers=caller._headers())
    assert download.status_code == 200
    assert download.content == bytes(stored.content)
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"

    outsider = api_as(make_user("olga", role=Role.ADMIN, organisation=other_org))
    assert outsider.client.get(pdf["download_url"], headers=outsider._headers()).status_code == 404
    assert caller.get("/attachments/999999").status_code == 404


def test_an_html_attachment_is_never_served_as_html(
    api_as: Callable[[User], ApiCaller], agent_a: User
) -> None:
    raw = (
        b"From: Pat <pat@example.com>\r\nTo: support@calmdesk.localhost\r\n"
        b"Subject: page\r\nMessage-ID: <html-attach@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nSee the attached page.\r\n--b\r\n"
        b'Content-Type: text/html; name="x.html"\r\nContent-Disposition: attachment; filename="x.html"\r\n\r\n'
        b"<script>alert(1)</script>\r\n--b--\r\n"
    )
    caller = api_as(agent_a)
    imported = post_email(caller, raw).json()
    (attachment,) = caller.get(f"/conversations/{imported['conversation_id']}").json()["messages"][
        0
    ]["attachments"]
    download = caller.client.get(attachment["download_url"], headers=caller._headers())
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in download["Content-Security-Policy"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_email_replies_show_their_delivery_status(
    api_as: Callable[[User], ApiCaller], agent_a: User, settings: Any
) -> None:
    caller = api_as(agent_a)
    imported = post_email(caller, eml("01_plain_new.eml")).json()
    conversation_id = imported["conversation_id"]
    reply = caller.post(
        f"/conversations/{conversation_id}/replies",
        {"body": "Thank you for writing. I am looking into your order now."},
    )
    assert reply.status_code == 201
    assert reply.json()["delivery"]["status"] == "queued"
    assert reply.json()["delivery"]["attempts"] == 0

    # Nothing listens on this port: a real connection failure, retried later.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    delivery = EmailDelivery.objects.get(message_id=reply.json()["id"])
    email_delivery_attempt(delivery_id=delivery.pk)
    shown = caller.get(f"/conversations/{conversation_id}").json()["messages"][-1]["delivery"]
    assert shown["status"] == "retrying" and shown["attempts"] == 1
    assert "Connection" in shown["last_error"] or "refused" in shown["last_error"].lower()
    assert shown["next_attempt_at"] is not None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email_delivery_attempt(delivery_id=delivery.pk)
    shown = caller.get(f"/conversations/{conversation_id}").json()["messages"][-1]["delivery"]
    assert shown["status"] == "sent" and shown["attempts"] == 2
    assert shown["last_error"] == "" and shown["sent_at"] is not None


# Webhooks ---------------------------------------------------------------------------


def test_admins_manage_webhooks_and_see_the_secret_once(
    api_as: Callable[[User], ApiCaller], admin_user: User
) -> None:
    caller = api_as(admin_user)
    created = caller.post(
        "/webhooks",
        {
            "url": "https://hooks.example.com/calmdesk",
            "events": ["message.received", "incident.opened", "message.received"],
            "description": "On-call pager",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    stored = WebhookSubscription.objects.get(pk=body["id"])
    assert body["secret"] == stored.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["incident.opened", "message.received"]
    assert body["created_by"]["username"] == admin_user.username
    # The secret signs deliveries the receiver can verify.
    signature = sign(secret=body["secret"], timestamp=1_700_000_000, body=b"{}")
    assert signature_verify(secret=body["secret"], header=signature, body=b"{}", now=1_700_000_000)

    listed = caller.get("/webhooks").json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in caller.get(f"/webhooks/{body['id']}").json()

    patched = send(
        caller,
        "PATCH",
        f"/webhooks/{body['id']}",
        {"is_active": False, "events": ["followup.overdue"]},
    )
    assert patched.status_code == 200
    assert patched.json()["is_active"] is False and patched.json()["events"] == ["followup.overdue"]
    stored.refresh_from_db()
    assert stored.is_active is False and stored.secret == body["secret"]
    assert AuditEvent.objects.filter(action="webhook.updated", target_id=stored.pk).exists()

    deleted = send(caller, "DELETE", f"/webhooks/{body['id']}")
    assert deleted.status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert caller.get(f"/webhooks/{body['id']}").status_code == 404
    assert AuditEvent.objects.filter(action="webhook.deleted").exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "ftp://hooks.example.com/x", "events": ["message.received"]},
        {"url": "https://user:pw@hooks.example.com/x", "events": ["message.received"]},
        {"url": "https://hooks.example.com/x", "events": []},
        {"url": "https://hooks.example.com/x", "events": ["no.such.event"]},
        {"url": "https://hooks.example.com/x", "events": ["message.received"], "secret": "mine"},
    ],
)
def test_invalid_subscriptions_are_refused(
    api_as: Callable[[User], ApiCaller], admin_user: User, payload: dict[str, Any]
) -> None:
    response = api_as(admin_user).post("/webhooks", payload)
    assert response.status_code == 422
    assert not WebhookSubscription.objects.exists()


def test_only_admins_of_the_same_organisation_reach_webhooks(
    api_as: Callable[[User], ApiCaller],
    admin_user: User,
    agent_a: User,
    supervisor_a: User,
    make_user: Callable[..., User],
    other_org: Organisation,
) -> None:
    created = api_as(admin_user).post(
        "/webhooks", {"url": "https://hooks.example.com/a", "events": ["conversation.resolved"]}
    )
    subscription_id = created.json()["id"]
    for user in (agent_a, supervisor_a):
        caller = api_as(user)
        assert caller.get("/webhooks").status_code == 403
        assert (
            error_of(caller.get(f"/webhooks/{subscription_id}/deliveries"))["code"] == "forbidden"
        )
        attempt = caller.post(
            "/webhooks", {"url": "https://evil.example.com/", "events": ["message.received"]}
        )
        assert attempt.status_code == 403
        assert send(caller, "DELETE", f"/webhooks/{subscription_id}").status_code == 403
    stranger = api_as(make_user("olga", role=Role.ADMIN, organisation=other_org))
    assert stranger.get("/webhooks").json()["items"] == []
    assert stranger.get(f"/webhooks/{subscription_id}").status_code == 404
    assert (
        send(stranger, "PATCH", f"/webhooks/{subscription_id}", {"is_active": False}).status_code
        == 404
    )
    assert send(stranger, "DELETE", f"/webhooks/{subscription_id}").status_code == 404
    assert WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).exists()


def test_delivery_history_lists_events_newest_first(
    api_as: Callable[[User], ApiCaller],
    admin_user: User,
    receive: Callable[..., ReceiveResult],
) -> None:
    caller = api_as(admin_user)
    subscription_id = caller.post(
        "/webhooks", {"url": "https://hooks.example.com/a", "events": ["message.received"]}
    ).json()["id"]
    first = receive("m-1", "My order never arrived.")
    second = receive("m-2", "Still nothing, three weeks now.")
    page = caller.get(f"/webhooks/{subscription_id}/deliveries").json()
    assert page["total"] == 2
    assert [item["status"] for item in page["items"]] == ["pending", "pending"]
    stored = WebhookDelivery.objects.filter(subscription_id=subscription_id)
    newest = stored.get(payload__data__message_id=second.message.pk)
    assert page["items"][0]["id"] == newest.pk
    assert stored.filter(payload__data__message_id=first.message.pk).exists()
    second_page = caller.get(f"/webhooks/{subscription_id}/deliveries", limit=1, offset=1).json()
    assert [item["id"] for item in second_page["items"]] == [page["items"][1]["id"]]
    assert caller.get(f"/webhooks/{subscription_id}/deliveries", limit=0).status_code == 422


def test_the_schema_lists_every_webhook_event() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    body = schema["components"]["schemas"]["WebhookSubscriptionIn"]
    assert set(body["properties"]["events"]["items"]["enum"]) == set(WebhookEvent.values)


# Chat settings ---------------------------------------------------------------------


def test_admins_set_the_origins_that_may_embed_the_chat(
    api_as: Callable[[User], ApiCaller], admin_user: User, org: Organisation
) -> None:
    caller = api_as(admin_user)
    initial = caller.get("/chat/settings").json()
    assert initial["allowed_origins"] == [] and initial["enabled"] is True
    assert 'data-calmdesk-org="acme"' in initial["embed_code"]
    assert "/chat/widget.js" in initial["embed_code"]

    saved = send(
        caller,
        "PUT",
        "/chat/settings",
        {
            "allowed_origins": [
                "https://Shop.Example.com",
                "https://shop.example.com:443",
                "http://localhost:8080/",
            ],
            "title": "Talk to Acme",
        },
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["allowed_origins"] == ["http://localhost:8080", "https://shop.example.com"]
    assert saved.json()["title"] == "Talk to Acme"
    chat = ChatSettings.objects.get(organisation=org)
    assert chat.allowed_origins == ["http://localhost:8080", "https://shop.example.com"]
    # Without a title the title stays; enabled can be switched off.
    again = send(caller, "PUT", "/chat/settings", {"allowed_origins": [], "enabled": False}).json()
    assert again["title"] == "Talk to Acme" and again["enabled"] is False
    assert again["greeting"]  # the default greeting, kept when none is given
    quiet = send(caller, "PUT", "/chat/settings", {"allowed_origins": [], "greeting": ""})
    assert quiet.status_code == 200 and quiet.json()["greeting"] == ""
    too_long = send(caller, "PUT", "/chat/settings", {"allowed_origins": [], "greeting": "x" * 501})
    assert too_long.status_code == 422


@pytest.mark.parametrize(
    "origin",
    [
        "https://shop.example.com/checkout",
        "https://*.example.com",
        "shop.example.com",
        "https://user@shop.example.com",
        "https://shop.example.com?x=1",
        "javascript:alert(1)",
        "https://shop.example.com:99999",
    ],
)
def test_chat_origins_are_validated(
    api_as: Callable[[User], ApiCaller], admin_user: User, origin: str
) -> None:
    response = send(api_as(admin_user), "PUT", "/chat/settings", {"allowed_origins": [origin]})
    assert response.status_code == 422
    assert not ChatSettings.objects.exists()


def test_chat_settings_are_for_admins_only(
    api_as: Callable[[User], ApiCaller], agent_a: User, supervisor_a: User
) -> None:
    for user in (agent_a, supervisor_a):
        caller = api_as(user)
        assert caller.get("/chat/settings").status_code == 403
        put = send(
            caller, "PUT", "/chat/settings", {"allowed_origins": ["https://evil.example.com"]}
        )
        assert put.status_code == 403
    assert not ChatSettings.objects.exists()

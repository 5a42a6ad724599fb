"""Agent replies sent by SMTP to a real server (aiosmtpd) on a loopback port."""

from __future__ import annotations

import email
import email.policy
import socket
from collections import deque
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels.models import DeliveryStatus, EmailDelivery
from calmdesk.channels.services import (
    MAX_ATTEMPTS,
    ImportOutcome,
    ImportResult,
    email_deliveries_retry_due,
    email_delivery_attempt,
    email_import,
)
from calmdesk.conversations.models import Conversation, Message
from calmdesk.conversations.services import reply_send

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class RecordingHandler:
    """Accepts mail, or answers with the queued SMTP failures first."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.failures: deque[str] = deque()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.failures:
            return self.failures.popleft()
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 2.0.0 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "Acme Support <support@calmdesk.localhost>"
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def customer_conversation(
    import_fixture: Callable[..., ImportResult],
) -> Conversation:
    result = import_fixture("01_plain_new.eml")
    assert result.outcome is ImportOutcome.NEW
    return Conversation.objects.get(pk=result.conversation_id)


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.django_db
def test_a_reply_goes_out_by_smtp_with_threading_headers_agent_name_and_plain_text(
    smtp_server: RecordingHandler,
    customer_conversation: Conversation,
    agent_a: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = IMMEDIATE_TASKS
    agent_a.last_name = "Møller"
    agent_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        reply = reply_send(
            conversation=customer_conversation,
            author=agent_a,
            body_text="I am sorry the desk is late.\n\nI have asked the courier and will write by 4pm.",
        )

    delivery = EmailDelivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    [(recipients, raw)] = smtp_server.received
    assert recipients == ["jane.doe@example.com"]
    sent = _parsed(raw)
    assert sent["Message-ID"] == f"<{delivery.message_id_header}>"
    assert sent["In-Reply-To"] == "<order-1001.jane@mail.example.com>"
    assert sent["References"] == "<order-1001.jane@mail.example.com>"
    assert sent["From"].addresses[0].display_name == "Alice Møller at Acme Supplies"
    assert sent["From"].addresses[0].addr_spec == "support@calmdesk.localhost"
    assert f"[#CD-{customer_conversation.pk}]" in sent["Subject"]
    assert sent.get_content_type() == "multipart/alternative"
    plain = sent.get_body(preferencelist=("plain",))
    html = sent.get_body(preferencelist=("html",))
    assert plain is not None and "will write by 4pm" in plain.get_content()
    assert html is not None and "<p>I am sorry the desk is late.</p>" in html.get_content()

    # The customer's answer to our reply comes back into the same conversation.
    answer = (
        b"From: Jane Doe <jane.doe@example.com>\n"
        b"To: support@calmdesk.localhost\n"
        b"Subject: Re: Where is my order 1001?\n"
        b"Message-ID: <answer-to-our-reply@example.com>\n"
        b"In-Reply-To: <" + delivery.message_id_header.encode() + b">\n\n"
        b"Thank you, 4pm is fine.\n"
    )
    result = email_import(organisation=customer_conversation.organisation, raw=answer)
    assert result.outcome is ImportOutcome.NEW
    assert result.conversation_id == customer_conversation.pk


@pytest.mark.django_db
def test_a_temporary_failure_is_retried_with_backoff_then_sent(
    smtp_server: RecordingHandler,
    customer_conversation: Conversation,
    agent_a: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    reply = reply_send(conversation=customer_conversation, author=agent_a, body_text="On it.")
    delivery = EmailDelivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.QUEUED

    smtp_server.failures.append("451 4.3.0 Mailbox busy, try again later")
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        delivery = email_delivery_attempt(delivery_id=delivery.pk)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts == 1
    assert "451" in delivery.last_error
    assert delivery.next_attempt_at is not None
    assert (
        before + timedelta(seconds=59)
        <= delivery.next_attempt_at
        <= timezone.now() + timedelta(seconds=61)
    )
    # The database task backend holds the retry until its time comes.
    queued = DBTaskResult.objects.filter(task_path__endswith="deliver_email_reply").get()
    assert queued.run_after is not None and queued.args_kwargs["args"] == [delivery.pk]
    assert smtp_server.received == []

    # Nothing is due yet; an hour later it is, and it goes out.
    assert email_deliveries_retry_due() == 0
    assert email_deliveries_retry_due(now=timezone.now() + timedelta(hours=1)) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert delivery.last_error == ""
    assert len(smtp_server.received) == 1
    # A late duplicate run of the task does not send it twice.
    email_delivery_attempt(delivery_id=delivery.pk)
    assert len(smtp_server.received) == 1


@pytest.mark.django_db
def test_a_permanent_refusal_fails_at_once_and_is_visible(
    smtp_server: RecordingHandler, customer_conversation: Conversation, agent_a: User
) -> None:
    reply = reply_send(conversation=customer_conversation, author=agent_a, body_text="On it.")
    smtp_server.failures.append("550 5.7.1 Relaying denied")
    delivery = email_delivery_attempt(delivery_id=EmailDelivery.objects.get(message=reply).pk)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1 and delivery.next_attempt_at is None
    assert "550" in delivery.last_error
    assert Message.objects.get(pk=reply.pk).email_delivery.status == DeliveryStatus.FAILED


@pytest.mark.django_db
def test_a_server_that_keeps_failing_gets_a_bounded_number_of_attempts(
    smtp_server: RecordingHandler, customer_conversation: Conversation, agent_a: User
) -> None:
    reply = reply_send(conversation=customer_conversation, author=agent_a, body_text="On it.")
    delivery_id = EmailDelivery.objects.get(message=reply).pk
    smtp_server.failures.extend(["421 4.3.2 Service shutting down"] * (MAX_ATTEMPTS + 2))
    statuses = [
        email_delivery_attempt(delivery_id=delivery_id).status for _ in range(MAX_ATTEMPTS + 1)
    ]
    assert statuses[: MAX_ATTEMPTS - 1] == [DeliveryStatus.RETRYING] * (MAX_ATTEMPTS - 1)
    assert statuses[MAX_ATTEMPTS - 1 :] == [DeliveryStatus.FAILED, DeliveryStatus.FAILED]
    assert EmailDelivery.objects.get(pk=delivery_id).attempts == MAX_ATTEMPTS


@pytest.mark.django_db
def test_an_unreachable_server_is_a_temporary_failure(
    customer_conversation: Conversation, agent_a: User, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _free_port()  # nothing listens there
    reply = reply_send(conversation=customer_conversation, author=agent_a, body_text="On it.")
    delivery = email_delivery_attempt(delivery_id=EmailDelivery.objects.get(message=reply).pk)
    assert delivery.status == DeliveryStatus.RETRYING
    assert "ConnectionRefusedError" in delivery.last_error


@pytest.mark.django_db
def test_notes_chat_replies_and_api_recorded_conversations_are_not_emailed(
    org: Organisation, agent_a: User
) -> None:
    from calmdesk.conversations.services import inbound_message_receive, note_add

    chat = inbound_message_receive(
        organisation=org, channel="chat", external_id="c1", body_text="hi", customer_handle="v1"
    ).conversation
    reply_send(conversation=chat, author=agent_a, body_text="Hello!")
    note_add(conversation=chat, author=agent_a, body_text="internal")
    # An "email" conversation recorded through the API (or the demo) never came in as
    # email, so calmdesk does not answer it by email either.
    recorded = inbound_message_receive(
        organisation=org,
        channel="email",
        external_id="api-1",
        body_text="hello",
        customer_email="api@example.com",
    ).conversation
    reply_send(conversation=recorded, author=agent_a, body_text="Hello!")
    assert EmailDelivery.objects.count() == 0


@pytest.mark.django_db
def test_each_organisation_can_send_from_its_own_address(
    customer_conversation: Conversation, agent_a: User, settings: Any
) -> None:
    from calmdesk.channels.services import build_reply_email

    settings.CALMDESK_EMAIL_ORG_ADDRESSES = {"acme": "Acme Help <help@acme.example>"}
    reply = reply_send(conversation=customer_conversation, author=agent_a, body_text="On it.")
    delivery = EmailDelivery.objects.get(message=reply)
    assert delivery.message_id_header.endswith("@acme.example")
    email = build_reply_email(message=reply, delivery=delivery)
    assert email.from_email == "Alice at Acme Supplies <help@acme.example>"
    assert email.reply_to == ["help@acme.example"]

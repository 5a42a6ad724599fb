"""Reads for the agent UI: delivery state, attachments and machine mail beside messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.http import Http404

from calmdesk.accounts.models import User
from calmdesk.channels.selectors import (
    access_attachment,
    conversation_machine_mail,
    email_facts_for_messages,
)
from calmdesk.channels.services import ImportResult
from calmdesk.conversations.models import Conversation
from calmdesk.conversations.services import reply_send

pytestmark = pytest.mark.django_db


def test_facts_for_inbound_and_outbound_messages_in_three_queries(
    import_fixture: Callable[..., ImportResult],
    agent_a: User,
    django_assert_num_queries: Any,
) -> None:
    first = import_fixture("01_plain_new.eml")
    reply_mail = import_fixture("02_gmail_reply.eml")
    attached = import_fixture("14_small_attachments.eml")
    conversation = Conversation.objects.get(pk=first.conversation_id)
    ours = reply_send(conversation=conversation, author=agent_a, body_text="On it.")
    ids = [reply_mail.message_id, attached.message_id, ours.pk]
    with django_assert_num_queries(3):
        facts = email_facts_for_messages(ids)
    assert facts[reply_mail.message_id].trimmed == ("attribution",)
    assert "> Hello," in facts[reply_mail.message_id].full_text
    assert [a.filename for a in facts[attached.message_id].attachments] == [
        "receipt.pdf",
        "étiquette.png",
    ]
    delivery = facts[ours.pk].delivery
    assert delivery is not None and delivery.status == "queued"
    assert delivery.to_address == "jane.doe@example.com"


def test_machine_mail_is_listed_on_its_conversation(
    import_fixture: Callable[..., ImportResult],
) -> None:
    first = import_fixture("01_plain_new.eml")
    import_fixture("16_out_of_office.eml")
    [row] = conversation_machine_mail(Conversation.objects.get(pk=first.conversation_id))
    assert row.kind == "auto-reply" and row.reason.startswith("Auto-Submitted")


def test_attachments_are_only_reachable_by_staff_who_see_the_conversation(
    import_fixture: Callable[..., ImportResult],
    make_user: Callable[..., User],
    other_org: Any,
    agent_a: User,
) -> None:
    attached = import_fixture("14_small_attachments.eml")
    [pdf, _] = email_facts_for_messages([attached.message_id])[attached.message_id].attachments
    assert access_attachment(agent_a, pdf.id).filename == "receipt.pdf"
    outsider = make_user("eve", organisation=other_org)
    with pytest.raises(Http404):
        access_attachment(outsider, pdf.id)


def test_the_delivery_signature_covers_only_the_messages_a_page_shows(
    import_fixture: Callable[..., ImportResult], agent_a: User
) -> None:
    """A long thread shows its newest messages; the poll compares the same ones."""
    from calmdesk.channels.models import DeliveryStatus, EmailDelivery
    from calmdesk.channels.selectors import (
        conversation_delivery_signature,
        delivery_signature,
        signature_since,
    )

    imported = import_fixture("01_plain_new.eml")
    conversation = Conversation.objects.get(pk=imported.conversation_id)
    older = reply_send(conversation=conversation, author=agent_a, body_text="Checking now.")
    newer = reply_send(conversation=conversation, author=agent_a, body_text="It left today.")
    page = delivery_signature(email_facts_for_messages([newer.pk]), since_id=newer.pk)
    assert signature_since(page) == newer.pk
    assert conversation_delivery_signature(conversation, since_id=newer.pk) == page
    # A hidden reply moving on does not count; a shown one does.
    EmailDelivery.objects.filter(message=older).update(status=DeliveryStatus.SENT, attempts=1)
    assert conversation_delivery_signature(conversation, since_id=newer.pk) == page
    EmailDelivery.objects.filter(message=newer).update(status=DeliveryStatus.SENT, attempts=1)
    assert conversation_delivery_signature(conversation, since_id=newer.pk) != page
    assert signature_since("garbage") == 0 and signature_since("9" * 40 + ".x") == 0


def test_machine_mail_excerpt_is_the_line_a_person_looks_for(
    import_fixture: Callable[..., ImportResult], agent_a: User
) -> None:
    from calmdesk.channels.models import EmailDelivery

    first = import_fixture("01_plain_new.eml")
    conversation = Conversation.objects.get(pk=first.conversation_id)
    ours = reply_send(conversation=conversation, author=agent_a, body_text="On it.")
    delivery = EmailDelivery.objects.get(message=ours)
    import_fixture("16_out_of_office.eml")
    import_fixture("15_bounce_dsn.eml", OUTBOUND_MESSAGE_ID=delivery.message_id_header)
    rows = conversation_machine_mail(conversation)
    assert [row.kind for row in rows] == ["auto-reply", "bounce"]
    assert rows[0].excerpt == "I am away until 20 June with no access to email."
    # Not the DSN's "This is the mail system" preamble: the server's refusal.
    assert "550 5.1.1 User unknown" in rows[1].excerpt and rows[1].is_bounce
    assert conversation_machine_mail(conversation, since=rows[1].received_at) == rows[1:]
    # A cap keeps the newest, still oldest first.
    assert conversation_machine_mail(conversation, limit=1) == rows[1:]

"""email_import: what is stored for each kind of email, and what is never stored twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from calmdesk.accounts.models import Organisation
from calmdesk.channels.models import EmailAttachment, RawEmail
from calmdesk.channels.parsing import derived_message_id
from calmdesk.channels.services import ImportOutcome, ImportResult, email_import
from calmdesk.conversations.models import Conversation, Message

from .conftest import fixture_bytes

pytestmark = pytest.mark.django_db

ImportFixture = Callable[..., ImportResult]


def test_the_engine_reads_the_new_words_and_the_full_email_is_kept(
    import_fixture: ImportFixture,
) -> None:
    import_fixture("01_plain_new.eml")
    result = import_fixture("02_gmail_reply.eml")
    message = Message.objects.get(pk=result.message_id)
    assert message.body_text == (
        "Still nothing. This is the third time I have asked and nobody has even\n"
        "looked, as far as I can tell."
    )
    assert message.assessment is not None and "scores" in message.assessment
    stored = RawEmail.objects.get(message=message)
    assert "> I ordered a standing desk" in stored.full_text
    assert stored.trimmed == ["attribution"]
    assert stored.raw == fixture_bytes("02_gmail_reply.eml")
    assert stored.kind == "new" and stored.defects == []


def test_customer_html_is_sanitised_before_it_is_stored(import_fixture: ImportFixture) -> None:
    message = Message.objects.get(pk=import_fixture("07_script_tags.eml").message_id)
    html = message.body_html.lower()
    for dangerous in ("<script", "onerror", "javascript:", "<iframe", "document.cookie"):
        assert dangerous not in html
    assert "<strong>twice</strong>" in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert message.body_text == "Why was I charged twice for invoice 77?"

    html_only = Message.objects.get(pk=import_fixture("06_html_only.eml").message_id)
    assert "stealCookies" not in html_only.body_html and "onclick" not in html_only.body_html
    assert html_only.body_text.startswith("You promised my refund within five days.")


def test_names_and_subjects_in_other_charsets_reach_the_customer_and_conversation(
    import_fixture: ImportFixture,
) -> None:
    result = import_fixture("12_rfc2047_headers.eml")
    conversation = Conversation.objects.select_related("customer").get(pk=result.conversation_id)
    assert conversation.customer.name == "Zoë Müller"
    assert conversation.subject == "Gerät kaputt \u2013 bitte Ersatz (Bestellung 7788)"
    reply = import_fixture("35_german_outlook_reply.eml")
    assert reply.conversation_id == conversation.pk
    assert (
        Message.objects.get(pk=reply.message_id).body_text
        == "Ich warte immer noch auf eine Antwort."
    )
    japanese = Message.objects.get(pk=import_fixture("11_shift_jis.eml").message_id)
    assert "返金してください" in japanese.body_text


def test_attachments_are_stored_and_huge_ones_refused_but_recorded(
    import_fixture: ImportFixture, settings: Any
) -> None:
    settings.CALMDESK_EMAIL_MAX_ATTACHMENT_BYTES = 256 * 1024
    huge = import_fixture("13_huge_attachment.eml")
    [video] = EmailAttachment.objects.filter(message_id=huge.message_id)
    assert (video.filename, video.content_type, video.size) == ("fan.mp4", "video/mp4", 300 * 1024)
    assert video.refused and video.content is None and "262144" in video.refused_reason

    small = import_fixture("14_small_attachments.eml")
    stored = {a.filename: a for a in EmailAttachment.objects.filter(message_id=small.message_id)}
    assert set(stored) == {"receipt.pdf", "étiquette.png"}
    assert bytes(stored["receipt.pdf"].content).startswith(b"%PDF-1.4")
    assert not stored["receipt.pdf"].refused

    only = Message.objects.get(pk=import_fixture("38_attachment_only.eml").message_id)
    assert "delivery-note.pdf" in only.body_text


def test_an_email_over_the_size_limit_keeps_its_headers_and_says_so(
    import_fixture: ImportFixture, settings: Any
) -> None:
    settings.CALMDESK_EMAIL_MAX_RAW_BYTES = 100 * 1024
    result = import_fixture("13_huge_attachment.eml")
    assert result.outcome is ImportOutcome.NEW
    stored = RawEmail.objects.get(pk=result.raw_email_id)
    assert stored.truncated and stored.size == len(fixture_bytes("13_huge_attachment.eml"))
    assert bytes(stored.raw).startswith(b"From: Ravi Kumar") and len(stored.raw) < 1024
    assert any(defect.startswith("TooLarge") for defect in stored.defects)
    assert EmailAttachment.objects.get(raw_email=stored).refused


def test_broken_mime_is_stored_and_flagged(import_fixture: ImportFixture) -> None:
    for name, defect in (
        ("20_broken_mime_no_boundary.eml", "NoBoundaryInMultipartDefect"),
        ("21_broken_base64.eml", "InvalidBase64CharactersDefect"),
    ):
        result = import_fixture(name)
        assert result.outcome is ImportOutcome.NEW
        stored = RawEmail.objects.get(pk=result.raw_email_id)
        assert defect in stored.defects
        assert bytes(stored.raw) == fixture_bytes(name)


def test_no_message_id_gets_a_stable_id_from_the_bytes(import_fixture: ImportFixture) -> None:
    first = import_fixture("22_missing_message_id.eml")
    message = Message.objects.get(pk=first.message_id)
    assert message.external_id == derived_message_id(fixture_bytes("22_missing_message_id.eml"))
    again = import_fixture("22_missing_message_id.eml")
    assert (again.outcome, again.message_id) == (ImportOutcome.DUPLICATE, first.message_id)


def test_an_email_without_a_sender_is_kept_but_not_made_a_message(
    import_fixture: ImportFixture,
) -> None:
    result = import_fixture("26_no_from.eml")
    assert (result.outcome, result.message_id, result.conversation_id) == (
        ImportOutcome.REJECTED,
        None,
        None,
    )
    stored = RawEmail.objects.get(pk=result.raw_email_id)
    assert stored.kind == "rejected" and "MissingFromAddress" in stored.defects
    assert bytes(stored.raw) == fixture_bytes("26_no_from.eml")
    assert Message.objects.count() == 0


def test_someone_else_answering_in_the_thread_gets_their_own_conversation(
    import_fixture: ImportFixture,
) -> None:
    jane = import_fixture("01_plain_new.eml")
    mark = import_fixture("33_reply_from_colleague.eml")
    assert mark.outcome is ImportOutcome.NEW and mark.conversation_id != jane.conversation_id
    assert Conversation.objects.get(pk=mark.conversation_id).customer.name == "Mark Doe"


def test_a_subject_token_cannot_reach_into_another_organisation_or_customer(
    org: Organisation, other_org: Organisation, import_fixture: ImportFixture
) -> None:
    jane = import_fixture("01_plain_new.eml")
    # Another customer quoting Jane's token is not let into her conversation.
    stranger = email_import(
        organisation=org,
        raw=fixture_bytes(
            "04_subject_token_only.eml", CONVERSATION_ID=jane.conversation_id
        ).replace(b"jane.doe@example.com", b"stranger@example.org"),
    )
    assert (
        stranger.outcome is ImportOutcome.NEW and stranger.conversation_id != jane.conversation_id
    )
    # Nor does a token work across organisations; the same email there is new, not a duplicate.
    elsewhere = email_import(
        organisation=other_org,
        raw=fixture_bytes("04_subject_token_only.eml", CONVERSATION_ID=jane.conversation_id),
    )
    assert elsewhere.outcome is ImportOutcome.NEW
    assert Conversation.objects.get(pk=elsewhere.conversation_id).organisation == other_org


def test_machine_mail_is_never_a_customer_message(import_fixture: ImportFixture) -> None:
    jane = import_fixture("01_plain_new.eml")
    conversation = Conversation.objects.get(pk=jane.conversation_id)
    waiting_since = conversation.waiting_since
    for name in (
        "16_out_of_office.eml",
        "17_x_autoreply.eml",
        "27_mailer_daemon_plain.eml",
        "37_loop_own_address.eml",
    ):
        result = import_fixture(name)
        assert result.message_id is None, name
        assert RawEmail.objects.get(pk=result.raw_email_id).kind in ("auto-reply", "bounce")
    assert Message.objects.count() == 1
    conversation.refresh_from_db()
    assert conversation.waiting_since == waiting_since
    assert (
        RawEmail.objects.get(external_id="ooo-16.jane@mail.example.com").conversation_id
        == conversation.pk
    )

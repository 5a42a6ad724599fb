"""The whole .eml corpus imported in order, each email with its expected outcome."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels.models import DeliveryStatus, EmailAttachment, EmailDelivery, RawEmail
from calmdesk.channels.services import ImportOutcome, ImportResult, email_import
from calmdesk.conversations.models import Message
from calmdesk.conversations.services import reply_send

from .conftest import FIXTURES, fixture_bytes

# Which conversation each email should land in: a letter names a thread
# started by an earlier email in the corpus, "-" means none, "+" a new one.
EXPECTED: dict[str, tuple[ImportOutcome, str]] = {
    "01_plain_new.eml": (ImportOutcome.NEW, "A"),
    "02_gmail_reply.eml": (ImportOutcome.NEW, "A"),
    "03_outlook_reply.eml": (ImportOutcome.NEW, "A"),
    "04_subject_token_only.eml": (ImportOutcome.NEW, "A"),
    "05_iphone_reply.eml": (ImportOutcome.NEW, "A"),
    "06_html_only.eml": (ImportOutcome.NEW, "P"),
    "07_script_tags.eml": (ImportOutcome.NEW, "+"),
    "08_multipart_alternative.eml": (ImportOutcome.NEW, "+"),
    "09_iso_8859_1.eml": (ImportOutcome.NEW, "+"),
    "10_windows_1252_8bit.eml": (ImportOutcome.NEW, "+"),
    "11_shift_jis.eml": (ImportOutcome.NEW, "+"),
    "12_rfc2047_headers.eml": (ImportOutcome.NEW, "Z"),
    "13_huge_attachment.eml": (ImportOutcome.NEW, "R"),
    "14_small_attachments.eml": (ImportOutcome.NEW, "+"),
    "15_bounce_dsn.eml": (ImportOutcome.BOUNCE, "A"),
    "16_out_of_office.eml": (ImportOutcome.AUTO_REPLY, "A"),
    "17_x_autoreply.eml": (ImportOutcome.AUTO_REPLY, "-"),
    "18_precedence_bulk.eml": (ImportOutcome.AUTO_REPLY, "-"),
    "19_exchange_automatic_reply.eml": (ImportOutcome.AUTO_REPLY, "-"),
    "20_broken_mime_no_boundary.eml": (ImportOutcome.NEW, "O"),
    "21_broken_base64.eml": (ImportOutcome.NEW, "+"),
    "22_missing_message_id.eml": (ImportOutcome.NEW, "+"),
    "23_mislabelled_utf8.eml": (ImportOutcome.NEW, "+"),
    "24_unknown_charset.eml": (ImportOutcome.NEW, "+"),
    "25_raw_8bit_headers.eml": (ImportOutcome.NEW, "+"),
    "26_no_from.eml": (ImportOutcome.REJECTED, "-"),
    "27_mailer_daemon_plain.eml": (ImportOutcome.BOUNCE, "-"),
    "28_x_failed_recipients.eml": (ImportOutcome.BOUNCE, "-"),
    "29_signature_dashes.eml": (ImportOutcome.NEW, "S"),
    "30_interleaved_quotes.eml": (ImportOutcome.NEW, "S"),
    "31_forwarded_rfc822.eml": (ImportOutcome.NEW, "+"),
    "32_duplicate_of_01.eml": (ImportOutcome.DUPLICATE, "A"),
    "33_reply_from_colleague.eml": (ImportOutcome.NEW, "+"),
    "34_auto_submitted_no.eml": (ImportOutcome.NEW, "+"),
    "35_german_outlook_reply.eml": (ImportOutcome.NEW, "Z"),
    "36_related_inline_image.eml": (ImportOutcome.NEW, "+"),
    "37_loop_own_address.eml": (ImportOutcome.AUTO_REPLY, "-"),
    "38_attachment_only.eml": (ImportOutcome.NEW, "+"),
}
STARTS = {
    "01_plain_new.eml": "A",
    "06_html_only.eml": "P",
    "12_rfc2047_headers.eml": "Z",
    "13_huge_attachment.eml": "R",
    "20_broken_mime_no_boundary.eml": "O",
    "29_signature_dashes.eml": "S",
}


def test_the_corpus_has_at_least_thirty_emails_and_each_has_an_expected_outcome() -> None:
    names = sorted(path.name for path in FIXTURES.glob("*.eml"))
    assert len(names) >= 30
    assert names == sorted(EXPECTED)


def _import_corpus(org: Organisation, agent: User) -> dict[str, ImportResult]:
    results: dict[str, ImportResult] = {}
    placeholders: dict[str, object] = {}
    for name in sorted(EXPECTED):
        if name == "04_subject_token_only.eml":
            placeholders["CONVERSATION_ID"] = results["01_plain_new.eml"].conversation_id
        if name == "15_bounce_dsn.eml":
            conversation = Message.objects.get(
                pk=results["01_plain_new.eml"].message_id
            ).conversation
            reply = reply_send(conversation=conversation, author=agent, body_text="We are on it.")
            placeholders["OUTBOUND_MESSAGE_ID"] = reply.email_delivery.message_id_header
        raw = fixture_bytes(name, **placeholders)
        results[name] = email_import(organisation=org, raw=raw, source=name)
    return results


@pytest.mark.django_db
def test_every_corpus_email_gets_its_outcome_and_conversation(
    org: Organisation, agent_a: User, settings: pytest.FixtureRequest
) -> None:
    settings.CALMDESK_EMAIL_MAX_ATTACHMENT_BYTES = 256 * 1024  # type: ignore[attr-defined]
    results = _import_corpus(org, agent_a)

    threads = {letter: results[name].conversation_id for name, letter in STARTS.items()}
    seen_new: set[int | None] = set(threads.values())
    wrong: list[str] = []
    for name, (outcome, where) in EXPECTED.items():
        result = results[name]
        if result.outcome != outcome:
            wrong.append(f"{name}: outcome {result.outcome}, expected {outcome}")
        if where == "-" and result.conversation_id is not None:
            wrong.append(f"{name}: filed in conversation {result.conversation_id}, expected none")
        elif where == "+":
            if result.conversation_id is None or result.conversation_id in seen_new:
                wrong.append(f"{name}: expected a conversation of its own")
            seen_new.add(result.conversation_id)
        elif where not in ("-", "+") and result.conversation_id != threads[where]:
            wrong.append(f"{name}: conversation {result.conversation_id}, expected thread {where}")
        if outcome is ImportOutcome.NEW and result.message_id is None:
            wrong.append(f"{name}: no message stored")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_importing_the_corpus_twice_stores_nothing_the_second_time(
    org: Organisation, agent_a: User, import_fixture: Callable[..., ImportResult]
) -> None:
    first = _import_corpus(org, agent_a)
    counts = (RawEmail.objects.count(), Message.objects.count(), EmailAttachment.objects.count())
    again = _import_corpus(org, agent_a)
    # The second pass sends one more agent reply (it is part of the set-up); nothing else is new.
    assert RawEmail.objects.count() == counts[0]
    assert Message.objects.count() == counts[1] + 1
    assert EmailAttachment.objects.count() == counts[2]
    for name, result in again.items():
        if name == "15_bounce_dsn.eml":
            continue  # the placeholder now names the new reply, so its bytes differ
        assert result.outcome is ImportOutcome.DUPLICATE, name
        assert result.conversation_id == first[name].conversation_id, name


@pytest.mark.django_db
def test_a_bounce_marks_the_reply_it_is_about(org: Organisation, agent_a: User) -> None:
    results = _import_corpus(org, agent_a)
    bounce = results["15_bounce_dsn.eml"]
    delivery = EmailDelivery.objects.get(message_id=bounce.message_id)
    assert delivery.status == DeliveryStatus.BOUNCED
    assert "5.1.1" in delivery.last_error and "no.such.person@example.com" in delivery.last_error
    # Machine mail never becomes a customer message.
    stored = RawEmail.objects.get(pk=bounce.raw_email_id)
    assert stored.kind == "bounce" and stored.message_id is None

"""Parsing raw email: what is read, what is flagged, and that nothing makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calmdesk.channels.autoreply import EmailKind, classify
from calmdesk.channels.parsing import (
    decode_bytes,
    derived_message_id,
    html_to_text,
    message_ids,
    parse_email,
)

from .conftest import fixture_bytes


def test_charsets_and_encoded_headers_are_decoded() -> None:
    latin = parse_email(fixture_bytes("09_iso_8859_1.eml"))
    assert latin.from_name == "Françoise Lévy" and latin.subject == "Commande abîmée"
    assert "Le café s'est renversé" in latin.text
    assert "€12" in parse_email(fixture_bytes("10_windows_1252_8bit.eml")).text
    japanese = parse_email(fixture_bytes("11_shift_jis.eml"))
    assert japanese.from_name == "山田太郎" and japanese.subject == "商品が届きません"
    assert "返金してください" in japanese.text
    german = parse_email(fixture_bytes("12_rfc2047_headers.eml"))
    assert german.from_name == "Zoë Müller"
    assert german.subject == "Gerät kaputt \u2013 bitte Ersatz (Bestellung 7788)"
    raw_headers = parse_email(fixture_bytes("25_raw_8bit_headers.eml"))
    assert (raw_headers.from_name, raw_headers.subject) == ("Jörg Schäfer", "Rückerstattung fehlt")


def test_wrong_or_unknown_charsets_are_read_as_well_as_possible_and_flagged() -> None:
    mislabelled = parse_email(fixture_bytes("23_mislabelled_utf8.eml"))
    assert "payé deux fois" in mislabelled.text
    assert "MislabelledCharset(utf-8)" in mislabelled.defects
    unknown = parse_email(fixture_bytes("24_unknown_charset.eml"))
    assert "a size too small" in unknown.text
    assert "UnknownCharset(x-made-up-charset)" in unknown.defects


def test_broken_mime_keeps_the_text_and_records_the_defects() -> None:
    no_boundary = parse_email(fixture_bytes("20_broken_mime_no_boundary.eml"))
    assert "heater I bought stopped working" in no_boundary.text
    assert "NoBoundaryInMultipartDefect" in no_boundary.defects
    bad_base64 = parse_email(fixture_bytes("21_broken_base64.eml"))
    assert "Photo attached" in bad_base64.text
    assert "InvalidBase64CharactersDefect" in bad_base64.defects
    assert [a.filename for a in bad_base64.attachments] == ["heater.jpg"]


def test_html_only_mail_gets_readable_text_without_script_or_style() -> None:
    parsed = parse_email(fixture_bytes("06_html_only.eml"))
    assert "You promised my refund within five days." in parsed.text
    assert "- Order 2040" in parsed.text
    assert "stealCookies" not in parsed.text and "color: red" not in parsed.text
    assert "<script>" in parsed.html  # raw here; the service sanitises before storing


def test_html_blockquotes_become_quoted_lines() -> None:
    text = html_to_text("<p>New words</p><blockquote><p>old words</p></blockquote>")
    assert text.splitlines()[0] == "New words"
    assert "> old words" in text


def test_attachments_inline_images_and_forwarded_messages() -> None:
    parsed = parse_email(fixture_bytes("14_small_attachments.eml"))
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("receipt.pdf", "application/pdf"),
        ("étiquette.png", "image/png"),
    ]
    assert parsed.attachments[0].payload.startswith(b"%PDF-1.4")
    inline = parse_email(fixture_bytes("36_related_inline_image.eml"))
    assert inline.attachments[0].inline and inline.attachments[0].filename == "box.png"
    forwarded = parse_email(fixture_bytes("31_forwarded_rfc822.eml"))
    assert forwarded.text == "Here is the receipt you asked for."
    assert forwarded.attachments[0].content_type == "message/rfc822"
    assert b"Receipt for 49.00" in forwarded.attachments[0].payload


def test_delivery_status_notifications_are_read() -> None:
    parsed = parse_email(
        fixture_bytes("15_bounce_dsn.eml", OUTBOUND_MESSAGE_ID="ours-1@calmdesk.localhost")
    )
    [report] = parsed.delivery_reports
    assert report.original_message_id == "ours-1@calmdesk.localhost"
    assert (report.recipient, report.action, report.status) == (
        "no.such.person@example.com",
        "failed",
        "5.1.1",
    )
    assert "User unknown" in report.diagnostic


def test_message_ids_and_the_stand_in_for_a_missing_one() -> None:
    assert message_ids("<a@b> <c@d>\n <e@f>") == ("a@b", "c@d", "e@f")
    assert message_ids("bare@id.example") == ("bare@id.example",)
    assert message_ids("no ids here") == ()
    raw = fixture_bytes("22_missing_message_id.eml")
    parsed = parse_email(raw)
    assert parsed.message_id is None and "MissingMessageId" in parsed.defects
    assert derived_message_id(raw) == derived_message_id(raw)
    assert derived_message_id(raw) != derived_message_id(raw + b"\n")


@pytest.mark.parametrize(
    ("payload", "charset", "expected"),
    [
        ("naïve café".encode("latin-1"), "iso-8859-1", "naïve café"),
        (
            "“quoted” €".encode("cp1252"),
            "iso-8859-1",
            "“quoted” €",
        ),  # a Latin-1 label on Windows text
        (b"plain", None, "plain"),
        ("日本".encode("euc_jp"), "euc-jp", "日本"),
    ],
)
def test_decode_bytes(payload: bytes, charset: str | None, expected: str) -> None:
    assert decode_bytes(payload, charset) == (expected, None)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("15_bounce_dsn.eml", EmailKind.BOUNCE),
        ("27_mailer_daemon_plain.eml", EmailKind.BOUNCE),
        ("28_x_failed_recipients.eml", EmailKind.BOUNCE),
        ("16_out_of_office.eml", EmailKind.AUTO_REPLY),
        ("17_x_autoreply.eml", EmailKind.AUTO_REPLY),
        ("18_precedence_bulk.eml", EmailKind.AUTO_REPLY),
        ("19_exchange_automatic_reply.eml", EmailKind.AUTO_REPLY),
        ("37_loop_own_address.eml", EmailKind.AUTO_REPLY),
        ("34_auto_submitted_no.eml", EmailKind.MESSAGE),
        ("01_plain_new.eml", EmailKind.MESSAGE),
        ("33_reply_from_colleague.eml", EmailKind.MESSAGE),
    ],
)
def test_machine_mail_is_recognised(name: str, kind: EmailKind) -> None:
    parsed = parse_email(fixture_bytes(name))
    assert classify(parsed, own_addresses=frozenset({"support@calmdesk.localhost"})).kind is kind


email_like = st.lists(
    st.sampled_from(
        [
            b"From: A <a@example.com>\n",
            b"Subject: =?utf-8?B?broken\n",
            b"Content-Type: multipart/mixed; boundary=x\n",
            b"Content-Type: text/plain; charset=nonsense\n",
            b"Content-Transfer-Encoding: base64\n",
            b"Message-ID: <<<>>\n",
            b"\n",
            b"--x\n",
            b"--x--\n",
            b"\xff\xfe\x00 raw bytes \x80\x93\n",
            b"<html><script>x</script><p>hi</p>\n",
        ]
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(st.one_of(email_like, st.binary(max_size=2000)))
def test_parsing_never_raises(raw: bytes) -> None:
    parsed = parse_email(raw)
    assert isinstance(parsed.text, str) and isinstance(parsed.defects, tuple)
    classify(parsed)
    # Whatever came in, what is stored from it fits any database's text columns.
    stored = [parsed.text, parsed.html, parsed.subject, parsed.from_name]
    stored += [value for _, value in parsed.headers]
    stored += [attachment.filename for attachment in parsed.attachments]
    for text in stored:
        assert "\x00" not in text
        text.encode("utf-8")


def test_nul_bytes_become_replacement_characters_and_are_flagged() -> None:
    raw = (
        b"From: Pat <pat@example.com>\r\nSubject: broken\x00subject\r\n"
        b"Message-ID: <nul@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"my order\x00\x00 never came\r\n"
    )
    parsed = parse_email(raw)
    assert parsed.subject == "broken\ufffdsubject"
    assert parsed.text.startswith("my order\ufffd\ufffd never came")
    assert any(defect.startswith("NotText") for defect in parsed.defects)

"""What the engine reads of a reply: the new words, not the quoted thread or signature."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calmdesk.channels.trimming import trim_reply

CASES = [
    pytest.param(
        "Still broken.\n\nOn Mon, 2 Jun 2025 at 10:13, Jane Doe <jane@example.com> wrote:\n> It broke.\n",
        "Still broken.",
        ("attribution",),
        id="gmail",
    ),
    pytest.param(
        "Still broken.\n\nOn Mon, 2 Jun 2025 at 10:13, Jane Doe <\njane@example.com> wrote:\n\n> It broke.\n",
        "Still broken.",
        ("attribution",),
        id="gmail-wrapped-attribution",
    ),
    pytest.param(
        "Nope.\r\n\r\nFrom: Acme Support <s@acme.example>\r\nSent: Thursday, June 5, 2025 9:02 AM\r\n"
        "To: Jane\r\nSubject: RE: desk\r\n\r\nWe are looking.\r\n",
        "Nope.",
        ("outlook_header",),
        id="outlook-from-sent",
    ),
    pytest.param(
        "Fine.\n________________________________\nFrom: Acme Support\nSent: today\nTo: me\n\nold",
        "Fine.",
        ("outlook_header",),
        id="outlook-rule",
    ),
    pytest.param(
        "See below.\n\n-----Original Message-----\nFrom: x\nhello",
        "See below.",
        ("original_message",),
        id="original-message",
    ),
    pytest.param(
        "Danke.\n\nVon: Support <s@acme.example>\nGesendet: Mittwoch, 18. Juni 2025 10:00\nAn: Zoë\nBetreff: Gerät\n\nalt",
        "Danke.",
        ("outlook_header",),
        id="outlook-german",
    ),
    pytest.param(
        "Merci.\n\nLe lun. 2 juin 2025 à 10:13, Support <s@acme.example> a écrit :\n> vieux\n",
        "Merci.",
        ("attribution",),
        id="french-attribution",
    ),
    pytest.param(
        "> Which card?\nThe Visa.\n> Cancelled?\nNo.\n",
        "The Visa.\nNo.",
        ("quoted_lines",),
        id="interleaved",
    ),
    pytest.param(
        "Please refund me.\n\n-- \nJane Doe\nHead of Ops\n",
        "Please refund me.",
        ("signature",),
        id="signature-delimiter",
    ),
    pytest.param(
        "It arrived.\n\nSent from my iPhone",
        "It arrived.",
        ("mobile_signature",),
        id="iphone",
    ),
    pytest.param(
        "Get it fixed.\n\nGet Outlook for Android\n",
        "Get it fixed.",
        ("mobile_signature",),
        id="outlook-mobile",
    ),
    pytest.param(
        "No quotes here.\nTwo lines.", "No quotes here.\nTwo lines.", (), id="nothing-to-trim"
    ),
    pytest.param(
        "I said on Monday that I wrote: twice already.",
        "I said on Monday that I wrote: twice already.",
        (),
        id="wrote-inside-a-sentence",
    ),
]


@pytest.mark.parametrize(("text", "expected", "removed"), CASES)
def test_trim_reply(text: str, expected: str, removed: tuple[str, ...]) -> None:
    result = trim_reply(text)
    assert result.text == expected
    assert result.removed == removed
    assert result.trimmed is bool(removed)


def test_a_reply_written_below_the_quote_keeps_the_new_text() -> None:
    text = "On Mon, Support <s@acme.example> wrote:\n> Is it fixed?\n\nNo, it is not fixed at all."
    result = trim_reply(text)
    assert result.text == "No, it is not fixed at all."
    assert result.removed == ("attribution", "quoted_lines")


def test_only_quoted_text_is_kept_rather_than_lost() -> None:
    text = "> everything is a quote\n> really"
    assert trim_reply(text).text == text


@given(st.text())
def test_never_raises_and_never_empties_real_text(text: str) -> None:
    result = trim_reply(text)
    if text.strip():
        assert result.text.strip()

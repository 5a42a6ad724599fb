from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calmdesk.training.anonymise import anonymise, anonymise_conversation

EMAIL_FULL_OF_DATA = """Dear Sarah,

My name is John Smith and this is the third time I am writing about order #458812
(your ref KT-55812, invoice INV-2024-00917). Call me on +44 7700 900123 or on 0113 496 0000,
or email john.smith@gmail.com or j.smith@work-mail.co.uk. I live at 12 Mill Street, Leeds LS1 4AB.
My card 4111 1111 1111 1111 was charged twice and my IBAN is GB82 WEST 1234 5698 7654 32.
I spoke to Mark yesterday and he said Mr Smith would get £64.99 back by Tuesday 14 May.
Tracking number: 1Z999AA10123456784. Account number 87654321.
See https://shop.example/orders/458812?user=jsmith

Regards,
John Smith
"""

PERSONAL = [
    "Sarah", "John", "Smith", "458812", "KT-55812", "INV-2024-00917", "7700 900123",
    "0113 496 0000", "john.smith@gmail.com", "j.smith@work-mail.co.uk", "12 Mill Street",
    "LS1 4AB", "4111 1111 1111 1111", "GB82 WEST", "Mark", "1Z999AA10123456784", "87654321",
    "jsmith",
]  # fmt: skip


def test_every_piece_of_personal_data_is_replaced():
    result = anonymise(EMAIL_FULL_OF_DATA)
    for original in PERSONAL:
        assert original not in result.text, original
    kinds = {replacement.kind for replacement in result.replacements}
    assert {
        "name",
        "email",
        "phone",
        "reference",
        "card",
        "iban",
        "postcode",
        "address",
        "url",
    } <= kinds


def test_ordinary_content_survives():
    result = anonymise(EMAIL_FULL_OF_DATA)
    for kept in ("£64.99", "Tuesday 14 May", "third time", "charged twice", "Leeds", "Regards,"):
        assert kept in result.text, kept


def test_same_person_gets_the_same_invented_name_everywhere():
    text = anonymise(EMAIL_FULL_OF_DATA).text
    assert text.count("Alex Carter") == 2  # the introduction and the signature
    assert "Mr Carter" in text  # "Mr Smith" keeps the title, swaps the family name
    assert re.search(r"Dear (\w+),", text).group(1) not in {"Alex", "Carter"}


def test_invented_values_are_reserved_examples():
    text = anonymise("Reach me at 07700 900123 or ana.lopez@example.org").text
    assert "01632 960001" in text  # Ofcom's drama range, never a real line
    assert "person1@example.com" in text


def test_known_names_from_the_records_are_replaced_even_without_a_cue():
    result = anonymise("priya said the sofa was late and PRIYA is right", names=["Priya Shah"])
    assert "priya" in result.text  # lower-case inside running text is left: could be a word
    assert "PRIYA" not in result.text
    result = anonymise("Priya Shah called about the sofa.", names=["Priya Shah"])
    assert "Priya" not in result.text and "Shah" not in result.text


def test_conversation_is_consistent_and_later_signatures_reach_earlier_messages():
    messages = [
        ("customer", "Hi, Anna is not answering my emails about order 99123."),
        ("agent", "Sorry about that. I'll look at order 99123 now."),
        ("customer", "Thanks.\n\nKind regards,\nAnna Kowalski"),
    ]
    out = anonymise_conversation(messages)
    assert all("Anna" not in text and "99123" not in text for _, text in out)
    first_name = out[2][1].split("\n")[-1].split()[0]
    assert first_name in out[0][1]
    assert "REF-1001" in out[0][1] and "REF-1001" in out[1][1]
    assert [role for role, _ in out] == ["customer", "agent", "customer"]


@pytest.mark.parametrize(
    "text",
    [
        "The parcel was due on 12/05/2024 at 10:30 and cost £1,299.00.",
        "I have 3 items and waited 45 minutes on hold.",
        "Hi there, thanks for the help team!",
        "Good morning, I need help with my bill please.",
        "Error code 404 on the page.",
    ],
)
def test_no_false_positives_on_everyday_text(text):
    assert anonymise(text).text == text


def test_short_numbers_are_not_phones_and_non_luhn_digits_are_not_cards():
    assert anonymise("Room 101, floor 3").text == "Room 101, floor 3"
    assert "[card number]" not in anonymise("serial 1234 5678 9012 3456").text


def test_non_text_is_refused_clearly():
    with pytest.raises(TypeError, match="takes text"):
        anonymise(None)  # type: ignore[arg-type]


_local = st.from_regex(r"[a-z]{2,8}\.[a-z]{2,8}", fullmatch=True)
_phone = st.from_regex(r"07[0-9]{3} [0-9]{6}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(before=st.text(max_size=60), local=_local, phone=_phone, after=st.text(max_size=60))
def test_emails_and_phones_never_survive_whatever_surrounds_them(before, local, phone, after):
    email = f"{local}@mail.example.net"
    text = f"{before} {email} and {phone} {after}"
    result = anonymise(text)
    assert email not in result.text
    assert phone not in result.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_handled(text):
    result = anonymise(text)
    assert isinstance(result.text, str)

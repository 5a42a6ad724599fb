"""Blocking rules read by structure: a mock epithet used as a form of address, contempt by
comparison, a sanction reached from the customer's act, another person next to their data;
and the look-alikes that must not block: the customer's own data, staff names, the insult
the agent was called refused in a boundary, a calm statement of what will not happen."""

from __future__ import annotations

import pytest

from calmdesk.engine.coaching import coach

ANGRY = "You lot are a disgrace. Sort it out today or I'm going to the papers!!"

BLOCKS: list[tuple[str, str, str | None]] = [
    ("insult", "Read the email again, smarty pants.", None),
    ("insult", "Right, big man, the charge stands.", None),
    ("insult", "What a petty little man.", None),
    ("insult", "He's got the attention span of a gnat, this one.", None),
    ("insult", "Where's your common sense? The fee is on page one.", None),
    ("insult", "Honestly, sod you.", None),
    ("insult", "Callers who shout at the driver are exactly why we film deliveries.", None),
    ("threat_back", "Refuse to pay and we'll pass your debt to collections.", None),
    ("threat_back", "Carry on and security will escort you out.", None),
    ("threat_back", "You'll end up on our do-not-serve list at this rate.", None),
    ("threat_back", "Settle it by Monday or it gets passed to our solicitors.", None),
    ("threat_back", "I'm going to be reporting you to the police for that message.", None),
    ("threat_back", "Your booking may well be withdrawn if that attitude continues.", None),
    ("threat_back", "Accounts like yours tend to get investigated, just saying.", None),
    ("insult", "Clearly maths was never one of your strengths.", None),
    ("insult", "You come across as the sort of person who blames everyone else.", None),
    (
        "other_customer_data",
        "Your neighbour, Mr Dalton, owes us £640 on the same meter.",
        "Why is my meter reading so high?",
    ),
    (
        "other_customer_data",
        "The other parcel was for Gemma Price at 31 Orchard Way.",
        "I got two parcels, one isn't mine.",
    ),
    (
        "other_customer_data",
        "The refund went to a Mrs K. Doyle, card ending 7710, by mistake.",
        "Where is my refund?",
    ),
    (
        "other_customer_data",
        "Your sister's membership number is 880213, she's paid up to June.",
        "Is my sister's gym membership still active?",
    ),
]

CALM: list[tuple[str, str, str | None]] = [
    (
        "insult",
        "Please stop calling me a clown; I'm trying to help and your refund is on its way.",
        "You clown, where's my money?",
    ),
    ("insult", "Useless? Fair enough, we were today, and I'm sorry.", "Useless company."),
    (
        "insult",
        "Most people find the setup takes ten minutes; I'll stay on the line with you.",
        None,
    ),
    (
        "threat_back",
        "Your account hasn't been sent to collections, and it won't be.",
        "Have you sent me to collections?",
    ),
    (
        "threat_back",
        "If the abuse carries on I'll have to end this chat, but I'd rather fix it.",
        None,
    ),
    (
        "threat_back",
        "I've reported the stolen card to the police for you; the reference is 4471.",
        "My card was stolen and used on your site.",
    ),
    (
        "other_customer_data",
        "Your order is going to 9 Beech Road and the card ending 3390 paid £18.",
        "Is my order going to 9 Beech Road?",
    ),
    (
        "other_customer_data",
        "Our technician, Amy Ross, will call you on 0161 496 0101 at noon.",
        "When is someone coming?",
    ),
    (
        "other_customer_data",
        "For privacy I can't share her number, but the courier will collect it.",
        "My neighbour has my parcel, what's her number?",
    ),
]


def _rules(draft: str, customer: str | None) -> set[str]:
    coaching = coach(draft, conversation=[("customer", customer or ANGRY)], tone_model=False)
    return {finding.rule for finding in coaching.findings}


@pytest.mark.parametrize(("rule", "draft", "customer"), BLOCKS)
def test_blocks(rule: str, draft: str, customer: str | None) -> None:
    assert rule in _rules(draft, customer), draft


@pytest.mark.parametrize(("rule", "draft", "customer"), CALM)
def test_does_not_block(rule: str, draft: str, customer: str | None) -> None:
    assert rule not in _rules(draft, customer), draft

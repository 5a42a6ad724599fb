"""Structural families of the coach-recall round, with fresh wording (none of it in a labelled
set or the rule examples), each next to look-alikes that must stay quiet:

- arguing as a flat counter-claim read against the customer's message (claims.py): an event
  they denied affirmed, one they asserted denied, "only one" against their count, the opposite
  of the state they complained of; the same sentence is an answer to a customer who asked;
- blame as advice after the fact ("next time ...", "always ...", "before contacting us");
- refusing ownership as a passive hand-off, advice to go elsewhere, or a narrow role;
- sarcasm as bare mock praise, and as thanks for kind words an upset customer never gave;
- mirroring as showing the customer the door or throwing their insult back;
- condescension about how simple it is or about having said it before.
"""

from __future__ import annotations

import pytest

from calmdesk.engine.coaching import coach
from calmdesk.engine.coaching.claims import customer_claims

CROSS = (
    "My new fridge was supposed to come on Saturday. It never turned up and I waited in all day."
)


def _rules(draft: str, customer: str | None = CROSS) -> set[str]:
    conversation = [("customer", customer)] if customer else []
    coaching = coach(draft, conversation=conversation, tone_model=False)
    return {finding.rule for finding in coaching.findings}


def test_customer_claims_read_denied_and_asserted_events() -> None:
    claims = customer_claims("the van never came and your driver was rude. you billed me twice.")
    assert "delivery" in claims.denied
    assert "charging" in claims.asserted
    assert claims.many
    assert "polite" in claims.complaints


def test_a_record_the_customer_reports_is_not_their_claim() -> None:
    claims = customer_claims("tracking says delivered but it is not here.")
    assert "delivery" in claims.denied
    assert "delivery" not in claims.asserted


# (draft, customer): a flat counter-claim against what the customer said.
COUNTER_CLAIMS: list[tuple[str, str]] = [
    ("The fridge was delivered on Saturday at 11:20.", CROSS),
    ("Our driver arrived at 11:20 and rang the bell.", CROSS),
    ("The letter was posted to you on the 3rd.", "I never got any letter about the price rise."),
    ("We answered within the hour.", "Nobody has answered my emails for a week."),
    ("Our engineer didn't cut the cable.", "Your engineer cut through my phone cable."),
    ("We only debited you once.", "You've debited my account three times for one bill!"),
    (
        "The bathroom had been deep cleaned that morning.",
        "The bathroom was filthy, mould everywhere.",
    ),
    (
        "The screen was cracked when you sent it in.",
        "I sent the tablet in flawless, perfect condition.",
    ),
    (
        "You didn't close the account until June.",
        "I closed my account in April, check your records.",
    ),
    ("We dispatched the jacket you selected.", "You've sent the wrong jacket for the second time."),
    ("Our staff would never have hung up on you.", "Your agent hung up on me halfway through."),
]


@pytest.mark.parametrize(("draft", "customer"), COUNTER_CLAIMS)
def test_a_flat_counter_claim_is_arguing(draft: str, customer: str) -> None:
    assert "arguing" in _rules(draft, customer), draft


# (draft, customer): the same facts given as an answer, a lead to check, or with the
# customer's side; or facts that do not touch what the customer said.
NOT_COUNTER_CLAIMS: list[tuple[str, str | None]] = [
    ("The fridge was delivered on Saturday at 11:20.", "Has my fridge been delivered yet?"),
    (
        "Our system says it was delivered at 11:20, which isn't what you saw, so I'm calling the "
        "driver now.",
        CROSS,
    ),
    (
        "The driver's log says he delivered it at 11:20. I'm sorry, I'm checking with him now.",
        CROSS,
    ),
    ("It will be delivered on Tuesday between 8 and 12, and I've added a £20 credit.", CROSS),
    ("I'll text you once it's delivered.", CROSS),
    ("You're right, I can see only one visit was booked.", "You booked the engineer twice!"),
    ("We don't send payment links by text, so please don't click it.", "I got a text from you."),
    ("The cleaner will come back at 2pm today.", "The bathroom was filthy."),
    ("The letter was posted to you on the 3rd.", None),
    ("You closed the account in April, so I've refunded May.", "I closed my account in April."),
    ("I'm sorry, I'll send the jacket you selected today.", "You've sent the wrong jacket."),
    ("Our records show the refund left on 2 May.", "When will my refund arrive?"),
]


@pytest.mark.parametrize(("draft", "customer"), NOT_COUNTER_CLAIMS)
def test_the_same_facts_as_an_answer_or_a_lead_are_not_arguing(
    draft: str, customer: str | None
) -> None:
    assert "arguing" not in _rules(draft, customer), draft


ANGRY = "Honestly, you people are clowns. Three calls and still nothing fixed."

FIRES: list[tuple[str, str]] = [
    ("blame", "Next time, do double-check the date before paying."),
    ("blame", "From now on please keep your receipts somewhere safe."),
    ("blame", "Do make sure you save the code whenever you change the router."),
    ("blame", "You should always read the small print."),
    ("blame", "It's always best to check stock before ordering."),
    ("blame", "Have a look at the FAQ before ringing us."),
    ("refusing_ownership", "Installations are organised by our fitting partner."),
    ("refusing_ownership", "Boilers are something the heating company takes care of."),
    ("refusing_ownership", "Your best bet is to phone the installer."),
    ("refusing_ownership", "The retailer is who you'll need to speak to."),
    ("refusing_ownership", "I only deal with invoices."),
    ("refusing_ownership", "We don't have any access to the installer's diary."),
    ("sarcasm", "Bravo, a fourth email."),
    ("sarcasm", "Thanks for the charming message."),
    ("sarcasm", "How delightful to hear from you again."),
    ("mirroring_hostility", "You're welcome to shop elsewhere."),
    ("mirroring_hostility", "We're not clowns, thank you very much."),
    ("mirroring_hostility", "Tone down the attitude."),
    ("condescension", "It's not that complicated."),
    ("condescension", "Like I said before, it's booked."),
    ("condescension", "Let me put it in plain English for you."),
    ("blame", "You most likely pressed the reset button."),
    ("blame", "You would have ticked the insurance box at checkout."),
    ("blame", "The fitter couldn't get in if nobody answered."),
    ("blame", "Try not pressing it so hard."),
    ("sarcasm", "Nice work. A fifth complaint."),
    ("policy_hiding", "It's simply the way things are."),
]


@pytest.mark.parametrize(("rule", "draft"), FIRES)
def test_family_fires(rule: str, draft: str) -> None:
    assert rule in _rules(draft, ANGRY), draft


QUIET: list[tuple[str, str, str | None]] = [
    (
        "blame",
        "Next time you call, you'll go straight to my team, I've flagged your account.",
        ANGRY,
    ),
    ("blame", "Please make sure someone can let the engineer in on Friday morning.", ANGRY),
    ("blame", "Before I contact the installer, could you confirm your postcode?", ANGRY),
    ("blame", "From now on you won't need to call: I've set up text updates.", ANGRY),
    (
        "refusing_ownership",
        "Installations are organised by our partner, and I've booked yours for Monday.",
        ANGRY,
    ),
    (
        "refusing_ownership",
        "I've asked the installer to call you by 5pm and I'll check they did.",
        ANGRY,
    ),
    ("refusing_ownership", "I only need your postcode to book it.", ANGRY),
    ("sarcasm", "Congratulations on the new baby! The cot is on its way.", ANGRY),
    ("sarcasm", "Well done for keeping the photos, it means I can approve the claim now.", ANGRY),
    (
        "sarcasm",
        "Thanks for the kind words, I'll pass them to Priya.",
        "Priya was brilliant, thank you so much!",
    ),
    ("sarcasm", "Thanks for the kind words about the driver; I'll tell him.", ANGRY),
    (
        "mirroring_hostility",
        "I'm sorry we've made you feel like that. I'll stay on this until it works.",
        ANGRY,
    ),
    ("condescension", "The fix is simple on our side, and I've done it.", ANGRY),
    ("condescension", "As I mentioned on the phone, I've booked Monday.", ANGRY),
    (
        "blame",
        "You probably noticed the new bill layout; the extra is roaming from the 3rd.",
        ANGRY,
    ),
    ("blame", "You must have waited ages, I'm so sorry.", ANGRY),
    ("blame", "Try not to worry, I've stopped the payment.", ANGRY),
    (
        "sarcasm",
        "Congratulations, your account is verified!",
        "Thanks, how do I verify my account?",
    ),
    ("sarcasm", "Good job you kept the emails, I've refunded it.", ANGRY),
    ("sarcasm", "Well done.", "I've finally fixed the router myself following your guide!"),
    (
        "policy_hiding",
        "That's how our billing works: we bill a month behind, so this covers May.",
        ANGRY,
    ),
]


@pytest.mark.parametrize(("rule", "draft", "customer"), QUIET)
def test_look_alike_stays_quiet(rule: str, draft: str, customer: str | None) -> None:
    assert rule not in _rules(draft, customer), draft

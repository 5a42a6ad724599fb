"""Families of wording for the weakest rules, written from how stressed agents write (no
apostrophes, typos, British and American spelling, passive-aggressive politeness), each with
calm look-alikes that must not fire: the family, not one string, is what a rule should catch.
"""

from __future__ import annotations

import pytest

from calmdesk.engine.coaching import coach

ANGRY = "This is a joke. Three weeks and NOTHING. Sort it out or I'm leaving a review!!"

# (rule, draft, customer message or None for an angry one)
FIRES: list[tuple[str, str, str | None]] = [
    # sarcasm: mock praise, mock thanks, mock titles, mock fear, mock farewells
    ("sarcasm", "Wow, lovely manners as always.", None),
    ("sarcasm", "great attitude, really helps", None),
    ("sarcasm", "thx for the insults, very kind", None),
    ("sarcasm", "Cheers for the colorful language.", None),
    ("sarcasm", "Someones a bit grumpy today.", None),
    ("sarcasm", "Got out of the wrong side of bed, did we?", None),
    ("sarcasm", "Certainly, your highness.", None),
    ("sarcasm", "Would you like a gold star for reading the letter?", None),
    ("sarcasm", "Shall we roll out the red carpet too?", None),
    ("sarcasm", "Oh, it's you again.", None),
    ("sarcasm", "Lovely to hear from you again so soon.", None),
    ("sarcasm", "As your the expert, you fix it.", None),
    ("sarcasm", "Seeing as you know best, I'll leave it with you.", None),
    ("sarcasm", "Quaking in my boots over here.", None),
    ("sarcasm", "We'll try to cope without you.", None),
    ("sarcasm", "Enjoy your new provider!", None),
    ("sarcasm", "I'm sure they'll be thrilled to have you.", None),
    ("sarcasm", "Breaking news: parcels are sometimes late.", None),
    ("sarcasm", "Well, there's a shock.", None),
    ("sarcasm", "How nice for you.", None),
    ("sarcasm", "Sorry we arent quick enough for you.", None),
    ("sarcasm", "Pardon me for having a lunch break.", None),
    ("sarcasm", "Naturally, it's all our fault.", None),
    ("sarcasm", "Cos obviously we have nothing else on.", None),
    ("sarcasm", "Nice to be appreciated.", None),
    ("sarcasm", "Polite as ever, I see.", None),
    ("sarcasm", "Why didnt we think of that", None),
    ("sarcasm", "Anything else you want to moan about?", None),
    ("sarcasm", "Is there anything else we've done wrong?", None),
    # insult: comparisons, typing habits, grammar policing, character
    ("insult", "Ive dealt with kids who are more reasonable than you.", None),
    ("insult", "I've met smarter houseplants.", None),
    ("insult", "Honestly my toddler has more patience than you", None),
    ("insult", "A five-year-old would be more sensible.", None),
    ("insult", "Anybody with a shred of common sense would have read it.", None),
    ("insult", "your an idiot", None),
    ("insult", "your being unreasonable and you know it", None),
    ("insult", "u r being ridiculous", None),
    ("insult", "You lot never read anything.", None),
    ("insult", "The likes of you are why we have rules.", None),
    ("insult", "The word you are looking for is 'cancelled'.", None),
    ("insult", "Thanks for the free grammar lesson.", None),
    ("insult", "Oh, get real.", None),
    ("insult", "How thick are you?", None),
    ("insult", "Are you genuinely this dense?", None),
    ("insult", "Ugh, some people.", None),
    ("insult", "Typical entitled behaviour.", None),
    ("insult", "What a piece of work.", None),
    ("insult", "You're unbelievable.", None),
    ("insult", "No wonder your husband left.", None),
    ("insult", "Maybe get out more.", None),
    ("insult", "You're behaving like a petulant teenager.", None),
    ("insult", "Do you usually talk like this?", None),
    ("insult", "Ur too old to understand apps.", None),
    ("insult", "We get enough time-wasters as it is.", None),
    # threat_back: consequences, warnings, veiled menace, police, employer, reviews
    ("threat_back", "Carry on like this and your account will be closed.", None),
    ("threat_back", "keep this up and im blocking you", None),
    ("threat_back", "Any more messages like that will result in your contract ending.", None),
    ("threat_back", "Repeated abusive calls may lead to us withdrawing the service.", None),
    ("threat_back", "Consider this your final warning.", None),
    ("threat_back", "There'll be serious consequences.", None),
    ("threat_back", "Actions have consequences.", None),
    ("threat_back", "You are skating on thin ice.", None),
    ("threat_back", "Be a real shame if something happened to your account.", None),
    ("threat_back", "Id be careful if I was you.", None),
    ("threat_back", "Choose your words very carefully.", None),
    ("threat_back", "I've sent this chat to the police.", None),
    ("threat_back", "Everything you write will be used against you.", None),
    ("threat_back", "Don't forget we hold your details.", None),
    ("threat_back", "We will be informing your employer.", None),
    ("threat_back", "One more comment like that and your order is cancelled.", None),
    ("threat_back", "Expect a visit from the bailiffs.", None),
    ("threat_back", "Your service may be cut off if you continue to swear at staff.", None),
    ("threat_back", "You could find yourself without a supply.", None),
    ("threat_back", "We can and will take this further.", None),
    # round two: mock agreement, stock disbelief, brush-offs, formal menace
    ("sarcasm", "yeah were all useless here", None),
    ("sarcasm", "Cheers for reminding us we're a joke.", None),
    ("sarcasm", "Whatever you say, boss.", None),
    ("sarcasm", "Where would we be without you?", None),
    ("sarcasm", "Thats one way of putting it.", None),
    ("sarcasm", "Got all that off your chest?", None),
    ("sarcasm", "Done shouting?", None),
    ("sarcasm", "Hoping you're satisfied now.", None),
    ("sarcasm", "Sure, when pigs fly.", None),
    ("insult", "Do you actually know what a modem does?", None),
    ("insult", "So childish.", None),
    ("insult", "Take a hike.", None),
    ("insult", "whats ur problem?", None),
    ("threat_back", "Think long and hard about what you post next.", None),
    ("threat_back", "We shall not hesitate to pursue this.", None),
    ("threat_back", "Disciplinary action may be taken.", None),
    ("threat_back", "You've made an enemy of this company.", None),
    # round three: passing it on, talking down, arguing from the evidence
    ("refusing_ownership", "Thats a bank matter, not ours.", None),
    ("refusing_ownership", "Honestly that's miles above my paygrade.", None),
    ("refusing_ownership", "Ring back and talk to someone else.", None),
    ("refusing_ownership", "Were not going to chase that for you.", None),
    ("refusing_ownership", "It's up to you to sort it with the airline.", None),
    ("condescension", "FYI the price was on the website.", None),
    ("condescension", "Please try and understand there are rules.", None),
    ("condescension", "Surely you can see that we can't do that.", None),
    ("condescension", "We have been through this already.", None),
    ("arguing", "Im telling you it was delivered.", None),
    ("arguing", "The footage says otherwise.", None),
    ("arguing", "The facts speak for themselves.", None),
    # round four
    ("blame", "It was switched off at your end.", None),
    ("blame", "We werent told you had changed banks.", None),
    ("sarcasm", "Uh huh, sure.", None),
    ("insult", "You're off your trolley.", None),
    ("threat_back", "Be careful how you talk to staff.", None),
]

# (rule, draft, customer message or None for an angry one): calm look-alikes.
QUIET: list[tuple[str, str, str | None]] = [
    ("sarcasm", "Thank you for your patience while I checked the order.", None),
    ("sarcasm", "Welcome back! Your new card is on its way.", None),
    ("sarcasm", "You know your home best, so pick the slot that suits you.", None),
    ("sarcasm", "Good luck with the exam, and the laptop will arrive tomorrow.", None),
    ("sarcasm", "I'm sorry, I didn't realise you'd already sent the photos; thank you.", None),
    ("sarcasm", "Thanks for the tip about the broken link, I've reported it.", None),
    ("sarcasm", "It's a pleasure to help, and the refund is on its way.", None),
    ("sarcasm", "You're one of our most loyal customers, so I've waived the fee.", None),
    ("sarcasm", "I've read your email and I'm sorry about the wait.", None),
    ("insult", "I've read your email, and I'm sorry.", None),
    ("insult", "Your level of service includes next-day repairs.", None),
    ("insult", "Is the child seat in the car when you collect it?", None),
    ("insult", "I'll keep you up to date every day until it's fixed.", None),
    ("insult", "Thanks to people like you we found the bug.", None),
    ("insult", "Your daughter's line has more data left, so I've shared it.", None),
    ("threat_back", "I'm going to end this chat now; a colleague will call you tomorrow.", None),
    (
        "threat_back",
        "As you asked, your account will be closed on Friday and the final bill emailed.",
        "Please close my account this week, I'm moving abroad.",
    ),
    (
        "threat_back",
        "Your supply will be switched off on the 12th, as you requested, and the meter read.",
        "Can you switch the supply off on the 12th when I move out?",
    ),
    ("threat_back", "If you go to the ombudsman, we'll share our full notes with them.", None),
    ("threat_back", "This is a final reminder that the engineer comes tomorrow at 9.", None),
    ("threat_back", "Your final bill will be sent by email.", None),
    ("threat_back", "We take every review seriously, and I'd like to put this right first.", None),
    ("threat_back", "If you feel unsafe, please call the police.", None),
    ("threat_back", "Nothing will go to collections while this is looked at.", None),
    ("threat_back", "We'll keep an eye on the line and call you on Friday.", None),
    ("threat_back", "I won't hesitate to call you if the engineer runs late.", None),
    ("sarcasm", "Are you done with the old router? We can recycle it.", None),
    ("sarcasm", "I hope you feel better soon.", None),
    ("insult", "Do you know what time suits you for the visit?", None),
    (
        "refusing_ownership",
        "I've done all I can today, and I'll ring the depot at 8 tomorrow.",
        None,
    ),
    ("condescension", "FYI, I've also refunded the delivery charge.", None),
    ("arguing", "The photos you sent show the damage clearly, so I've approved the claim.", None),
    ("blame", "Most of these faults are down to a software bug, which we've fixed.", None),
    ("threat_back", "Be careful when you open the box, the glass is heavy.", None),
]

# (draft, customer): another person's details, and the customer's own read back.
OTHERS = [
    ("Another customer, Mrs Patel at 12 Hill Rd, had the same issue.", "My boiler broke."),
    ("Sarah Jones at 4 Mill Ln had the same leak.", "The ceiling is leaking."),
    ("Dave Smith from 8 Church Lane had his fixed.", "When is my boiler fixed?"),
    ("We credited Mrs Ahmed £60 for the same outage.", "I want compensation."),
    ("Mr Barnes's balance is in arrears too.", "Why are you chasing me?"),
    ("Your ex-wife's new number is 07700 900456.", "Stop sending my bills to my ex."),
    ("She now lives at 9 Queen St.", "Where did the last tenant go?"),
    ("It was collected by J. Byrne at the depot.", "Who took my parcel?"),
    ("The former owner, Pat Quinn, still owes £300.", "Why am I getting debt letters?"),
    ("Just ring him on 07700 900789.", "The seller won't answer me."),
    ("Mr Lee at flat 4 reported it.", "Who complained about me?"),
    ("Mrs Cole downstairs has the same meter.", "Why is my meter wrong?"),
    ("Another customer in M1 4BT had this too.", "My heating is broken."),
    ("Another customer, Priya, was refunded.", "I want a refund."),
]
OWN = [
    ("Thanks Mrs Patel, I've updated 12 Hill Rd.", "Mrs Patel here, please use 12 Hill Rd."),
    ("I've sent it to 9 Queen St as you asked.", "Please send it to 9 Queen St."),
    (
        "Thank you, Sarah Jones, the engineer comes to 4 Mill Ln on Monday.",
        "Sarah Jones, 4 Mill Ln, my ceiling is leaking.",
    ),
    ("Please post it to Customer Services at 12 Station Road.", "Where do I send it?"),
    ("The engineer on Elm Street will reach you by noon.", "When is the engineer coming?"),
    ("Other customers on your road were affected too; the fix is due by 6 pm.", "Is it just me?"),
]


def _rules(draft: str, customer: str | None) -> set[str]:
    conversation = [("customer", customer or ANGRY)]
    return {finding.rule for finding in coach(draft, conversation=conversation).findings}


@pytest.mark.parametrize(("rule", "draft", "customer"), FIRES)
def test_family_fires(rule: str, draft: str, customer: str | None) -> None:
    assert rule in _rules(draft, customer), f"{rule} should fire on {draft!r}"


@pytest.mark.parametrize(("rule", "draft", "customer"), QUIET)
def test_look_alike_stays_quiet(rule: str, draft: str, customer: str | None) -> None:
    assert rule not in _rules(draft, customer), f"{rule} should not fire on {draft!r}"


@pytest.mark.parametrize(("draft", "customer"), OTHERS)
def test_another_persons_details_block(draft: str, customer: str) -> None:
    result = coach(draft, conversation=[("customer", customer)])
    assert any(finding.rule == "other_customer_data" for finding in result.blocking), draft


@pytest.mark.parametrize(("draft", "customer"), OWN)
def test_the_customers_own_details_do_not_block(draft: str, customer: str) -> None:
    result = coach(draft, conversation=[("customer", customer)])
    assert not any(finding.rule == "other_customer_data" for finding in result.findings), draft

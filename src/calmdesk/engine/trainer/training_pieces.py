"""The type-and-topic extension of `devsets/customer_training.jsonl` (issue 3), composed here.

The first 1,338 messages of the training set (t0001-t1338) were composed by a script that is
not in the repository (see the devsets README); they trained the tone head well but carry the
difficult-customer types the tone head never needed only thinly (no indecisive or know-it-all
message at all, a dozen chronic, demanding or impatient ones) and few cancellation, defect
or policy questions. This module composes the messages that follow them, from hand-written
pieces: calm situations by topic, and lines in the voice of each type. Run
`python -m calmdesk.engine.trainer.training_pieces` to rewrite them; a test checks that the
file's tail is exactly what `compose()` gives.

Folds: message `t{i}` belongs to fold `(i - 1) % 5`, as the rest of the set, and takes every
piece from that fold's fifth of each list (piece `j` belongs to fold `j % 5`), so the five
folds share no composed wording and the cross-validation measures wording it has not seen.
Labels follow the development set's conventions: indecisive messages carry `confusion`;
know-it-all, chronic and demanding ones `frustration` and `negative`; impatient ones
`urgency`, `frustration` and `negative`; confused ones `confusion`; situations are told calmly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from calmdesk.engine.types import SCORE_KEYS

FIRST_ID: Final = 1339
SEED: Final = 20261207
FOLDS: Final = 5

# Calm statements of a problem or question, by topic; five per fold where it matters most.
SITUATIONS: Final[dict[str, tuple[str, ...]]] = {
    "policy_misunderstanding": (
        "Your site says returns are free, but the courier wants me to pay for the label.",
        "I was told the warranty covers accidental damage, now the form says it doesn't.",
        "The letter says my excess is 250 but I thought it was 100 on this policy.",
        "I don't get why the price match doesn't apply, it's the same model at the other shop.",
        "The terms say 14 days cooling off, does that count from signing or from installation?",
        "Why is my claim refused as 'pre-existing' when the vet never mentioned it before?",
        "I thought the student discount carried over when I renewed, but it didn't.",
        "Your rules say one free change per booking, the app still charged me for the first.",
        "My tenancy says repairs are on the landlord, the agent says the boiler is on me.",
        "The gym says I can't freeze in my first six months, nobody told me that at signup.",
        "The council says bulky waste is collected free once a year, I got a bill for it.",
        "I booked the flexible fare precisely so I could move dates, now there is a fee.",
        "The loyalty points expired after a year, I understood they never expire.",
        "Why does the late return fee apply when the branch was closed on the day?",
        "I was under the impression the data roaming bundle covered Switzerland.",
    ),
    "technical": (
        "The app logs me out every time I switch to another app and come back.",
        "Since the last update the smart meter display just shows dashes.",
        "The sync between the desktop client and the web version stopped on Monday.",
        "The router's wifi light keeps blinking orange and the speed drops to nothing.",
        "Your booking page gives error 500 when I press confirm.",
        "Exports to CSV come out empty even though the report shows data.",
        "The card reader in the self-checkout doesn't recognise contactless anymore.",
        "My e-tickets won't load in the wallet app, it just spins.",
        "Notifications stopped arriving on my phone after the new version.",
        "The TV box restarts itself every evening around eight.",
        "Webhooks from your platform arrive twice, with the same event id.",
        "The online banking page freezes at the security question step.",
    ),
    "account": (
        "I need to change the email address on my account, I no longer use the old one.",
        "My account got locked after three wrong passwords and the reset link never comes.",
        "Can you add my partner as a second holder on the account?",
        "The two-step code goes to an old phone number I can't access.",
        "My username shows someone else's name after the merge of the accounts.",
        "I'd like to update my address on my profile, the form won't save.",
        "I have two accounts by mistake and want them joined into one.",
        "My late father's account is still active and I'd like to close it.",
        "I can't log in since you moved to the new customer portal.",
        "The account shows as business when I opened a personal one.",
    ),
    "defect": (
        "The washing machine you delivered leaks from the door seal.",
        "The zip on the new suitcase broke on the first trip.",
        "The headphones only play in the left ear after a week.",
        "The oven door glass cracked when I first used it.",
        "The replacement phone has a dead pixel line across the screen.",
        "The bike's gears slip every time I go up a hill, it's brand new.",
        "The tablet won't hold a charge for more than an hour.",
        "The sofa cushion seams split after a month of normal use.",
        "The kettle's switch doesn't turn off when the water boils.",
        "The printer smears ink on every page straight out of the box.",
    ),
    "cancellation": (
        "I'd like to cancel my broadband contract at the end of the month.",
        "Please cancel the magazine subscription, I'm moving abroad.",
        "How do I end my gym membership? The app has no button for it.",
        "I want to close my streaming plan before it renews.",
        "I'd like to cancel the home insurance policy, I sold the house.",
        "Please stop the meal kit deliveries for good.",
        "Can you cancel the phone contract for my mother, she's going into a care home.",
        "I want to cancel the software licence we have for the second office.",
        "Please terminate the parking permit, I no longer have the car.",
        "How much notice do I need to give to cancel the cleaning service?",
    ),
    "refund": (
        "I returned the jacket two weeks ago and the money isn't back yet.",
        "The flight was cancelled by the airline, so I'd like my money back.",
        "I paid for next-day delivery and it came four days later, I want that fee back.",
        "The concert was postponed and I can't make the new date, please refund.",
        "The hotel charged the deposit but we never stayed.",
    ),
    "billing": (
        "My latest bill is double the usual amount without any change in use.",
        "I was charged for a month after I had already paid in full.",
        "The direct debit came out twice this month.",
        "The invoice shows the wrong VAT number for our company.",
        "The bill lists a premium channel package I never ordered.",
    ),
    "delivery": (
        "The parcel shows delivered but nothing arrived at my door.",
        "The courier left the box in the rain by the bins.",
        "My order has been stuck at the depot for five days.",
        "The furniture delivery slot was missed and nobody called.",
        "The grocery order arrived with half the items substituted.",
    ),
    "other": (
        "Do you have a branch open on Sundays near the station?",
        "I'd like to give some feedback about the new store layout.",
        "Is there a way to request the brochure in large print?",
        "Who should I speak to about a partnership with our charity?",
        "Are your staff able to help with carrying bags to the car?",
    ),
}

# Lines in each type's voice, with the labels each carries.
TYPE_LINES: Final[dict[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "indecisive": tuple(
        (line, ("confusion",))
        for line in (
            "Or should I just leave it as it is? I really can't decide.",
            "Actually, maybe I'd rather swap it. Or keep it. What would you do?",
            "Sorry, I keep changing my mind about this, which option is better?",
            "I'm torn between the two options, can you tell me the pros and cons again?",
            "Hmm, maybe wait until next month? Or do it now? Not sure.",
            "On second thought, perhaps the other one. Or no, let me think.",
            "My wife says one thing, I say another, we can't agree what to pick.",
            "I said yes yesterday but now I'm not so sure, can I undo it? Or maybe not.",
            "Which would you recommend, honestly? I've gone back and forth all week.",
            "Can I decide later? I need more time to think about it, sorry.",
            "Maybe the cheaper plan. But the bigger one has more. I don't know.",
            "Let me check with my husband first, or actually, just do whatever is easier?",
            "i dunno, option a or b, both seem ok?? what do most people choose",
            "Please hold it for now, I might change it again tomorrow.",
            "Is it too late to change my answer? I'm still weighing it up.",
        )
    ),
    "know_it_all": tuple(
        (line, ("frustration", "negative"))
        for line in (
            "I work in IT, so please skip the script, I've already power-cycled everything.",
            "I know the regulations better than your agent does, I've read them twice.",
            "It's obviously a fault on your side, any engineer would see that in a minute.",
            "I've been an accountant for 20 years, your calculation is simply wrong.",
            "Your own terms, clause 7.2, say the opposite of what your colleague told me.",
            "Frankly I could write your software better myself, the bug is in your caching.",
            "There's no need to explain how it works, I know exactly how it works.",
            "As I already explained to your trainee, the problem is your DNS settings.",
            "I'm a solicitor, I think I understand a contract better than a call centre.",
            "Please pass this to someone who actually understands the product.",
            "I've done the diagnostics myself, the logs show it's your server.",
            "Any competent company would know this, I shouldn't have to teach you.",
            "I used to manage a depot like yours, so I know this is not how it's done.",
            "You are misreading your own policy, let me quote it for you.",
            "Don't tell me to clear my cache, I've been a developer since before your app existed.",
        )
    ),
    "chronic_complainer": tuple(
        (line, ("frustration", "negative", "repeat_contact"))
        for line in (
            "This is the fourth time I've written about this, and it's always something.",
            "Every single month there is a new problem with you people.",
            "Last time it was the bill, before that the delivery, now this.",
            "I've complained about this before, more than once, and nothing changes.",
            "As in my previous emails, and the ones before them, it still isn't right.",
            "Once again I have to write to you, it seems to be a monthly routine now.",
            "Yet another complaint, I'm keeping a list now and it's getting long.",
            "I raised the same issue in March, in May and again in July.",
            "Nothing ever works properly with your service, this is just the latest.",
            "Here we go again, same story as every time I've contacted you.",
            "You will remember me from my last complaints, it has happened again.",
            "Not for the first time, and I expect not the last, I'm writing to complain.",
            "again. same problem as last month and the month before",
            "I've lost count of how many times I've reported this to you.",
            "Every order, every call, there's always something wrong, and here's today's.",
        )
    ),
    "impatient": tuple(
        (line, ("frustration", "negative", "urgency"))
        for line in (
            "I need this sorted in the next hour, not tomorrow.",
            "How much longer? I've been waiting on this chat for ages.",
            "Hurry up please, I have to leave in ten minutes.",
            "I need an answer today, I can't wait for a callback next week.",
            "Just tell me quickly, yes or no, I don't have time for this.",
            "Please be fast, my flight boards at six.",
            "Any update?? It's been twenty minutes.",
            "I need it fixed before the meeting at 2pm.",
            "Can you speed this up? I've got customers waiting.",
            "asap pls, i cant keep waiting around for this",
            "I need the code right now, the shop is about to close.",
            "Still waiting. Hello? Is anyone there?",
            "Today, please, not in 5 to 7 working days.",
            "I don't have all day, can you just get on with it.",
            "This has to be done by tonight, the deadline is tomorrow morning.",
        )
    ),
    "demanding": (
        ("I expect a full refund by Friday, nothing less.", ("frustration", "negative", "refund")),
        ("I want this escalated to a senior manager immediately.", ("frustration", "negative")),
        ("I expect compensation for my time on top of the fix.", ("frustration", "negative")),
        (
            "Put me through to someone with authority, not another agent.",
            ("frustration", "negative"),
        ),
        ("I insist that you waive the fee and confirm it in writing.", ("frustration", "negative")),
        (
            "Refund the full amount to my card, I won't accept a voucher.",
            ("frustration", "negative", "refund"),
        ),
        ("I want a written apology and a goodwill payment.", ("frustration", "negative")),
        (
            "You will send a replacement by express delivery, at your cost.",
            ("frustration", "negative"),
        ),
        ("I require a named person to call me back today.", ("frustration", "negative", "urgency")),
        (
            "I demand that the charge is reversed and my account credited.",
            ("frustration", "negative"),
        ),
        (
            "As a customer of ten years I expect to be treated as a priority.",
            ("frustration", "negative"),
        ),
        (
            "I want a free upgrade for all this trouble, that's the least you can do.",
            ("frustration", "negative"),
        ),
        (
            "Fix it by the end of the week or I'll take it to the ombudsman.",
            ("frustration", "negative", "legal"),
        ),
        ("I won't accept anything less than a brand new unit.", ("frustration", "negative")),
        (
            "i want my money back AND the delivery fee, no excuses",
            ("frustration", "negative", "refund"),
        ),
    ),
    "confused": tuple(
        (line, ("confusion",))
        for line in (
            "I'm not sure what I'm supposed to do next, the instructions lost me.",
            "Sorry, I don't understand what this means at all.",
            "I'm confused, is this something I did wrong or something on your side?",
            "Can you explain it in simple words? I'm not good with this.",
            "what does that mean?? i dont get it",
            "I've read the email three times and I still don't know what it's asking.",
            "I'm lost, which button am I meant to press?",
            "I have no idea where to find that number, where would it be?",
            "Is that the same thing as what I asked, or something different? I'm confused.",
            "The form asks for a reference I don't think I have, what is it?",
        )
    ),
    "none": tuple(
        (line, ())
        for line in (
            "Could you let me know what happens next?",
            "Thanks in advance for looking into it.",
            "Let me know if you need anything from me.",
            "Please advise when you can.",
            "Appreciate your help with this.",
            "Happy to send photos if useful.",
            "No rush, whenever you get a chance.",
            "What are my options?",
            "I'd be grateful for a reply when possible.",
            "Can you check and let me know?",
        )
    ),
}

GREETINGS: Final = (
    "Hi,",
    "Hello,",
    "Dear team,",
    "Good morning,",
    "Hiya",
    "",
    "",
    "Hi there,",
    "",
    "Hello team,",
)
CLOSINGS: Final = (
    "Regards, A. Novak",
    "Thanks, Sam",
    "",
    "Kind regards,\nPriya Shah",
    "",
    "Best,\nJ. Okafor",
    "Sent from my iPhone",
    "",
    "Cheers, Tom",
    "",
)
# Messages per type; each takes a topic in turn from TOPIC_ORDER.
PER_TYPE: Final = {
    "indecisive": 60,
    "know_it_all": 60,
    "chronic_complainer": 50,
    "impatient": 50,
    "demanding": 50,
    "confused": 30,
    "none": 60,
}
TOPIC_ORDER: Final = (
    "policy_misunderstanding",
    "technical",
    "account",
    "defect",
    "cancellation",
    "policy_misunderstanding",
    "refund",
    "billing",
    "delivery",
    "technical",
    "account",
    "other",
)


def _of_fold(pieces: Sequence[str], fold: int) -> list[str]:
    return [piece for j, piece in enumerate(pieces) if j % FOLDS == fold]


def _chat(text: str, rng: random.Random) -> str:
    """Chat style: lower case, no apostrophes, some txt-speak."""
    text = text.lower().replace("'", "")
    if rng.random() < 0.4:
        text = text.replace(" you ", " u ").replace("please", "pls")
    return text


def compose() -> list[dict[str, object]]:
    """The extension's messages, in id order (deterministic)."""
    rng = random.Random(SEED)
    plan = [(kind, n) for kind, count in PER_TYPE.items() for n in range(count)]
    rng.shuffle(plan)
    rows: list[dict[str, object]] = []
    for offset, (kind, n) in enumerate(plan):
        number = FIRST_ID + offset
        fold = (number - 1) % FOLDS
        topic = TOPIC_ORDER[(n + offset) % len(TOPIC_ORDER)]
        situation = rng.choice(_of_fold(SITUATIONS[topic], fold))
        lines = [pair for j, pair in enumerate(TYPE_LINES[kind]) if j % FOLDS == fold]
        picked = rng.sample(lines, 2 if kind != "none" and rng.random() < 0.35 else 1)
        labels = dict.fromkeys(SCORE_KEYS, 0)
        for _line, names in picked:
            for name in names:
                labels[name] = 1
        if topic == "refund" and kind != "indecisive":
            labels["refund"] = 1
        if topic == "cancellation" and kind not in ("indecisive", "confused"):
            labels["churn"] = 1
        body = [situation] + [line for line, _names in picked]
        chat = rng.random() < 0.55
        if chat:
            text = _chat(" ".join(body), rng)
        else:
            greeting = _of_fold(GREETINGS, fold)[rng.randrange(2)]
            closing = _of_fold(CLOSINGS, fold)[rng.randrange(2)]
            parts = [greeting, " ".join(body), closing]
            text = "\n\n".join(p for p in parts if p)
        rows.append(
            {
                "id": f"t{number:04d}",
                "channel": "chat" if chat else "email",
                "text": text,
                "labels": labels,
                "customer_type": kind,
                "topic": topic,
            }
        )
    return rows


def rewrite(path: Path) -> int:
    """Replace the extension in the training set at `path` (the lines from FIRST_ID on)."""
    kept = [
        line
        for line in path.read_text("utf-8").splitlines()
        if int(json.loads(line)["id"].lstrip("t")) < FIRST_ID
    ]
    added = [json.dumps(row, ensure_ascii=False) for row in compose()]
    path.write_text("\n".join(kept + added) + "\n", encoding="utf-8")
    return len(added)


if __name__ == "__main__":  # pragma: no cover
    from importlib import resources

    target = Path(
        str(resources.files("calmdesk.engine").joinpath("devsets/customer_training.jsonl"))
    )
    print(f"{rewrite(target)} messages composed into {target}")

"""`assess`: read one customer message (and its conversation) into an `Assessment`.

The trained model gives emotion, offensive-language and intent probabilities; the rules in
`lexicons/` give evidence with spans. Risk labels with no training data (threat, legal,
public, repeat contact, urgency) come from the rules; the model's intents support refund and
churn; abuse is offensive language *aimed at someone* (Davidson's tweets are full of
profanity aimed at no one, which support teams tolerate).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from itertools import accumulate, repeat
from operator import attrgetter, itemgetter
from typing import Any, Final

from calmdesk.engine.model import LinearModel, default_model
from calmdesk.engine.rules import noisy_or, scan, strength_by_kind
from calmdesk.engine.text import (
    COMMON_ACRONYMS,
    MODEL_MAX_CHARS,
    ascii_safe,
    count_letters,
    folded_lower,
    has_capitals_run,
)
from calmdesk.engine.tone import (
    TOPIC_CLASSES,
    TYPE_CLASSES,
    ToneHead,
    active_tone_head,
    class_heads_on,
    decide,
    message_chunks,
)
from calmdesk.engine.tone import blend as blend_tone
from calmdesk.engine.types import (
    SCORE_KEYS,
    TOPICS,
    Assessment,
    CustomerType,
    Escalation,
    Flag,
    ReplyEffect,
    Trajectory,
    new_flag,
)
from calmdesk.engine.veiled import KNOWS, MENACE
from calmdesk.engine.veiled import recognise as recognise_veiled

EMOTION_LABELS: Final = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
]

_EMOTION_HEADS: Final = tuple(f"emo:{label}" for label in EMOTION_LABELS)
_emotion_values: Final = itemgetter(*_EMOTION_HEADS)

# A score at or above this counts as "present" for flags, types and escalation. Model heads
# are calibrated by the trainer so that their best-F1 threshold on held-out data sits here.
PRESENT: Final = 0.5
# Below this confusion score a message shows no sign of confusion (see `_customer_type`).
NO_CONFUSION: Final = 0.25
# Change in "heat" between two customer messages that counts as rising or falling.
TRAJECTORY_STEP: Final = 0.15

# How much one Bitext intent supports a score (the intent head is a softmax with a "none"
# class for text that is not a support request). Kept below PRESENT so the model can
# support a rule but not decide alone on text unlike its generated training utterances.
_REFUND_INTENTS: Final = {"get_refund": 1.0, "track_refund": 1.0, "check_refund_policy": 0.5}
_CHURN_INTENTS: Final = {"cancel_order": 0.4, "delete_account": 1.0, "check_cancellation_fee": 0.5}
_INTENT_SUPPORT: Final = 0.45
_INTENT_TOPICS: Final = {
    "get_refund": "refund",
    "track_refund": "refund",
    "check_refund_policy": "refund",
    "cancel_order": "cancellation",
    "check_cancellation_fee": "cancellation",
    "delete_account": "cancellation",
    "track_order": "delivery",
    "delivery_options": "delivery",
    "delivery_period": "delivery",
    "change_shipping_address": "delivery",
    "set_up_shipping_address": "delivery",
    "check_invoice": "billing",
    "get_invoice": "billing",
    "check_payment_methods": "billing",
    "payment_issue": "billing",
    "create_account": "account",
    "edit_account": "account",
    "recover_password": "account",
    "registration_problems": "account",
    "switch_account": "account",
}
# When two topics are equally supported, the one a supervisor acts on first wins: the topic
# classes are listed in that order (the class heads' columns follow it), "other" last.
_TOPIC_PRIORITY: Final = tuple(topic for topic in TOPIC_CLASSES if topic != "other")
_TOPIC_MINIMUM: Final = 0.4
# The head names above, spelled once rather than formatted on every message.
_REFUND_HEADS: Final = tuple((f"intent:{name}", w) for name, w in _REFUND_INTENTS.items())
_CHURN_HEADS: Final = tuple((f"intent:{name}", w) for name, w in _CHURN_INTENTS.items())
# Each topic (but "other") with the heads of its intents, in `_INTENT_TOPICS` order.
_TOPIC_INTENT_HEADS: Final = tuple(
    (topic, tuple(f"intent:{name}" for name, of in _INTENT_TOPICS.items() if of == topic))
    for topic in TOPICS
    if topic != "other"
)

# The same heads laid end to end, read with one itemgetter call, and each topic's slice.
_TOPIC_INTENTS: Final = tuple(head for _topic, heads in _TOPIC_INTENT_HEADS for head in heads)
_topic_intent_values: Final = itemgetter(*_TOPIC_INTENTS)
_TOPIC_INTENT_SLICES: Final = tuple(
    (topic, high - len(heads), high)
    for (topic, heads), high in zip(
        _TOPIC_INTENT_HEADS,
        accumulate(len(heads) for _t, heads in _TOPIC_INTENT_HEADS),
        strict=True,
    )
)

_SHOUTING: Final = re.compile(r"\b[A-Z][A-Z']{2,}(?:[\s,.!?;:-]+[A-Z][A-Z']{1,})+\b|\b[A-Z]{4,}\b")
_SHOUTING_ASCII: Final = re.compile(_SHOUTING.pattern, re.ASCII)
_PUNCTUATION_RUN: Final = re.compile(r"[!?]{2,}")
# A sentence of one or two words ("Four.", "Close the account. Done.", "NO. CANCEL IT"): the
# clipped style of someone past explaining. Greetings and sign-offs are not counted.
# Each word has two letters or more, so initials in a signature ("Mr H.", "R.") do not count.
_CLIPPED: Final = re.compile(
    r"(?:^|[.!?]\s+)([A-Za-z'][A-Za-z']+(?:\s+[A-Za-z'][A-Za-z']+)?)[.!?]", re.MULTILINE
)
# `_CLIPPED` as `_clipped` runs it: over the text behind a "\n", a line start (`^`) is the
# "\n" before it, so every match opens with one of the characters "\n.!?" and `re` skips to
# them in C (a pattern opening with `^|...` is tried at every position: about 60,000
# instructions a message under callgrind). A match that `_CLIPPED` finds at a line start
# opens one character earlier, at the "\n", which no earlier match can have taken (each ends
# at one of ".!?"), so both find the same matches, with the same groups, in the same order.
_CLIPPED_SCAN: Final = re.compile(
    r"[\n.!?](?:(?<=\n)|(?<!\n)\s+)([A-Za-z'][A-Za-z']+(?:\s+[A-Za-z'][A-Za-z']+)?)[.!?]"
)
_NOT_CLIPPED: Final = frozenset(
    {
        "thanks",
        "thank you",
        "many thanks",
        "cheers",
        "regards",
        "kind regards",
        "best",
        "best regards",
        "hi",
        "hello",
        "hey",
        "hi there",
        "ok",
        "okay",
        "sorry",
        "please",
        "yes",
        "no",
        "sure",
        "great",
        "perfect",
        "lovely",
        "thx",
        "ty",
        "mr",
        "mrs",
        "ms",
        "dr",
        "etc",
        "st",
        "no rush",
        "no worries",
        "all sorted",
        "sorted",
        "thanks again",
        "great job",
        "good job",
        "well done",
        "nice one",
        "love it",
        "too bad",
        "oh well",
        "lol",
        "lmao",
        "haha",
        "wow",
        "nice",
        "cool",
        "awesome",
        "amazing",
        "agreed",
        "exactly",
        "same",
        "this",
    }
)
# How much each kind of structural anger adds (see `_structural_anger`).
_HEAT_WEIGHT: Final = 0.9
_EMPHASIS_WEIGHT: Final = 0.35
_PUNCTUATION_WEIGHT: Final = 0.3
_CLIPPED_WEIGHT: Final = 0.3
_SARCASM_WEIGHT: Final = 0.3
_PRESSURE_WEIGHT: Final = 0.25
# Heat from this strength (two distinct heat rules, or one strong one) counts as two cues
# and as a complaint ("do you even read these?" complains on its own).
_STRONG_HEAT: Final = 0.7
# A threat to go public (a review, the papers, "screenshotting this") in a complaint that is
# addressed to someone or presses the company: how angry customers escalate.
_PUBLIC_WEIGHT: Final = 0.6
# Faces that carry the mood in chat: anger, and the eye-roll or upside-down smile of sarcasm
# ("thanks a bunch, really helpful 🙃").
_ANGRY_EMOJI: Final = ("\U0001f621", "\U0001f92c", "\U0001f620", "\U0001f47f", "\U0001f4a2")
_SARCASTIC_EMOJI: Final = ("\U0001f643", "\U0001f644", "\U0001f612")
# An angry face says what an anger word says ("furious", "livid"); an eye-roll is a
# structural cue like sarcasm.
_ANGRY_FACE: Final = 0.6
_SARCASTIC_FACE: Final = 0.3
# Pressing counts as a cue from this strength: one firm rule (a refund, leaving, a regulator,
# "third email"), not a weak one alone ("my money", "still waiting").
_PRESSING: Final = 0.7
# Only whether it occurs matters. "you guys", "you're" and "your staff" all contain a match
# of "you" or "your" at a word boundary, so the pattern need not list them.
_SECOND_PERSON: Final = re.compile(
    r"\b(?:you(?:r(?:e|s|self|selves)?)?|ur?|th(?:is|e) agent|the manager)\b",
    re.IGNORECASE,
)
# The same search for ASCII text, run on its lower-cased copy: each alternative opens with
# a letter (the word boundary before it checked just after), so `re` skips ahead to the
# letters y, u and t instead of trying the whole pattern at every position.
_SECOND_PERSON_LOWER: Final = re.compile(
    r"(?:y(?<!\wy)ou(?:r(?:e|s|self|selves)?)?|u(?<!\wu)r?|t(?<!\wt)h(?:is|e) agent"
    r"|t(?<!\wt)he manager)\b",
    re.ASCII,
)
_MAX_FLAGS_PER_CUE: Final = 6
# A thanks in the last characters of a message of at least this length is a sign-off.
_CLOSING_MIN_MESSAGE: Final = 120
_CLOSING_CHARS: Final = 40
# What a thanks that is meant goes on with: what it is for.
_THANKS_FOR: Final = re.compile(r"\s*(?:for|again|so much)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of the conversation."""

    role: str  # "customer" or "agent"
    text: str
    # The scores the message was given when it arrived, when the caller kept them: its
    # heat is then taken from them instead of reading the message again.
    scores: Mapping[str, float] | None = None


def assess(text: str, *, history: Iterable[Any] = ()) -> Assessment:
    """Read a customer message. Never raises on any text; see `Assessment` for the fields.

    `history` holds the earlier messages, oldest first: texts (the customer's), (role,
    text) pairs or mappings with "role" and "text". A mapping may also carry the "scores"
    that message was given when it arrived; its heat is then read from them rather than
    by assessing it again (a helpdesk keeps them; a thread is read on every new message).
    """
    text = _as_text(text)
    model = default_model()
    probs = model.predict(text) if model is not None and text.strip() else {}
    turns = _turns(history)
    earlier, threatened = _customer_heats(turns, model)
    return _assemble(text, probs, model, turns, earlier, after_threat=threatened)


def assess_many(texts: Iterable[str]) -> list[Assessment]:
    """Assess independent messages in one batch (the model runs once over all of them)."""
    prepared = [_as_text(text) for text in texts]
    model = default_model()
    if model is None:
        return [_assemble(text, {}, None, (), []) for text in prepared]
    non_empty = [i for i, text in enumerate(prepared) if text.strip()]
    predicted = model.predict_many([prepared[i] for i in non_empty])
    probs_by_row: dict[int, dict[str, float]] = dict(zip(non_empty, predicted, strict=True))
    return [
        _assemble(text, probs_by_row.get(i, {}), model, (), []) for i, text in enumerate(prepared)
    ]


def _as_text(text: object) -> str:
    if isinstance(text, str):
        value = text
    elif isinstance(text, bytes):
        value = text.decode("utf-8", errors="replace")
    elif text is None:
        value = ""
    else:
        value = str(text)
    if type(value) is str and value.isascii():
        return value  # no lone surrogates in ASCII; a str subclass still becomes a plain str
    # Lone surrogates (from a bad decode upstream) would break encoding the result later.
    return value.encode("utf-8", errors="replace").decode("utf-8")


def _turns(history: Iterable[Any]) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    if isinstance(history, str | bytes):
        history = [history]
    for item in history or ():
        role: object
        body: object
        scores: Mapping[str, float] | None = None
        if isinstance(item, str | bytes):
            role, body = "customer", item
        elif isinstance(item, Mapping):
            role, body = item.get("role", "customer"), item.get("text", "")
            scores = _heat_scores(item.get("scores"))
        elif isinstance(item, tuple | list) and len(item) == 2:
            role, body = item
        elif hasattr(item, "role") and hasattr(item, "text"):
            role, body = item.role, item.text
        else:
            continue
        normalised = str(role).strip().lower()
        turns.append(Turn("agent" if normalised == "agent" else "customer", _as_text(body), scores))
    return tuple(turns)


_HEAT_KEYS: Final = ("anger", "abuse", "threat", "frustration")


def _heat_scores(scores: object) -> Mapping[str, float] | None:
    """Stored scores fit to give a heat (every key, each a probability), else None."""
    if not isinstance(scores, Mapping):
        return None
    values = {key: scores.get(key) for key in _HEAT_KEYS}
    if all(
        isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0
        for value in values.values()
    ):
        return {key: float(value) for key, value in values.items()}  # type: ignore[arg-type]
    return None


def _heat(scores: Mapping[str, float]) -> float:
    """How heated a customer message is, for trajectories."""
    return noisy_or(
        (scores["anger"], 0.7 * scores["abuse"], scores["threat"], 0.4 * scores["frustration"])
    )


def _customer_heats(
    turns: Sequence[Turn], model: LinearModel | None
) -> tuple[list[tuple[int, float, bool]], bool]:
    """(turn index, heat, abusive) for each earlier customer message, and whether any of
    them threatened violence."""
    heats = []
    threatened = False
    for index, turn in enumerate(turns):
        if turn.role != "customer":
            continue
        scores = turn.scores
        if scores is None:
            body = turn.text
            probs = model.predict(body) if model is not None and body.strip() else {}
            scores = _assemble(body, probs, model, (), []).scores
        heats.append((index, _heat(scores), scores["abuse"] >= PRESENT))
        threatened = threatened or scores["threat"] >= PRESENT
    return heats, threatened


def _sigmoid_shift(probability: float, shift: float) -> float:
    probability = min(max(probability, 1e-6), 1 - 1e-6)
    logit = math.log(probability / (1 - probability)) + shift
    return 1.0 / (1.0 + math.exp(-logit))


def _intensity_flags(text: str, ascii: bool) -> tuple[list[Flag], float, int, int]:
    """Shouting and punctuation runs, the share of letters in capitals and how many shouted
    words or runs there were (one "FOUR." in a long message is emphasis, not a share)."""
    flags: list[Flag] = []
    caps_letters = 0
    shouted = 0
    shouting = (
        ()
        if not has_capitals_run(text)
        else (_SHOUTING_ASCII if ascii else _SHOUTING).finditer(text)
    )
    for match in shouting:
        words = match.group().split()
        if all(word.strip(",.!?;:-'") in COMMON_ACRONYMS for word in words):
            continue
        caps_letters += sum(1 for char in match.group() if char.isalpha())
        if text[match.start() - 1 : match.start()] != "[":
            shouted += 1  # not a "[NAME]"-style placeholder
        if len(flags) < _MAX_FLAGS_PER_CUE:
            flags.append(
                new_flag("shouting", match.start(), match.end(), match.group(), "cue.capitals", 0.5)
            )
    runs = 0
    # A run needs one of these four pairs; substring tests rule most messages out cheaply.
    has_run = "!!" in text or "??" in text or "!?" in text or "?!" in text
    for match in _PUNCTUATION_RUN.finditer(text) if has_run else ():
        runs += 1
        if runs <= _MAX_FLAGS_PER_CUE:
            flags.append(
                new_flag(
                    "punctuation", match.start(), match.end(), match.group(), "cue.punctuation", 0.4
                )
            )
    letters = count_letters(text[:MODEL_MAX_CHARS])
    caps_share = min(caps_letters / letters, 1.0) if letters >= 8 else 0.0
    return flags, caps_share, runs, shouted


def _clipped(text: str) -> bool:
    """Whether a sentence of one or two words, not a greeting or a sign-off, occurs."""
    if "." not in text and "!" not in text and "?" not in text:
        return False
    return any(
        match.group(1).lower() not in _NOT_CLIPPED
        for match in _CLIPPED_SCAN.finditer("\n" + text[:MODEL_MAX_CHARS])
    )


def _without_reported_anger(flags: list[Flag]) -> list[Flag]:
    """The flags without the anger words that fall inside a report of someone else's anger."""
    reports = [(flag.start, flag.end) for flag in flags if flag.kind == "reported_anger"]
    return [
        flag
        for flag in flags
        if flag.kind != "anger" or not any(low <= flag.start < high for low, high in reports)
    ]


def _faces(text: str) -> tuple[float, float]:
    """The anger and the sarcasm that faces in a (non-ASCII) text carry."""
    return (
        _ANGRY_FACE if any(map(text.__contains__, _ANGRY_EMOJI)) else 0.0,
        _SARCASTIC_FACE if any(map(text.__contains__, _SARCASTIC_EMOJI)) else 0.0,
    )


def _structural_anger(
    heat: float,
    shouted: int,
    runs: int,
    clipped: bool,
    sarcasm: float,
    pressure: float,
    emoji: float = 0.0,
    going_public: float = 0.0,
) -> float:
    """Anger carried by how a complaint is written rather than by anger words: counting the
    failures, rhetorical questions and sarcastic praise (`heat` rules), a shouted word,
    "??" or "!!", clipped one-word sentences, sarcasm, an eye-rolling face, next to
    pressing the company (leaving, a refund, a regulator, having asked before). One such cue
    is how firm, controlled complaints are written too: anger needs two of them, one not
    pressure alone. Two kinds of heat ("do you even read these?" and "four calls later") or
    one strong one ("unbelievable. just unbelievable"), and a threat to go public in a
    complaint ("screenshotting this for twitter"), count as two.
    """
    cues = (
        _HEAT_WEIGHT * heat,
        _EMPHASIS_WEIGHT if shouted else 0.0,
        _PUNCTUATION_WEIGHT if runs else 0.0,
        _CLIPPED_WEIGHT if clipped else 0.0,
        _SARCASM_WEIGHT * sarcasm,
        emoji,
        _PUBLIC_WEIGHT * going_public,
    )
    emotional = sum(1 for cue in cues if cue)
    if not emotional:
        return 0.0
    emotional += (heat >= _STRONG_HEAT) + (going_public > 0.0)
    pressing = pressure >= _PRESSING
    if emotional + pressing < 2:
        return 0.0
    return noisy_or((*cues, _PRESSURE_WEIGHT * pressure if pressing else 0.0))


def _assemble(
    text: str,
    probs: Mapping[str, float],
    model: LinearModel | None,
    turns: Sequence[Turn],
    earlier: list[tuple[int, float, bool]],
    *,
    after_threat: bool = False,
) -> Assessment:
    if not text.strip():
        return _empty(turns)
    flags, topic_cues = scan(text)
    ascii = ascii_safe(text)
    cue_flags, caps_share, punctuation_runs, shouted = _intensity_flags(text, ascii)
    rule = strength_by_kind(flags)
    if KNOWS in rule or MENACE in rule or (after_threat and "threat_soft" in rule):
        # Cues of a veiled threat: the threats their combinations make replace them.
        flags = recognise_veiled(text, flags, after_threat=after_threat)
        rule = strength_by_kind(flags)
    if "reported_anger" in rule:
        # "My wife was furious but I'm fine": someone else's anger, reported, is not the
        # writer's. Anger words inside such a report are dropped.
        flags = _without_reported_anger(flags)
        rule = strength_by_kind(flags)
    # This runs for every message: bound `get`s and locals instead of helper calls, and each
    # noisy-OR written out as its product of (1 - w), in the order `noisy_or` multiplies, so
    # every float is the one `noisy_or` gives.
    r = rule.get
    m = probs.get
    r_anger = r("anger", 0.0)
    r_abuse = r("abuse", 0.0)
    r_sarcasm = r("sarcasm", 0.0)
    r_impatience = r("impatience", 0.0)
    r_repeat = r("repeat_contact", 0.0)
    r_churn = r("churn", 0.0)
    r_refund = r("refund", 0.0)
    r_threat_soft = r("threat_soft", 0.0)
    r_heat = r("heat", 0.0)
    m_anger = m("emo:anger", 0.0)

    if ascii:
        aimed = _SECOND_PERSON_LOWER.search(folded_lower(text)) is not None
    else:
        aimed = _SECOND_PERSON.search(text) is not None
    shift = float(model.metadata.get("offensive_support_shift", 0.0)) if model is not None else 0.0
    offensive = _sigmoid_shift(m("dav:offensive", 0.0), shift) if probs else 0.0
    shouting = min(caps_share * 1.5, 1.0) if caps_share >= 0.2 else 0.0

    # A "soft" threat (turning up at the office, "you'll regret this") counts as a threat of
    # violence only as far as the message is angry.
    threat = 1.0 - (1.0 - r("threat", 0.0)) * (
        1.0 - r_threat_soft * max(r_anger, m_anger, shouting)
    )
    abuse = 1.0 - (1.0 - r_abuse) * (1.0 - 0.75 * offensive * (1.0 if aimed else 0.35))
    refund_intent = sum([m(head, 0.0) * w for head, w in _REFUND_HEADS])
    churn_intent = sum([m(head, 0.0) * w for head, w in _CHURN_HEADS])
    # Each score is the model's calibrated head joined (noisy-OR) with rule evidence. Model
    # heads enter each score once: a score built from another score's model part would
    # count the same evidence twice and drift above its calibrated threshold.
    r_profanity = r("profanity", 0.0)
    r_negative = r("negative", 0.0)
    r_frustration = r("frustration", 0.0)
    legal, public = r("legal", 0.0), r("public", 0.0)
    angry_face, sarcastic_face = (0.0, 0.0) if ascii else _faces(text)
    anger_words = 1.0 - (1.0 - r_anger) * (1.0 - 0.6 * r_abuse) * (1.0 - 0.6 * threat) * (
        1.0 - angry_face
    )
    intensity_cues = (1.0 - 0.3 * r_sarcasm) * (1.0 - 0.4 * shouting)
    anger_rules = 1.0 - (1.0 - anger_words) * (1.0 - 0.35 * r_profanity) * intensity_cues
    # Swearing is how many people talk ("fucking love that song", "damn, good point"): on
    # its own it says the mood is strong, not that it is anger. It adds to anger only next
    # to something that does (anger or abuse words, a threat) or to a complaint; it still
    # counts in full for frustration and negative, through `anger_rules`.
    complaint_cues = (
        anger_words
        or r_negative
        or r_frustration
        or r_repeat
        or r_impatience
        or r_refund
        or r_churn
        or legal
        or r_heat >= _STRONG_HEAT
    )
    # A platform named in passing ("is there a Facebook group?", "saw it on Instagram")
    # threatens nobody: on its own, the name counts as going public only in a complaint.
    public_threat = public and not all(
        flag.rule == _PLATFORM_RULE for flag in flags if flag.kind == "public"
    )
    if public and not (complaint_cues or r_sarcasm or r_profanity or shouting or public_threat):
        public = 0.0
        flags = [flag for flag in flags if flag.kind != "public"]
    anger_cues = (
        anger_rules if complaint_cues or public else 1.0 - (1.0 - anger_words) * intensity_cues
    )
    # Pressure alone is never anger (MODEL_CARD: "Tried and not kept"). Going public is left
    # out: "I'm telling EVERYONE" is as common about a film as about a refund, and a public
    # threat in a complaint is scored as `public` anyway.
    pressure = max(r_churn, legal, r_refund, r_repeat)
    # Only in a message to someone ("you", "your") or one pressing the company: Reddit's
    # capitals and "!!" about a match or a politician are excitement, not a complaint. Strong
    # heat ("what exactly am I paying you for?") is written to someone whoever it names.
    if (complaint_cues or public) and (aimed or pressure >= _PRESSING or r_heat >= _STRONG_HEAT):
        structural = _structural_anger(
            r_heat,
            shouted,
            punctuation_runs,
            _clipped(text),
            r_sarcasm,
            pressure,
            sarcastic_face,
            public if public_threat and public >= _PRESSING else 0.0,
        )
    else:
        structural = 0.0
    anger = 1.0 - (1.0 - m_anger) * (1.0 - anger_cues) * (1.0 - structural)
    frustration_rules = 1.0 - (
        (1.0 - r_frustration)
        * (1.0 - 0.5 * r_repeat)
        * (1.0 - 0.5 * r_impatience)
        * (1.0 - 0.4 * r_sarcasm)
        * (1.0 - 0.3 * r("chronic", 0.0))
        * (1.0 - 0.3 * anger_rules)
    )
    frustration = 1.0 - (1.0 - m("goe:frustration", 0.0)) * (1.0 - frustration_rules)
    churn = 1.0 - (1.0 - r_churn) * (1.0 - _INTENT_SUPPORT * churn_intent)
    r_refund_query = r("refund_query", 0.0)
    if r_refund_query and not (
        anger_words or r_impatience or r_repeat or r("demanding", 0.0) or legal or shouting
    ):
        # "How long does a refund take?", "refund received, thanks": asking about a refund
        # or reporting one is not wanting money back.
        r_refund *= 1.0 - r_refund_query
        refund_intent *= 1.0 - r_refund_query
    refund = 1.0 - (1.0 - r_refund) * (1.0 - _INTENT_SUPPORT * refund_intent)
    repeat_contact = r_repeat
    r_urgency = r("urgency", 0.0)
    if r_urgency or URGENCY_SOFT in rule:
        # Timing said in a polite question ("is there a deadline?", "can you come
        # tomorrow?") is not pressing, and a trip or an appointment close in time
        # (`urgency_soft`) is urgent only when it is stated, not asked about.
        r_urgency, flags = _urgency_read(
            text,
            flags,
            bool(anger_words or r_negative or r_frustration or r_repeat or r_impatience or legal),
        )
    urgency = 1.0 - ((1.0 - r_urgency) * (1.0 - 0.5 * r_impatience) * (1.0 - 0.15 * shouting))
    negative = 1.0 - (
        (1.0 - m("goe:negative", 0.0))
        * (1.0 - 0.7 * r_negative)
        * (1.0 - 0.8 * anger_rules)
        * (1.0 - 0.8 * frustration_rules)
        # The rule part of abuse only: its model part (the offensive head) would count the
        # model's reading of the text a second time, next to the negative head.
        * (1.0 - 0.8 * r_abuse)
        * (1.0 - threat)
        * (1.0 - 0.6 * r_churn)
        * (1.0 - 0.6 * legal)
        # Naming Twitter or the press is how people talk about them: a message that says
        # nothing else negative and addresses no one is not threatening to shame anybody.
        * (
            1.0
            - (
                0.6 * public
                if aimed or complaint_cues or r_sarcasm or r_profanity or shouting
                else 0.0
            )
        )
        * (1.0 - 0.4 * r_refund)
        * (1.0 - 0.4 * repeat_contact)
    )
    confusion = 1.0 - (
        (1.0 - 0.8 * m("emo:confusion", 0.0))
        * (1.0 - r("confusion", 0.0))
        * (1.0 - 0.3 * r("indecisive", 0.0))
    )
    gratitude = 1.0 - (1.0 - m("emo:gratitude", 0.0)) * (1.0 - r("gratitude", 0.0))
    # An eye-roll or upside-down smile next to a thanks is the sarcasm of "thanks a bunch 🙃".
    gratitude *= (1.0 - 0.9 * max(r_sarcasm, 0.85 if sarcastic_face else 0.0)) * (1.0 - 0.4 * anger)
    if _thanks_only_as_closing(text, flags):
        # "Thanks," under a complaint is a formula, not gratitude.
        gratitude *= 0.5

    # Clamped to [0, 1]: the same as min(max(value, 0.0), 1.0), NaN and -0.0 included.
    scores = _SCORE_TEMPLATE.copy()
    scores.update(
        zip(
            SCORE_KEYS,
            [
                0.0 if value < 0.0 else (1.0 if value > 1.0 else value)
                for value in (
                    anger,
                    frustration,
                    abuse,
                    threat,
                    legal,
                    public,
                    churn,
                    refund,
                    repeat_contact,
                    urgency,
                    negative,
                    confusion,
                    gratitude,
                )
            ],
            strict=True,
        )
    )

    # --- customer tone head (issue 3; `calmdesk.engine.tone`): raises anger, frustration,
    # threat and abuse where the rules and the models read too little; never lowers a score.
    tone_head = active_tone_head()
    class_logits: list[float] | None = None
    if tone_head is not None:
        # One pass over the chunk memo gives the tone log-odds and the class heads' too.
        tone_logits, class_logits = tone_head.read(
            message_chunks(text), tone_head.second_sum, classes=class_heads_on()
        )
        flags = flags + blend_tone(tone_head, text, scores, PRESENT, tone_logits)
        threat = scores["threat"]
    # --- end of the tone head
    intensity = _intensity(rule, scores, caps_share, punctuation_runs, text)
    if threat >= PRESENT and r_threat_soft:
        # In an angry message the soft threat *is* the evidence of the threat: say so.
        flags = [replace(f, kind="threat") if f.kind == "threat_soft" else f for f in flags]
    all_flags = tuple(sorted(flags + cue_flags, key=_FLAG_ORDER))
    # --- class heads (issue 3; `tone.decide`): the type and the topic, the head's log-odds
    # plus the rules' support (one sum over the same chunk memo as the tone head).
    heads = tone_head if class_logits is not None else None
    customer_type = _customer_type(
        scores,
        rule,
        all_flags,
        earlier,
        intensity,
        len(text),
        heads,
        class_logits,
        text,
    )
    topic = _topic(topic_cues, probs, heads, class_logits)
    trajectory, effect = _trajectory(scores, turns, earlier)
    escalate = _escalation(scores, rule, earlier, trajectory)
    emotions = _emotions(probs, scores)
    # Both dicts were built above for this result alone: wrapped, not copied.
    return Assessment._owning(
        scores, emotions, intensity, all_flags, customer_type, topic, trajectory, effect, escalate
    )


_FLAG_ORDER: Final = attrgetter("start", "end", "kind")
# Urgency cues (see `_urgency_read`): the soft kind, the weight from which a cue presses
# even in a question ("asap?", "urgent?"), and where a sentence ends.
URGENCY_SOFT: Final = "urgency_soft"
_FIRM_URGENCY: Final = 0.7
_SENTENCE_END: Final = re.compile(r"[.!?\n]")
_QUESTION_OPENING: Final = re.compile(
    r"\s*(?:(?:hi|hello|hey|ok|okay|so|and|also|just|sorry|quick question|one more thing)\b"
    r"[\s,:-]*)*(?:is|are|was|will|would|can|could|do|does|did|should|shall|may|might|has|"
    r"have|when|what|how|which|where|roughly|any|whats|what's|when's)\b",
    re.IGNORECASE,
)
# Dicts of every key, copied and filled for each result: a copy of a dict of the right size
# costs less than growing a new one key by key (as `dict(zip(...))` does).
_SCORE_TEMPLATE: Final = dict.fromkeys(SCORE_KEYS, 0.0)
_EMOTION_TEMPLATE: Final = dict.fromkeys(EMOTION_LABELS, 0.0)
_PLATFORM_RULE: Final = "public.review_site"


def _urgency_read(text: str, flags: list[Flag], complaint: bool) -> tuple[float, list[Flag]]:
    """The urgency the rules give, and the flags with the urgency cues that do not count
    dropped and the soft ones that do renamed `urgency`.

    A cue of weight under `_FIRM_URGENCY` ("today", "before Christmas", "deadline") in a
    question ("Will the refund be back before Christmas?", not "I've run out of insulin,
    where is it?") counts only in a message that complains: "Why is it still not fixed? I
    need it today?" presses. A soft cue (a flight, a move or an appointment close in time)
    counts only in a sentence that does not end with "?" ("My flight is on Sunday, can I
    add a bag?" asks), and in a message of thanks only next to a complaint.
    """
    thanks = any(flag.kind == "gratitude" for flag in flags)
    kept: list[Flag] = []
    weights: list[float] = []
    for flag in flags:
        kind = flag.kind
        if kind != "urgency" and kind != URGENCY_SOFT:
            kept.append(flag)
            continue
        if (
            flag.weight < _FIRM_URGENCY
            and not complaint
            and _in_question(text, flag.start, flag.end)
        ):
            continue
        if kind == URGENCY_SOFT:
            if (thanks and not complaint) or _asked(text, flag.end):
                continue
            flag = replace(flag, kind="urgency")
        kept.append(flag)
        weights.append(flag.weight)
    return (noisy_or(weights) if weights else 0.0), kept


def _asked(text: str, end: int) -> bool:
    """Whether the sentence around `end` ends with a question mark."""
    found = _SENTENCE_END.search(text, end)
    return found is not None and found.group() == "?"


def _in_question(text: str, start: int, end: int) -> bool:
    """Whether the words from `start` to `end` are asked: their sentence ends with a question
    mark and opens as a question does ("Is there a deadline...?", "hi, when will it come
    tomorrow?"), so "I've run out of insulin, where is it?" states its cue."""
    if not _asked(text, end):
        return False
    opening = max(text.rfind(mark, 0, start) for mark in ".!?\n") + 1
    return _QUESTION_OPENING.match(text, opening) is not None


def _thanks_only_as_closing(text: str, flags: Sequence[Flag]) -> bool:
    """True when every thanks in a longer message is a sign-off ("Thanks in advance", or on a
    line of its own in its last few words)."""
    thanks = [flag for flag in flags if flag.kind == "gratitude"]
    if not thanks or len(text) < _CLOSING_MIN_MESSAGE:
        return False
    closing_from = len(text.rstrip()) - _CLOSING_CHARS
    return all(
        flag.rule == "gratitude.in_advance"
        or (flag.start >= closing_from and _as_formula(text, flag.start, flag.end))
        for flag in thanks
    )


def _as_formula(text: str, start: int, end: int) -> bool:
    """A thanks said as a formula: on a line of its own ("Thanks,\nSam"), or bare ("...
    what is going on? Thanks"). One that names what it is for, in a line of running text
    ("... thanks again for the write-up!"), is meant."""
    if "\n" in text[max(start - 2, 0) : start] or "\n" in text[end : end + 3]:
        return True
    return _THANKS_FOR.match(text, end) is None


def _empty(turns: Sequence[Turn]) -> Assessment:
    return Assessment(
        scores=dict.fromkeys(SCORE_KEYS, 0.0),
        emotions=dict.fromkeys(EMOTION_LABELS, 0.0),
        intensity=0.0,
        flags=(),
        customer_type=CustomerType("none", 0.0),
        topic="other",
        trajectory=None,
        last_reply_effect=None,
        escalate=Escalation(False),
    )


def _emotions(probs: Mapping[str, float], scores: Mapping[str, float]) -> dict[str, float]:
    if probs:
        # Model probabilities are already in [0, 1] (sigmoids of finite logits). One C-level
        # itemgetter call reads all 28 when the model has every head (it always has).
        try:
            values = _emotion_values(probs)
        except KeyError:
            values = tuple(map(probs.get, _EMOTION_HEADS, repeat(0.0)))
        emotions = _EMOTION_TEMPLATE.copy()
        emotions.update(zip(EMOTION_LABELS, values, strict=True))
        return emotions
    # Without a trained model, the rule-driven scores stand in for their emotions.
    emotions = dict.fromkeys(EMOTION_LABELS, 0.0)
    emotions.update(
        anger=scores["anger"],
        annoyance=scores["frustration"],
        confusion=scores["confusion"],
        gratitude=scores["gratitude"],
    )
    emotions["neutral"] = 1.0 - max(scores["negative"], scores["gratitude"], scores["confusion"])
    return emotions


def _intensity(
    rule: Mapping[str, float],
    scores: Mapping[str, float],
    caps_share: float,
    punctuation_runs: int,
    text: str,
) -> float:
    """Wording, capitals, repeated punctuation, intensifiers and profanity, squashed to [0, 1]."""
    exclamations = min(text.count("!", 0, MODEL_MAX_CHARS), 6)
    evidence = (
        1.6 * caps_share
        + 0.25 * min(punctuation_runs, 3)
        + 0.06 * exclamations
        + 0.5 * rule.get("intensifier", 0.0)
        + 0.7 * rule.get("profanity", 0.0)
        + 0.8 * scores["anger"]
        + 0.6 * scores["abuse"]
        + 1.0 * scores["threat"]
        + 0.3 * scores["frustration"]
    )
    return 1.0 - math.exp(-evidence)


def _evidence(flags: Sequence[Flag], kinds: AbstractSet[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for flag in flags:
        if flag.kind in kinds and flag.evidence not in seen:
            seen.append(flag.evidence[:120])
        if len(seen) >= 4:
            break
    return tuple(seen)


_KNOW_IT_ALL_KINDS: Final = frozenset({"know_it_all", "know_it_all_cue", "correction"})
_CHRONIC_KINDS: Final = frozenset({"chronic", "chronic_cue", "repeat_contact"})
_IMPATIENT_KINDS: Final = frozenset({"impatience", "impatience_cue", "urgency"})
_DEMANDING_KINDS: Final = frozenset({"demanding", "demanding_cue", "human_request"})
_INDECISIVE_KINDS: Final = frozenset({"indecisive"})
_CONFUSED_KINDS: Final = frozenset({"confusion"})
_VENTER_KINDS: Final = frozenset(
    {"anger", "heat", "shouting", "punctuation", "profanity", "frustration"}
)


def _customer_type(
    scores: Mapping[str, float],
    rule: Mapping[str, float],
    flags: Sequence[Flag],
    earlier: list[tuple[int, float, bool]],
    intensity: float,
    length: int,
    heads: ToneHead | None = None,
    class_logits: list[float] | None = None,
    text: str = "",
) -> CustomerType:
    # Safety first: a threat or aimed abuse decides the type whatever else is present.
    if scores["threat"] >= PRESENT:
        _record(("type", None))
        return CustomerType("potentially_violent", scores["threat"], _evidence(flags, {"threat"}))
    if scores["abuse"] >= PRESENT:
        _record(("type", None))
        return CustomerType("abusive", scores["abuse"], _evidence(flags, {"abuse"}))
    if _supports_sink[0] is not None:
        # The trainer's record: the rules' supports as a function of the anger score (it
        # puts in the anger the tone head gives out of fold).
        _record(("type", partial(_type_supports_at, scores, rule, earlier, intensity, length)))
    candidates = _type_candidates(scores, rule, earlier, intensity, length, scores["anger"])
    weight = heads.type_rules_weight if heads is not None else None
    if class_logits is None or weight is None or heads is None:
        # The first of the highest, as max() picks.
        best, confidence, kinds = candidates[0]
        for candidate in candidates[1:]:
            if candidate[1] > confidence:
                best, confidence, kinds = candidate
        if confidence < PRESENT:
            return CustomerType("none", 1.0 - confidence)
        return CustomerType(best, confidence, _evidence(flags, kinds))
    # The labelling convention: an angry message is never of type "none".
    index, confidence = decide(
        class_logits[: len(TYPE_CLASSES)],
        _type_supports(candidates),
        weight,
        len(candidates) if scores["anger"] >= PRESENT else -1,
    )
    if index == len(candidates):
        return CustomerType("none", confidence)
    name, _support, kinds = candidates[index]
    if name == "angry_venter" and max(scores["anger"], scores["negative"]) < PRESENT:
        # The labelling convention: a calm customer is "none"; venting needs anger or at
        # least a negative message ("...three hours and still smiling, lovely man").
        return CustomerType("none", confidence)
    if name == "confused" and scores["anger"] >= PRESENT and scores["confusion"] < NO_CONFUSION:
        # An angry message with no sign of confusion is venting, whatever its question mark
        # ("is it really too much to ask for a bill that is correct").
        name, kinds = "angry_venter", frozenset({"anger"})
    evidence = _evidence(flags, kinds)
    if not evidence:
        # The head chose a type the rules hold no evidence of: the sentence it favours most.
        span = heads.best_class_sentence(text, index, range(len(TYPE_CLASSES)))
        if span is not None:
            evidence = (text[span[0] : span[1]][:120],)
    return CustomerType(name, confidence, evidence)


def _type_supports_at(
    scores: Mapping[str, float],
    rule: Mapping[str, float],
    earlier: list[tuple[int, float, bool]],
    intensity: float,
    length: int,
    anger: float,
) -> list[float]:
    return _type_supports(_type_candidates(scores, rule, earlier, intensity, length, anger))


def _type_candidates(
    scores: Mapping[str, float],
    rule: Mapping[str, float],
    earlier: list[tuple[int, float, bool]],
    intensity: float,
    length: int,
    anger: float,
) -> tuple[tuple[str, float, AbstractSet[str]], ...]:
    """Each type's support by the rules (0..1), in TYPE_CLASSES order (without "none")."""
    r = rule.get
    indecisive = r("indecisive", 0.0)
    # How each type is written (`*_cue` kinds: expertise cited, a history of failures, time
    # counted while waiting, ultimatums and named remedies) counts for the type alone, never
    # for a score, and less as the message is angrier: anger makes it an angry venter first.
    calm = 1.0 - anger
    know_it_all_cue = r("know_it_all_cue", 0.0)
    if know_it_all_cue:
        # Correcting the company's diagnosis or figures ("it's the sensor, not the battery")
        # is the know-it-all's only next to expertise cited or a lecture.
        know_it_all_cue = 1.0 - (1.0 - know_it_all_cue) * (1.0 - r("correction", 0.0))
    repeated_complaints = sum(1 for _, heat, _ in earlier if heat >= PRESENT)
    # Noisy-ORs written out, as in `_assemble`. Listed in the order ties go by.
    return (
        (
            "know_it_all",
            1.0 - (1.0 - r("know_it_all", 0.0)) * (1.0 - calm * know_it_all_cue),
            _KNOW_IT_ALL_KINDS,
        ),
        (
            "chronic_complainer",
            1.0
            - (1.0 - r("chronic", 0.0))
            * (1.0 - calm * r("chronic_cue", 0.0))
            * (1.0 - 0.3 * repeated_complaints),
            _CHRONIC_KINDS,
        ),
        (
            "impatient",
            1.0
            - (1.0 - r("impatience", 0.0))
            * (1.0 - calm * r("impatience_cue", 0.0))
            * (1.0 - 0.8 * scores["urgency"]),
            _IMPATIENT_KINDS,
        ),
        (
            "demanding",
            1.0
            - (1.0 - r("demanding", 0.0))
            * (1.0 - calm * r("demanding_cue", 0.0))
            * (1.0 - 0.6 * r("human_request", 0.0)),
            _DEMANDING_KINDS,
        ),
        ("indecisive", indecisive * (1.0 - anger), _INDECISIVE_KINDS),
        # Explicit indecision explains the uncertainty better than generic confusion does.
        (
            "confused",
            scores["confusion"] * (1.0 - 0.5 * anger) * (1.0 - 0.5 * indecisive),
            _CONFUSED_KINDS,
        ),
        # Any message whose anger is present is at least venting; length and intensity (the
        # venter writes at length, with feeling) only order it against the other types.
        (
            "angry_venter",
            min(
                1.0,
                anger * (0.9 + 0.05 * min(length / 600, 1.0) + 0.05 * intensity)
                + (0.1 * anger if anger >= PRESENT else 0.0),
            ),
            _VENTER_KINDS,
        ),
    )


def _type_supports(candidates: Sequence[tuple[str, float, AbstractSet[str]]]) -> list[float]:
    """The candidates' supports in TYPE_CLASSES order, "none" last: what the strongest
    candidate leaves (so "none" leads exactly when no candidate reaches PRESENT)."""
    supports = [c[1] for c in candidates]  # each within 0..1 by construction
    supports.append(1.0 - max(supports))
    return supports


def _topic(
    topic_cues: list[tuple[str, float]],
    probs: Mapping[str, float],
    heads: ToneHead | None = None,
    class_logits: list[float] | None = None,
) -> str:
    combined = _topic_support(topic_cues, probs)
    best = max(_TOPIC_PRIORITY, key=combined.__getitem__)
    weight = heads.topic_rules_weight if heads is not None else None
    if _supports_sink[0] is not None:
        _record(("topic", _topic_supports(combined, best)))
    if class_logits is None or weight is None:
        return best if combined[best] >= _TOPIC_MINIMUM else "other"
    index, _confidence = decide(
        class_logits[len(TYPE_CLASSES) :], _topic_supports(combined, best), weight
    )
    return TOPIC_CLASSES[index]


def _topic_supports(combined: Mapping[str, float], best: str) -> list[float]:
    """The topics' supports in TOPIC_CLASSES order, "other" last: twice the minimum less the
    best topic's (so "other" leads exactly when no topic reaches `_TOPIC_MINIMUM`)."""
    supports = [combined[topic] for topic in _TOPIC_PRIORITY]
    supports.append(max(0.0, 2 * _TOPIC_MINIMUM - combined[best]))
    return supports


def _topic_support(
    topic_cues: list[tuple[str, float]], probs: Mapping[str, float]
) -> dict[str, float]:
    """Each topic's (but "other") support by the rules' cues and the intent heads."""
    # Every cue counts (a cracked jug that "won't turn on" is twice a defect), up to a few.
    weights: dict[str, list[float]] = {}
    for topic, weight in topic_cues:
        found = weights.setdefault(topic, [])
        if len(found) < 4:
            found.append(weight)
    cues = {topic: noisy_or(found) for topic, found in weights.items()}
    cue = cues.get
    combined: dict[str, float] = {}
    intents: tuple[float, ...] = ()
    if probs:
        try:
            intents = _topic_intent_values(probs)
        except KeyError:
            intents = tuple(map(probs.get, _TOPIC_INTENTS, repeat(0.0)))
    for topic, low, high in _TOPIC_INTENT_SLICES:
        # Intent support in `_INTENT_TOPICS` order, from 0.0, in one C-level `sum` (from
        # Python 3.12 it compensates rounding: a difference of the order of 1e-16); 0.0
        # without a model, as the empty slice sums to.
        support = sum(intents[low:high], 0.0)
        combined[topic] = 1.0 - (1.0 - cue(topic, 0.0)) * (1.0 - 0.6 * support)
    return combined


# The trainer's record of the rules' supports (`recording_rule_supports`); None otherwise.
_supports_sink: list[list[tuple[str, Any]] | None] = [None]


def _record(entry: tuple[str, Any]) -> None:
    if _supports_sink[0] is not None:
        _supports_sink[0].append(entry)


@contextmanager
def recording_rule_supports() -> Iterator[list[tuple[str, Any]]]:
    """Record, for each message assessed, the rules' type supports (None where threat or
    abuse decided the type; otherwise a function of the anger score giving them) and topic
    supports, in TYPE_CLASSES and TOPIC_CLASSES order, as the class blend weighs them; for
    the trainer, which chooses the blend's weights out of fold."""
    before = _supports_sink[0]
    sink: list[tuple[str, Any]] = []
    _supports_sink[0] = sink
    try:
        yield sink
    finally:
        _supports_sink[0] = before


def _trajectory(
    scores: Mapping[str, float],
    turns: Sequence[Turn],
    earlier: list[tuple[int, float, bool]],
) -> tuple[Trajectory | None, ReplyEffect | None]:
    if not earlier:
        return None, None
    last_index, last_heat, _ = earlier[-1]
    delta = _heat(scores) - last_heat
    trajectory: Trajectory
    if delta > TRAJECTORY_STEP:
        trajectory = "rising"
    elif delta < -TRAJECTORY_STEP:
        trajectory = "falling"
    else:
        trajectory = "steady"
    agent_replied = any(turn.role == "agent" for turn in turns[last_index + 1 :])
    if not agent_replied:
        return trajectory, None
    effect: ReplyEffect = {"rising": "hurt", "falling": "helped", "steady": "neutral"}[trajectory]  # type: ignore[assignment]
    return trajectory, effect


def _escalation(
    scores: Mapping[str, float],
    rule: Mapping[str, float],
    earlier: list[tuple[int, float, bool]],
    trajectory: Trajectory | None,
) -> Escalation:
    reasons: list[str] = []
    upset = max(scores["anger"], scores["frustration"]) >= PRESENT
    if scores["threat"] >= PRESENT:
        reasons.append("threat")
    if scores["abuse"] >= PRESENT and any(abusive for _, _, abusive in earlier):
        reasons.append("abuse_repeated")
    if scores["legal"] >= PRESENT:
        reasons.append("legal")
    if scores["repeat_contact"] >= PRESENT and scores["negative"] >= PRESENT:
        reasons.append("repeat_contact")
    if scores["churn"] >= PRESENT and upset:
        reasons.append("churn_risk")
    if scores["public"] >= PRESENT and scores["negative"] >= PRESENT:
        reasons.append("public")
    if rule.get("human_request", 0.0) >= PRESENT:
        reasons.append("human_requested")
    if trajectory == "rising" and scores["anger"] >= 0.6:
        reasons.append("anger_rising")
    return Escalation(bool(reasons), tuple(reasons))

"""How the four quieter difficult-customer types are written (`lexicons/signals.tsv`, the
`*_cue` kinds and `correction`; `assess._type_candidates`): a history of failures for the
chronic complainer, time counted while waiting for the impatient, ultimatums and named
remedies for the demanding, expertise cited and lectures for the know-it-all. The messages
below were written for these tests, not taken from any labelled set."""

from __future__ import annotations

import importlib

import pytest

from calmdesk.engine import assess
from calmdesk.engine.tone import without_class_heads
from calmdesk.engine.types import Flag

_assess_module = importlib.import_module("calmdesk.engine.assess")

_CUE_KINDS = frozenset(
    {"chronic_cue", "impatience_cue", "demanding_cue", "know_it_all_cue", "correction"}
)

_TYPED = [
    (
        "I'm a chartered surveyor and that crack is subsidence, not shrinkage. Please send "
        "someone who can tell the difference.",
        "know_it_all",
    ),
    (
        "Morning, I sent my ID on Friday and still no update on the application. Can you chase it?",
        "impatient",
    ),
    (
        "Hello, the scanner app crashed again after Tuesday's update, same as it did in "
        "April and again in July. Please log this alongside my previous complaints. Ruth",
        "chronic_complainer",
    ),
    (
        "four deliveries in a row now the driver has left the box in the bin store",
        "chronic_complainer",
    ),
    ("Sitting in the queue for twenty minutes now. Can somebody pick this up?", "impatient"),
    (
        "The replacement kettle leaks as well. Send me a brand new one, not another repair, "
        "and I expect the postage refunded. Those are my terms.",
        "demanding",
    ),
    ("I don't want a voucher. Refund the fare.", "demanding"),
]

# Written for these tests and read right by the rules, but the type head's "none" outweighs
# them (here by 4.7 log-odds against a 0.75 support): the head learnt these voices from few
# lines. Listed so a change that mends them shows.
_HEAD_OVERRULES = [
    # Since stop 20 (the head retrained with the abuse messages) the head reads this one as
    # "confused" (a "why does ... take so long?" question), no longer "none".
    ("why does a simple name change take so long? I applied last Monday", "impatient", "confused"),
    # Since stop 19 (the head retrained with four more writers' messages), also this one. Two
    # more it overruled then (a chartered surveyor's correction, a chased ID check) it reads as
    # the cues do since stop 23: they are in _TYPED.
    (
        "Let me spell it out: a fixed-rate tariff cannot go up mid-term. Basic contract law.",
        "know_it_all",
        "none",
    ),
]

# Calm messages with a word the cues use: a profession named, a time asked about, a thing
# wanted. They stay ordinary.
_CALM = [
    "I'm a teacher, do you have an education discount on the annual plan?",
    "How long does standard delivery usually take to Aberdeen?",
    "Could you send me a copy of the March invoice please?",
    "Is the branch on Mill Lane open on Saturdays?",
]

# Angry messages with a cue: anger makes them angry venters first.
_ANGRY = [
    "I am absolutely FURIOUS. Once again my bill is wrong and nobody there gives a damn!!",
    "This is a disgrace, an utter disgrace. Waiting 50 minutes now and your bot hung up on me!!",
]


@pytest.mark.parametrize(("text", "expected"), _TYPED)
def test_the_way_a_type_is_written_gives_the_type(text: str, expected: str) -> None:
    result = assess(text)
    assert result.customer_type.type == expected
    # The rules' evidence of the type is the text of a cue.
    assert result.customer_type.evidence
    assert all(piece in text for piece in result.customer_type.evidence)


@pytest.mark.parametrize(("text", "expected", "head_reads"), _HEAD_OVERRULES)
def test_where_the_head_still_overrules_the_cues(text: str, expected: str, head_reads: str) -> None:
    with without_class_heads():
        assert assess(text).customer_type.type == expected
    assert assess(text).customer_type.type == head_reads


@pytest.mark.parametrize("text", _CALM)
def test_calm_look_alikes_stay_ordinary(text: str) -> None:
    assert assess(text).customer_type.type == "none"


@pytest.mark.parametrize("text", _ANGRY)
def test_a_cue_does_not_take_an_angry_message_from_the_venter(text: str) -> None:
    result = assess(text)
    assert result.scores["anger"] >= 0.5
    assert result.customer_type.type == "angry_venter"


def test_the_cues_fire_where_expected() -> None:
    kinds = {
        flag.kind
        for text in [t for t, _ in _TYPED] + [t for t, _, _ in _HEAD_OVERRULES]
        for flag in assess(text).flags
        if flag.kind in _CUE_KINDS
    }
    assert kinds == _CUE_KINDS


def test_type_cues_never_move_a_score(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [text for text, _ in _TYPED] + _CALM + _ANGRY
    with_cues = [assess(text) for text in texts]
    scan = _assess_module.scan

    def without_cues(text: str) -> tuple[list[Flag], list[tuple[str, float]]]:
        flags, topics = scan(text)
        return [flag for flag in flags if flag.kind not in _CUE_KINDS], topics

    monkeypatch.setattr(_assess_module, "scan", without_cues)
    for text, before in zip(texts, with_cues, strict=True):
        after = assess(text)
        assert after.scores == before.scores, text
        assert after.topic == before.topic, text


def test_a_correction_alone_is_not_a_know_it_all() -> None:
    # Correcting the company without citing expertise or lecturing is an ordinary complaint.
    result = assess("The meter reading on the bill is wrong, it says 4410 but it is 4140.")
    assert result.customer_type.type != "know_it_all"
    assert "correction" in {flag.kind for flag in result.flags}

"""Veiled threats read as combinations of cues (`calmdesk.engine.veiled`), both ways.

`data/veiled_threats.tsv` holds veiled threats in varied wording and their harmless
look-alikes (figures of speech, the same words with no menace). Every threat must read as
one and every look-alike must not, but for the few known cases listed here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from calmdesk.engine import assess
from calmdesk.engine.rules import signal_rules
from calmdesk.engine.tone import without_tone_head
from calmdesk.engine.veiled import CUE_KINDS

from .helpers import present

_FIXTURE = Path(__file__).parent / "data" / "veiled_threats.tsv"


def _rows(label: str) -> list[str]:
    lines = _FIXTURE.read_text("utf-8").splitlines()
    return [line[2:] for line in lines if line.startswith(label + "\t")]


THREATS = _rows("1")
HARMLESS = _rows("0")

# Threats the recogniser leaves alone on purpose: knowing a relative's workplace or family
# followed by a plain demand (no menace, a calm message). "what I'm capable of" (a firm menace
# the rules count only in an angry message) was here too; since stop 19 the tone head reads it
# as the threat it is in a frustrated message.
KNOWN_MISSES = frozenset(
    {
        "I know your wife works at the bakery on Church Street. Fix my account.",
        "Your technician has a lovely family, I saw them at the school gate. Fix the boiler.",
        "Your receptionist has pretty kids. Shame about the school run traffic.",
        # Two pieces of knowledge and no menace: knowledge cues do not pair with each other.
        "I've been watching your shop for a week. I know your routine.",
    }
)
# Look-alikes the customer tone head (a trained model, not the rules) lifts just over 0.5;
# the rules give them no threat evidence at all (checked below).
KNOWN_MODEL_FALSE_ALARMS = frozenset(
    {
        "I know what time you close, so I'll come in before five.",
        "My brothers and I will be waiting for the engineer at the house.",
    }
)


def test_the_fixture_is_large_and_varied_enough() -> None:
    assert len(THREATS) >= 60 and len(HARMLESS) >= 60
    assert len(set(THREATS)) == len(THREATS) and len(set(HARMLESS)) == len(HARMLESS)


@pytest.mark.parametrize("text", THREATS)
def test_veiled_threats_are_threats(text: str) -> None:
    result = assess(text)
    if text in KNOWN_MISSES:
        assert not present(result, "threat"), "a known miss is caught now: drop it from the list"
        return
    assert present(result, "threat"), text
    assert result.customer_type.type == "potentially_violent"
    threats = result.flags_of("threat")
    assert threats and all(text[f.start : f.end] == f.evidence for f in threats)


@pytest.mark.parametrize("text", HARMLESS)
def test_look_alikes_are_not_threats(text: str) -> None:
    result = assess(text)
    # No rule finds a threat in them, whatever the model reads (a soft threat, which counts
    # only in an angry message, may be noted).
    assert not [f for f in result.flags if f.kind == "threat" and f.rule[:6] != "model."]
    if text in KNOWN_MODEL_FALSE_ALARMS:
        return
    assert not present(result, "threat"), text
    assert result.scores["threat"] < 0.2, text


def test_a_combination_shows_both_halves_as_its_evidence() -> None:
    text = "Hello. I know where your depot is, and I'll be waiting when your drivers clock off."
    result = assess(text)
    (flag,) = [f for f in result.flags_of("threat") if "+" in f.rule]
    assert flag.rule == "veiled.knows_where+waiting"
    assert flag.evidence == "I know where your depot is, and I'll be waiting when"
    assert text[flag.start : flag.end] == flag.evidence
    assert "veiled_knows" not in {f.kind for f in result.flags}  # the cues are consumed
    assert result.escalate.recommended and "threat" in result.escalate.reasons


def test_each_half_alone_is_harmless() -> None:
    assert not present(assess("I know where your depot is."), "threat")
    assert not present(assess("I'll be waiting."), "threat")
    assert present(assess("I know where your depot is. I'll be waiting."), "threat")


def test_cues_far_apart_do_not_combine() -> None:
    text = (
        "I know where your depot is. My order has been stuck there since Monday. "
        "The tracking page says it is out for delivery, which it is not. I'll be waiting."
    )
    assert not present(assess(text), "threat")


def test_two_menaces_of_one_rule_do_not_combine() -> None:
    # Two cues of the same rule are one menace said twice, not two.
    assert not present(assess("See you soon. See you then."), "threat")


def test_a_firm_menace_alone_counts_only_in_an_angry_message() -> None:
    # The rules' own reading (the tone head reads the lone menace as a threat, see KNOWN_MISSES).
    with without_tone_head():
        calm = assess("Keep ignoring me and you'll find out what I'm capable of.")
    angry = assess(
        "I am FURIOUS. Three weeks and no refund!!! Keep ignoring me and you'll find out "
        "what I'm capable of."
    )
    assert not present(calm, "threat") and present(angry, "threat")


def test_cue_rules_are_well_formed() -> None:
    cues = [rule for rule in signal_rules() if rule.rule_id.startswith("veiled.")]
    assert len(cues) >= 30
    assert {rule.kind for rule in cues} <= CUE_KINDS | {"threat"}
    assert len({rule.rule_id for rule in cues}) == len(cues)


def test_a_megabyte_of_cues_is_read_in_bounded_time() -> None:
    piece = "I know where your office is and I'll be waiting. You'll regret it. See you then. "
    text = (piece * (1_000_000 // len(piece) + 1))[:1_000_000]
    assess(text[:2000])  # warm the memos
    started = time.perf_counter()
    result = assess(text)
    elapsed = time.perf_counter() - started
    assert present(result, "threat")
    assert len(result.flags_of("threat")) <= 3 + 12
    assert elapsed < 5.0


# Look-alikes the tone head (not the rules) reads as threats, in a message frustrated enough for
# it to lift a threat (`tone.THREAT_LIFT_HEAT`). Stop 19: 120 calm "I know ..." training messages
# did not move this one. Listed so it stays in sight and a change that mends it shows.
KNOWN_HEAD_FALSE_ALARMS = frozenset({"I know people in your town who use your service."})


def test_wording_the_cues_were_not_written_for() -> None:
    # A guard, not a goal: look-alikes stay harmless, and what was caught stays caught.
    lines = (_FIXTURE.parent / "veiled_threats_unseen.tsv").read_text("utf-8").splitlines()
    rows = [(line[0] == "1", line[2:]) for line in lines if line[:2] in ("0\t", "1\t")]
    caught = sum(present(assess(text), "threat") for threat, text in rows if threat)
    alarms = [text for threat, text in rows if not threat and present(assess(text), "threat")]
    assert set(alarms) <= KNOWN_HEAD_FALSE_ALARMS
    with without_tone_head():
        assert not [text for threat, text in rows if not threat and present(assess(text), "threat")]
    assert caught >= 2


# --- after a threat by the same customer -----------------------------------------------------

_THREATENED = [
    {"role": "customer", "text": "If the boiler isn't fixed today I will hurt your engineer."},
    {"role": "agent", "text": "I've passed this conversation to my supervisor."},
]


@pytest.mark.parametrize(
    "text",
    [
        "I meant every word. I'll be waiting outside your depot tonight.",
        "Your engineer will regret this.",
        "Tell him to watch himself on Friday.",
        "I know which van is his.",
    ],
)
def test_a_lone_cue_after_a_threat_is_a_threat(text: str) -> None:
    followed = assess(text, history=_THREATENED)
    assert followed.scores["threat"] >= 0.5
    threats = [flag for flag in followed.flags if flag.kind == "threat"]
    assert threats, followed.flags
    # One flag per place, pointing inside the message.
    spans = [(flag.start, flag.end) for flag in threats]
    assert len(set(spans)) == len(spans)
    assert all(0 <= start < end <= len(text) for start, end in spans)


def test_the_same_words_after_a_threat_by_stored_scores() -> None:
    # The helpdesk passes each earlier message's stored scores instead of its reading.
    stored = [
        {
            "role": "customer",
            "text": "(stored)",
            "scores": {"anger": 0.9, "abuse": 0.1, "threat": 0.95, "frustration": 0.5},
        }
    ]
    text = "I meant it. I will be waiting outside your office tonight."
    with without_tone_head():  # the rules alone need the earlier threat (the head reads one)
        assert assess(text).scores["threat"] < 0.5
    assert assess(text, history=stored).scores["threat"] >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "I'll be waiting for your reply.",
        "Thanks, see you then.",
        "Sorry I lost my temper. When is the engineer coming?",
        "Can I drop the form in at your office?",
    ],
)
def test_everyday_words_after_a_threat_stay_calm(text: str) -> None:
    assert assess(text, history=_THREATENED).scores["threat"] < 0.5


def test_without_an_earlier_threat_a_lone_cue_stays_calm() -> None:
    calm_history = [{"role": "customer", "text": "My boiler is broken again, please help."}]
    text = "I meant it. I will be waiting outside your office tonight."
    # The rules' reading; the tone head reads this as a threat on its own, which it is by the
    # labelling conventions (waiting outside the office at night, "I meant it").
    with without_tone_head():
        assert assess(text, history=calm_history).scores["threat"] < 0.5
    assert assess(text, history=calm_history).scores["threat"] >= 0.5

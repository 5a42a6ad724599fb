"""Threats, repeat contact and urgency in the ways people write them (risk-recall), both ways.

`data/risk_recall.tsv` holds messages in wording the rules were widened for: threats of harm
to staff and premises (first person + a harm or damage verb aimed at them, ultimatums whose
consequence is someone hurt, violence held up from the past, warnings passed to a person of
the company, ironic welcomes and menace tied to where staff are), contact that is being
repeated ("3x", "re-sending", "per my email of", "I spoke to someone on Friday who said"),
and urgency (a flight or a move close in time, "every hour this costs us", "prioritise",
"need it by then"); and their look-alikes: figures of speech, safety worries, a single
earlier order, polite timing questions, "I'll wait for your call".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calmdesk.engine import assess

from .helpers import present

_FIXTURE = Path(__file__).parent / "data" / "risk_recall.tsv"
_KEYS = {"T": "threat", "R": "repeat_contact", "U": "urgency"}


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in _FIXTURE.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            label, text = line.split("\t", 1)
            rows.append((label, text))
    return rows


POSITIVES = [(_KEYS[label], text) for label, text in _rows() if label != "N"]
NEGATIVES = [text for label, text in _rows() if label == "N"]


def test_the_fixture_holds_each_label_and_its_look_alikes() -> None:
    counts = {key: sum(1 for k, _ in POSITIVES if k == key) for key in _KEYS.values()}
    assert min(counts.values()) >= 20 and len(NEGATIVES) >= 50
    texts = [text for _, text in _rows()]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize(("key", "text"), POSITIVES)
def test_each_message_reads_as_its_label(key: str, text: str) -> None:
    result = assess(text)
    assert present(result, key), (key, result.scores[key])
    assert any(flag.kind == key for flag in result.flags)


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_carry_none_of_the_three(text: str) -> None:
    scores = assess(text).scores
    assert all(scores[key] < 0.5 for key in _KEYS.values()), scores


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        # A trip, a move or an appointment close in time is urgent when stated...
        ("My flight is on Sunday and my card is still blocked.", True),
        ("we're moving out tomorrow and nobody has read the meter", True),
        ("Interview is at 9 tomorrow and the laptop won't boot.", True),
        # ...not when asked about, nor in a message of thanks, nor when it is past.
        ("Can I add a bag to my flight on Sunday?", False),
        ("Our anniversary party is this Saturday, thank you so much for the lovely cake!", False),
        ("My train was cancelled on Monday and I'd like to claim delay repay.", False),
        # Timing asked about in a polite question is not pressing...
        ("Is there a deadline for sending the meter photo?", False),
        ("Hi, will the parcel come before Friday?", False),
        # ...unless the message complains, or the cue presses on its own.
        ("Why is it still broken? I need it fixed before Friday?", True),
        ("Could you do this asap?", True),
        # A statement next to a question is still a statement.
        ("I've run out of my inhaler, where is the delivery?", True),
    ],
)
def test_urgency_is_stated_not_asked(text: str, urgent: bool) -> None:
    result = assess(text)
    assert present(result, "urgency") is urgent, result.scores["urgency"]
    if urgent:
        assert any(flag.kind == "urgency" for flag in result.flags)
    assert not any(flag.kind == "urgency_soft" for flag in result.flags)


@pytest.mark.parametrize(
    "text",
    [
        "I'll shoot you an email with the photos later.",
        "my boss gonna kill me if this invoice isnt fixed by friday",
        "I'm going to smash this interview, just need the confirmation letter.",
        "I've got a hammer, so I can fix the hinge myself if you send the screws.",
        "Tell your engineer to be careful, the drive is icy.",
    ],
)
def test_figures_of_speech_and_worries_are_not_threats(text: str) -> None:
    assert assess(text).scores["threat"] < 0.5


def test_an_earlier_reply_said_to_someone_else_is_not_repeat_contact() -> None:
    assert (
        assess("As I said to my husband, your staff were wonderful.").scores["repeat_contact"] < 0.5
    )
    assert present(
        assess("As I said in my previous email, the serial is on the box."), "repeat_contact"
    )

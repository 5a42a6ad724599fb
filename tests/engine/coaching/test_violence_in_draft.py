"""An agent's draft that threatens violence is a blocking threat_back, read with the customer
reader's own threat rules (found in stop 17's walk-through: "I will smash your face in" passed)."""

from __future__ import annotations

import pytest

from calmdesk.engine import coach


@pytest.mark.parametrize(
    ("draft", "span"),
    [
        ("I will smash your face in if you call again.", "I will smash your face in"),
        ("Call me that again and I will break your legs.", "I will break your legs"),
    ],
)
def test_violence_in_a_draft_blocks_the_send(draft: str, span: str) -> None:
    coaching = coach(draft, tone_model=False)
    threats = [f for f in coaching.findings if f.rule == "threat_back"]
    assert threats and coaching.blocking
    # One finding for one threat, whose span covers the threat (two rules may read it).
    assert len(threats) == 1
    assert span in draft[threats[0].start : threats[0].end]
    assert threats[0].rewrites


@pytest.mark.parametrize(
    "draft",
    [
        "Thanks, I will be waiting for your call tomorrow.",
        "We will kill two birds with one stone and send both parts.",
        "Our engineer will be at your house at 9 to fix the boiler.",
        "I am sorry the driver threatened you, that is unacceptable and I have reported him.",
        "You said you would kill the driver; I have to pass that to my supervisor.",
        "I could murder a coffee too, honestly! Your refund is on its way.",
    ],
)
def test_harmless_or_quoted_words_of_violence_do_not(draft: str) -> None:
    coaching = coach(draft, tone_model=False)
    assert not [f for f in coaching.findings if f.rule == "threat_back"]
    assert not coaching.blocking

"""The coach's learned tone model: trained from a tiny set, packaged, blended with the rules."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmdesk.engine.coaching import coach
from calmdesk.engine.coaching.tone import (
    TONE_ARTEFACT,
    ToneModel,
    load_tone_model,
    packaged_tone_model,
)

pytest.importorskip("sklearn")

from calmdesk.engine.trainer.coach_tone import (
    Reply,
    as_tone_model,
    fit,
    predict,
    sentence_examples,
    train_tone_model,
)

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=ZoneInfo("Europe/London"))
CUSTOMER = "My order arrived broken and nobody answers the phone. Sort it out."
# Insults without insult words, in one family: "X could do it better than you".
INSULTING = [
    "A child could follow these steps better than you.",
    "My nephew could set this up better than you, frankly.",
    "A toddler would manage this form better than you.",
    "Even my grandmother could work the app better than you.",
    "A ten year old could read a tracking page better than you.",
    "Honestly my dog could fill this in better than you.",
]
CLEAN = [
    "I'm sorry the order arrived broken.",
    "I'll send a replacement today and call you by 5 pm.",
    "Could you send me a photo of the box?",
    "Thanks for letting us know so quickly.",
    "That must be really frustrating after waiting all week.",
    "I've refunded the delivery charge to your card.",
    "The courier will collect the broken one on Monday.",
    "I can see the phone queue was far too long yesterday.",
]
UNSEEN_PARAPHRASE = "Frankly a schoolboy could fill in a returns form better than you."


def tiny_replies() -> list[Reply]:
    replies = []
    for index, bad in enumerate(INSULTING):
        good = CLEAN[index % len(CLEAN)]
        other = CLEAN[(index + 3) % len(CLEAN)]
        replies.append(
            Reply(f"t:b{index}", f"g{index}", CUSTOMER, f"{good} {bad}", (("insult", bad),))
        )
        replies.append(Reply(f"t:g{index}", f"g{index}", CUSTOMER, f"{good} {other}", ()))
    return replies


def tiny_model(threshold: float = 0.5) -> ToneModel:
    fitted = fit(sentence_examples(tiny_replies()), 4.0)
    return as_tone_model(fitted, {"thresholds": {"insult": threshold}, "severity": {}})


def test_model_trained_on_a_tiny_set_flags_an_unseen_paraphrase() -> None:
    conversation = [("customer", CUSTOMER)]
    rules_only = coach(UNSEEN_PARAPHRASE, conversation=conversation, tone_model=False)
    assert not rules_only.findings_of("insult"), "the rules must not catch it already"

    model = tiny_model()
    result = coach(UNSEEN_PARAPHRASE, conversation=conversation, tone_model=model, now=NOW)
    (finding,) = result.findings_of("insult")
    assert finding.evidence == "model"
    assert finding.kind == "avoid"
    assert (finding.start, finding.end) == (0, len(UNSEEN_PARAPHRASE))
    assert finding.text == UNSEEN_PARAPHRASE
    # A blocking rule's model finding warns; blocking stays with the rules unless the
    # artefact says the model earned it.
    assert finding.severity == "high" and not result.blocking
    assert finding.explanation and finding.rewrites
    assert finding.to_dict()["evidence"] == "model"
    assert result.score < rules_only.score

    clean = "I'm sorry about the broken order; I'll send a new one today."
    assert not coach(clean, conversation=conversation, tone_model=model).findings_of("insult")


def test_model_finding_can_block_when_the_artefact_says_so() -> None:
    model = dataclasses.replace(tiny_model(), severity={"insult": "blocking"})
    result = coach(UNSEEN_PARAPHRASE, conversation=[("customer", CUSTOMER)], tone_model=model)
    assert [finding.rule for finding in result.blocking] == ["insult"]


def test_rules_keep_their_sentences_and_exceptions() -> None:
    # A sentence the rules flagged for insult gets no second, model finding.
    model = tiny_model(threshold=0.0)
    draft = "You idiot, a child could follow these steps better than you."
    insults = coach(draft, tone_model=model).findings_of("insult")
    assert insults and all(finding.evidence == "rule" for finding in insults)


def test_runtime_scores_match_the_trainer() -> None:
    fitted = fit(sentence_examples(tiny_replies()), 4.0)
    model = as_tone_model(fitted, {"thresholds": {}, "severity": {}})
    texts = [UNSEEN_PARAPHRASE, *CLEAN, "", "!!!", "İ ß … \u00a0"]
    np.testing.assert_allclose(model.probabilities(texts), predict(fitted, texts), atol=0.02)


def test_training_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    train_tone_model(first, replies=tiny_replies())
    train_tone_model(second, replies=tiny_replies())
    for suffix in (".npz", ".json"):
        one = (first / f"{TONE_ARTEFACT}{suffix}").read_bytes()
        assert one == (second / f"{TONE_ARTEFACT}{suffix}").read_bytes()
    model = load_tone_model(first)
    assert model is not None and not model.enabled  # off unless trained with enabled=True


def test_packaged_artefact_loads_and_is_used() -> None:
    model = packaged_tone_model()
    assert model is not None
    assert packaged_tone_model() is model  # loaded once
    folder = Path(__file__).resolve().parents[3] / "src/calmdesk/engine/models"
    assert (folder / f"{TONE_ARTEFACT}.npz").stat().st_size < 1_000_000
    assert {
        "insult", "sarcasm", "condescension", "blame", "arguing", "refusing_ownership"
    } <= set(model.rules)  # fmt: skip
    assert "coach_replies_holdout.jsonl" not in model.metadata["training_sets"]
    insult = model.rules.index("insult")
    scores = model.probabilities(
        [
            "You are clearly too thick to read a simple email.",
            "Thanks for your patience; I've booked the engineer for Thursday.",
        ]
    )
    assert scores[0, insult] > scores[1, insult]

    # Through the coach: with every threshold at zero, each sentence the rules left open
    # gets a model finding for every rule the artefact has.
    every = dataclasses.replace(model, thresholds=dict.fromkeys(model.rules, 0.0), enabled=True)
    draft = "Thanks for waiting. I've booked the engineer for Thursday."
    found = coach(draft, tone_model=every).findings
    assert {f.rule for f in found if f.evidence == "model"} >= {"sarcasm", "blame"}
    # As shipped, the coach uses the packaged model exactly when the artefact enables it.
    with_model = coach(UNSEEN_PARAPHRASE, tone_model=every)
    assert any(f.evidence == "model" for f in with_model.findings)
    expected = coach(UNSEEN_PARAPHRASE, tone_model=model if model.enabled else False)
    assert coach(UNSEEN_PARAPHRASE) == expected


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    draft=st.one_of(
        st.text(max_size=600),
        st.lists(
            st.sampled_from(["You", "could", "better", "than", "you.", "!!!", "'photos'", "\n"]),
            max_size=200,
        ).map(" ".join),
    )
)
def test_coach_with_the_model_never_raises(draft: str) -> None:
    model = packaged_tone_model()
    assert model is not None
    every = dataclasses.replace(model, thresholds=dict.fromkeys(model.rules, 0.0))
    result = coach(draft, tone_model=every, now=NOW)
    for finding in result.findings:
        assert draft[finding.start : finding.end] == finding.text


def test_cli_trains_the_coach_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from calmdesk.cli import main
    from calmdesk.engine.trainer import coach_tone

    monkeypatch.setattr(coach_tone, "read_replies", tiny_replies)
    assert main(["train", "--part", "coach", "--enable", "--out", str(tmp_path)]) == 0
    model = load_tone_model(tmp_path)
    assert model is not None and model.enabled
    assert model.metadata["training_replies"] == len(tiny_replies())
    assert not (tmp_path / "assess_model.npz").exists()

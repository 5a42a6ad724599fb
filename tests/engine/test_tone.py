"""The customer tone head (issue 3): loads, is deterministic, trains reproducibly, and lifts
anger where the rules miss while calm look-alikes stay calm."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from calmdesk.engine import assess
from calmdesk.engine.tone import (
    HEADS,
    ToneHead,
    default_tone_head,
    load_tone_head,
    message_chunks,
    sentence_bounds,
    without_tone_head,
)

pytest.importorskip("sklearn")

from calmdesk.engine.trainer import customer_tone
from calmdesk.engine.trainer.customer_tone import Message, train_tone_head

_ANGRY = [
    "Eleven days of excuses. I am done being polite with you.",
    "Do you have any idea how many hours I have wasted on your phone line?",
    "Your staff have treated me with contempt from the first call to the last.",
    "I have been patient for a month and I have run out of patience.",
    "What exactly am I paying you for, because it is not a working service.",
    "Unbelievable. Another week, another broken promise from you.",
    "I am seething at the way my complaint has been brushed aside.",
    "Shameful treatment. Nobody there cares and it shows.",
    "Four calls, three emails and not one person has fixed it. Disgraceful.",
    "I will not be fobbed off again by your scripted apologies.",
]
_CALM = [
    "Eleven days until my trip, could you confirm the booking please?",
    "Do you have any idea when the new phones will be in stock?",
    "Your staff were lovely on the first call, thank you.",
    "I have been with you for a month and wanted to ask about upgrades.",
    "What exactly is included in the premium plan?",
    "Another week of the trial left, how do I add a second user?",
    "I am looking at the complaint form, is it the right place for feedback?",
    "Nobody was home when the parcel came, can you redeliver on Friday?",
    "Four calls a month are included in my plan, is that right?",
    "I will be away next week, please send the letter by email.",
]


def _messages(copies: int = 3) -> list[Message]:
    rows: list[Message] = []
    number = 0
    for _ in range(copies):
        for angry, calm in zip(_ANGRY, _CALM, strict=True):
            for text, label in ((angry, 1), (calm, 0)):
                number += 1
                # Abuse on every other angry line: any labels do for the reader-vs-trainer check.
                labels = {"anger": label, "frustration": label, "threat": 0}
                labels["abuse"] = label * (number % 4 == 1)
                rows.append(Message("training", f"t{number:04d}", text, labels, (number - 1) % 5))
    return rows


@pytest.fixture(scope="module")
def small_head(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ToneHead]:
    out = tmp_path_factory.mktemp("tone")
    train_tone_head(out, messages=_messages())
    head = load_tone_head(out)
    assert head is not None
    return out, head


def test_packaged_head_loads_with_a_blend() -> None:
    head = default_tone_head()
    assert head is not None
    assert tuple(head.metadata["heads"]) == HEADS
    assert head.shifts  # at least one head is blended in
    assert set(head.shifts) <= set(HEADS)


def test_packaged_artefact_is_small() -> None:
    from importlib import resources

    base = resources.files("calmdesk.engine.models")
    assert base.joinpath("customer_tone.npz").stat().st_size < 1_000_000  # type: ignore[attr-defined]


def test_scores_do_not_depend_on_what_was_read_before() -> None:
    head = default_tone_head()
    assert head is not None
    text = "Nine days, two engineers, nobody turned up. I am done asking nicely."
    first = head.logits(message_chunks(text))
    for other in ("hello", "thanks so much for the help", "where is my parcel??"):
        head.logits(message_chunks(other))
    assert head.logits(message_chunks(text)) == first
    assert assess(text).to_dict() == assess(text).to_dict()


def test_reader_matches_the_trainer(small_head: tuple[Path, ToneHead]) -> None:
    _out, head = small_head
    texts = [*_ANGRY[:3], *_CALM[:3], "Totally new words here!! 😡", ""]
    fitted = customer_tone.fit(_messages(), float(head.metadata["C"]))
    expected = customer_tone.logits(fitted, texts)
    for text, row in zip(texts, expected, strict=True):
        got = head.logits(message_chunks(text))
        if not message_chunks(text):
            continue
        assert np.allclose(got, row, atol=1e-4), text


def test_small_head_separates_unseen_angry_lines_from_calm_look_alikes(
    small_head: tuple[Path, ToneHead],
) -> None:
    _out, head = small_head
    angry = [
        "I am done being polite, nobody has fixed it in eleven days.",
        "Disgraceful. Another broken promise and more excuses.",
    ]
    calm = [
        "Could you confirm my booking for next week please?",
        "Thank you, the staff were lovely when I called.",
    ]
    anger = [head.probabilities(text)[0] for text in angry]
    quiet = [head.probabilities(text)[0] for text in calm]
    assert min(anger) > max(quiet)


def test_training_is_byte_identical(tmp_path: Path, small_head: tuple[Path, ToneHead]) -> None:
    out, _head = small_head
    train_tone_head(tmp_path, messages=_messages())
    for name in ("customer_tone.npz", "customer_tone.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_head_raises_anger_where_the_rules_miss_and_flags_the_sentence() -> None:
    text = (
        "Hello,\n\nI have been courteous for a month and I am done being nice. "
        "Your staff have fobbed me off every single time.\n\nRegards,\nM. Dunn"
    )
    with without_tone_head():
        alone = assess(text)
    blended = assess(text)
    assert alone.scores["anger"] < 0.5 <= blended.scores["anger"]
    assert blended.customer_type.type in {"angry_venter", "chronic_complainer"}
    for flag in blended.flags:
        assert text[flag.start : flag.end] == flag.evidence
    tone_flags = [f for f in blended.flags if f.rule == "model.tone.anger"]
    assert len(tone_flags) == 1 and tone_flags[0].kind == "anger"
    sentences = {
        "I have been courteous for a month and I am done being nice.",
        "Your staff have fobbed me off every single time.",
    }
    assert tone_flags[0].evidence in sentences


@pytest.mark.parametrize(
    "text",
    [
        "Hi, my parcel arrived a day late but everything inside is fine. Thanks!",
        "My husband is furious about the bill, but I'd just like to understand the charges.",
        "My boss will kill me if the invoice isn't corrected by Friday, could you help?",
        "Could you tell me how long a refund normally takes to reach my card?",
        "The hold music is killing me haha, anyway, what are your opening hours?",
    ],
)
def test_calm_look_alikes_stay_calm(text: str) -> None:
    result = assess(text)
    assert result.scores["anger"] < 0.5
    assert result.scores["threat"] < 0.5
    assert result.scores["abuse"] < 0.5


def test_head_never_lowers_a_score() -> None:
    head = default_tone_head()
    assert head is not None
    for text in [*_ANGRY, *_CALM]:
        with without_tone_head():
            alone = assess(text).scores
        blended = assess(text).scores
        for name in HEADS:
            assert blended[name] >= alone[name] - 1e-12


def test_without_tone_head_restores_the_head() -> None:
    text = "I have been patient for a month and I have run out of patience."
    before = assess(text).scores["anger"]
    with without_tone_head():
        assess(text)
    assert math.isclose(assess(text).scores["anger"], before)


def test_sentence_bounds_cut_after_sentence_punctuation() -> None:
    chunks = ["i", "waited.", "you", "are", "clowns!", "why?", "ok", "then"]
    assert sentence_bounds(chunks) == [(0, 2), (2, 5), (5, 6), (6, 8)]
    assert sentence_bounds(["no", "punctuation", "at", "all"]) == []
    assert sentence_bounds(["just", "one", "sentence."]) == []
    assert sentence_bounds(["wait...", "what?!"]) == [(0, 1), (1, 2)]


def test_reader_reads_sentences_as_the_trainer_does(small_head: tuple[Path, ToneHead]) -> None:
    _out, head = small_head
    texts = [
        f"{_CALM[0]} {_ANGRY[1]} {_CALM[2]}",
        f"{_ANGRY[5]}\n\n{_CALM[4]}",
        "One. Two words! Brand new unseen words here?",
        _ANGRY[0],  # two sentences of its own
        _CALM[1],  # one sentence: no sentence reading
    ]
    fitted = customer_tone.fit(_messages(), float(head.metadata["C"]))
    expected = customer_tone.sentence_abuse_logits(fitted, texts)
    for text, want in zip(texts, expected, strict=True):
        chunks = message_chunks(text)
        bounds = sentence_bounds(chunks)
        if not bounds:
            assert want == -math.inf, text
            continue
        state, ids = head._ids(chunks)
        got = head._sentence_abuse(state, ids, bounds) + head.bias[3]
        assert math.isclose(got, want, abs_tol=1e-4), text


def test_one_insulting_sentence_in_a_long_message_reads_as_abuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read as a whole, the reasonable sentences around the insult dilute it (stop 20's known
    # limit); read sentence by sentence, the insult stands out (stop 21).
    text = (
        "The refund for order 55120 was promised within five days and it has been three "
        "weeks. Whoever runs your billing team must have the brains of a plank. I need the "
        "money back on my card by Friday."
    )
    head = default_tone_head()
    assert head is not None and head.abuse_sentence_offset is not None
    blended = assess(text)
    assert blended.scores["abuse"] >= 0.5
    flags = [f for f in blended.flags if f.rule == "model.tone.abuse"]
    assert len(flags) == 1 and "brains of a plank" in flags[0].evidence
    # The message reading alone (the cached offset switched off) leaves it under 0.5.
    monkeypatch.setitem(head.__dict__, "abuse_sentence_offset", None)
    assert assess(text).scores["abuse"] < 0.5


@pytest.mark.parametrize(
    "text",
    [
        # Contempt for the agent with no insult word the rules know (stop 20).
        "Are they paying you to be this slow or is it a talent?",
        "Do they hire you for your looks because it is not your brains",
    ],
)
def test_head_reads_abuse_the_rules_miss_and_points_at_it(text: str) -> None:
    with without_tone_head():
        alone = assess(text)
    blended = assess(text)
    assert alone.scores["abuse"] < 0.5 <= blended.scores["abuse"]
    assert blended.scores["negative"] >= blended.scores["abuse"]
    flags = [f for f in blended.flags if f.rule == "model.tone.abuse"]
    assert len(flags) == 1 and flags[0].kind == "abuse"
    assert text[flags[0].start : flags[0].end] == flags[0].evidence


@pytest.mark.parametrize(
    "text",
    [
        # Profanity at things, criticism of the service, someone else's abuse reported,
        # self-reproach, an apology for earlier rudeness: none is abuse of a person.
        "This bloody app logged me out again, third time today.",
        "What a shit week. The parcel is still not here and I need it for Friday.",
        "Your driver called me an idiot on my own doorstep.",
        "Sorry I was rude earlier, it was a long day. Can you check the refund?",
        "I feel like an idiot, I typed the wrong postcode.",
        "Your website is useless, I cannot find the cancel button anywhere.",
        "no offence to you, you have been great, but your company is a shambles",
    ],
)
def test_abuse_look_alikes_are_not_abuse(text: str) -> None:
    assert assess(text).scores["abuse"] < 0.5

"""`calmdesk train` on tiny generated data: it runs, and the same data gives the same bytes."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

from calmdesk.cli import main
from calmdesk.engine.model import load_model

EMOTIONS = [
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
]  # fmt: skip
ANGRY = ["this is outrageous", "I am so angry at this", "furious about the delay", "how dare they"]
THANKS = ["thank you so much", "thanks a lot friend", "really appreciate it", "many thanks"]
PLAIN = ["the train left at noon", "we had pasta", "it rained today", "the shop opens at nine"]


def _make_data(root: Path, seed: int = 1) -> None:
    rng = random.Random(seed)
    go = root / "goemotions"
    go.mkdir(parents=True)
    (go / "emotions.txt").write_text("\n".join(EMOTIONS) + "\n")
    for split, size in (("train", 120), ("dev", 40), ("test", 40)):
        lines = []
        for i in range(size):
            kind = rng.choice(["anger", "gratitude", "neutral"])
            pool = {"anger": ANGRY, "gratitude": THANKS, "neutral": PLAIN}[kind]
            label = EMOTIONS.index(kind)
            lines.append(f"{rng.choice(pool)} {rng.choice(PLAIN)}\t{label}\tid{split}{i}")
        (go / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    dav = root / "davidson-offensive"
    dav.mkdir()
    with (dav / "labeled_data.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"]
        )
        for i in range(200):
            cls = rng.choice([0, 1, 2])
            text = {
                0: "you vile scum",
                1: "RT @someone: damn this shit",
                2: "lovely weather &amp; tea",
            }[cls]
            writer.writerow([i, 3, 0, 0, 3, cls, f"{text} {rng.choice(PLAIN)}"])
    bit = root / "bitext-customer-support"
    bit.mkdir()
    with (bit / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open(
        "w", newline=""
    ) as handle:
        writer = csv.writer(handle)
        writer.writerow(["instruction", "intent", "category", "tags", "response"])
        intents = {
            "get_refund": "I want my money back for {}",
            "cancel_order": "please cancel the order of {}",
            "complaint": "I need to complain about {}",
        }
        for i in range(90):
            intent = list(intents)[i % 3]
            writer.writerow([intents[intent].format(rng.choice(PLAIN)), intent, "X", "BL", "ok"])


def test_training_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    _make_data(tmp_path / "data")
    first, second = tmp_path / "one", tmp_path / "two"
    assert main(["train", "--data", str(tmp_path / "data"), "--out", str(first)]) == 0
    assert main(["train", "--data", str(tmp_path / "data"), "--out", str(second)]) == 0
    for name in ("assess_model.npz", "assess_model.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()

    model = load_model(first)
    assert model is not None
    angry = model.predict("I am so angry, this is outrageous")
    calm = model.predict("the shop opens at nine")
    assert angry["emo:anger"] > calm["emo:anger"]
    intents = [value for key, value in angry.items() if key.startswith("intent:")]
    assert sum(intents) == pytest.approx(1.0, abs=1e-4)


def test_training_data_changes_change_the_artefact(tmp_path: Path) -> None:
    _make_data(tmp_path / "a", seed=1)
    _make_data(tmp_path / "b", seed=2)
    main(["train", "--data", str(tmp_path / "a"), "--out", str(tmp_path / "outa")])
    main(["train", "--data", str(tmp_path / "b"), "--out", str(tmp_path / "outb")])
    assert (tmp_path / "outa" / "assess_model.npz").read_bytes() != (
        tmp_path / "outb" / "assess_model.npz"
    ).read_bytes()


def test_missing_data_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "training data file not found" in capsys.readouterr().err


def test_evaluate_prints_engine_and_baseline_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _make_data(tmp_path / "data")
    assert main(["evaluate", "--part", "assess", "--data", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "GoEmotions test split" in out
    assert "Davidson held-out slice" in out
    assert "eng F1" in out and "base F1" in out
    for label in ("anger", "gratitude", "abuse"):
        assert label in out

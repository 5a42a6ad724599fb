"""Readers for the three public training sets, with the fixed splits training and evaluation share.

See `../shared/data/README.md` for the formats and caveats. Davidson has no official split:
a fixed-seed shuffle gives 80% training, 10% calibration and a 10% held-out test slice
that training never sees.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

DATA_ENV: Final = "CALMDESK_TRAINING_DATA"
DAVIDSON_SEED: Final = 20170515
NONE_SAMPLE_SEED: Final = 7
GOEMOTIONS_DIR: Final = "goemotions"
DAVIDSON_FILE: Final = "davidson-offensive/labeled_data.csv"
BITEXT_FILE: Final = "bitext-customer-support/Bitext_Sample_Customer_Support_Training_Dataset.csv"

# GoEmotions labels grouped into the engine's scores (sentiment_dict.json's negative group).
NEGATIVE_EMOTIONS: Final = frozenset(
    [
        "fear",
        "nervousness",
        "remorse",
        "embarrassment",
        "disappointment",
        "sadness",
        "grief",
        "disgust",
        "anger",
        "annoyance",
        "disapproval",
    ]
)
FRUSTRATION_EMOTIONS: Final = frozenset({"annoyance", "disappointment"})


class TrainingDataError(FileNotFoundError):
    """A training data file is missing or malformed; the message says which and where."""


@dataclass(frozen=True)
class Example:
    text: str
    labels: frozenset[str]


@dataclass(frozen=True)
class Corpus:
    emotion_labels: tuple[str, ...]
    goemotions_train: Sequence[Example]
    goemotions_dev: Sequence[Example]
    goemotions_test: Sequence[Example]
    davidson_train: Sequence[Example]  # labels: {"offensive"} or {"offensive", "hate"} or {}
    davidson_calibration: Sequence[Example]
    davidson_test: Sequence[Example]
    bitext: Sequence[Example]  # labels: {intent}
    fingerprints: dict[str, str]


def default_data_dir() -> Path:
    configured = os.environ.get(DATA_ENV)
    return Path(configured) if configured else Path.cwd() / ".." / "shared" / "data"


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _require(path: Path) -> Path:
    if not path.is_file():
        raise TrainingDataError(
            f"training data file not found: {path} (pass --data DIR or set {DATA_ENV})"
        )
    return path


def _read_goemotions(path: Path, labels: Sequence[str]) -> list[Example]:
    examples = []
    with _require(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 2:
                continue
            ids = [int(i) for i in row[1].split(",") if i.strip()]
            examples.append(Example(row[0], frozenset(labels[i] for i in ids)))
    return examples


_MENTION: Final = re.compile(r"@\w+:?")
_RETWEET: Final = re.compile(r"^\W*RT\b\W*", re.IGNORECASE)


def clean_tweet(text: str) -> str:
    """Strip the Twitter furniture (retweet prefix, @mentions, entities) the engine never sees."""
    text = html.unescape(html.unescape(text))
    text = _RETWEET.sub("", text)
    return _MENTION.sub(" ", text).strip()


def _read_davidson(path: Path) -> list[Example]:
    examples = []
    with _require(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            cls = int(row["class"])
            labels = {"offensive"} if cls in (0, 1) else set()
            if cls == 0:
                labels.add("hate")
            examples.append(Example(clean_tweet(row["tweet"]), frozenset(labels)))
    return examples


def _read_bitext(path: Path) -> list[Example]:
    with _require(path).open(encoding="utf-8", newline="") as handle:
        return [
            Example(row["instruction"], frozenset({row["intent"]}))
            for row in csv.DictReader(handle)
        ]


def load_corpus(data_dir: Path) -> Corpus:
    go_dir = data_dir / GOEMOTIONS_DIR
    labels = tuple(
        line.strip()
        for line in _require(go_dir / "emotions.txt").read_text("utf-8").splitlines()
        if line.strip()
    )
    davidson = _read_davidson(data_dir / DAVIDSON_FILE)
    order = np.random.default_rng(DAVIDSON_SEED).permutation(len(davidson))
    tenth = len(davidson) // 10
    test_ids, calibration_ids, train_ids = (
        order[:tenth],
        order[tenth : 2 * tenth],
        order[2 * tenth :],
    )
    files = [
        go_dir / "train.tsv",
        go_dir / "dev.tsv",
        go_dir / "test.tsv",
        data_dir / DAVIDSON_FILE,
        data_dir / BITEXT_FILE,
    ]
    return Corpus(
        emotion_labels=labels,
        goemotions_train=_read_goemotions(go_dir / "train.tsv", labels),
        goemotions_dev=_read_goemotions(go_dir / "dev.tsv", labels),
        goemotions_test=_read_goemotions(go_dir / "test.tsv", labels),
        davidson_train=[davidson[i] for i in sorted(train_ids)],
        davidson_calibration=[davidson[i] for i in sorted(calibration_ids)],
        davidson_test=[davidson[i] for i in sorted(test_ids)],
        bitext=_read_bitext(data_dir / BITEXT_FILE),
        fingerprints={str(path.relative_to(data_dir)): _fingerprint(path) for path in files},
    )


def load_devset(path: Path) -> list[dict[str, object]]:
    """The hand-written customer messages (one JSON object a line); skips blank lines."""
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows

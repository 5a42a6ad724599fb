"""The coach's learned tone model: one logistic regression per tone rule over a reply sentence.

Hand-written phrasing families miss wording their writers did not think of (issue 4). This
model reads each sentence of a draft and gives, per tone rule (insult, sarcasm, blame...), the
probability that the sentence commits it. The coach adds a finding for a sentence the rules
did not flag when the probability reaches the rule's threshold, which the trainer chose by
cross-validation for high precision. Run time is numpy only; `calmdesk train --part coach`
writes the artefact (`models/coach_tone.npz` + `.json`, see `models/COACH_TONE_CARD.md`).

Features are the assess model's (`calmdesk.engine.text`): binary word unigrams, bigrams and
5-letter stems, and character 3-5-grams inside words, each block L2-normalised, plus its dense
cues; and two tone cues of our own (the sentence's first word, a word in scare quotes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt

from calmdesk.engine.artefacts import read_artefact
from calmdesk.engine.coaching.types import SEVERITIES, Severity
from calmdesk.engine.text import DENSE_FEATURE_NAMES, analyse_tokens, char_grams

TONE_ARTEFACT: Final = "coach_tone"
TONE_FORMAT: Final = 1
# A sentence longer than this is scored on its first MAX_SENTENCE_CHARS characters, and a
# draft on its first MAX_SENTENCES sentences: the model's cost stays bounded on any input.
MAX_SENTENCE_CHARS: Final = 400
MAX_SENTENCES: Final = 80
# Distinct words whose character n-gram rows are remembered; past this the memo starts over.
CHAR_MEMO_WORDS: Final = 50_000
# Sentences whose scores are remembered: live coaching re-reads the same draft at every
# pause in typing, and only its last sentence has changed.
SCORE_MEMO_SENTENCES: Final = 4_096
# Sarcasm's scare quotes: "your 'photos'", "you were in \"all day\"".
_SCARE_QUOTES: Final = re.compile(r"(?:^|[\s(])['\"][a-z][a-z ]{0,24}[a-z]['\"](?=[\s.,!?;:)]|$)")
FloatArray = npt.NDArray[np.float32]


def sentence_features(text: str) -> tuple[set[str], list[str], tuple[float, ...]]:
    """Word features, tokens (for character n-grams) and dense cues of one sentence."""
    head = text[:MAX_SENTENCE_CHARS]
    found, words, dense = analyse_tokens(head)
    if words:
        found.add("<s> " + words[0])
    if _SCARE_QUOTES.search(head.lower()):
        found.add("<scare-quotes>")
    return found, words, dense


@dataclass(frozen=True)
class ToneModel:  # not slotted: the memo below lives in __dict__
    """Per-rule sigmoid heads on one weight matrix; `thresholds` gate the coach's findings."""

    rules: tuple[str, ...]
    vocabulary: Mapping[str, int]  # word feature -> row
    char_vocabulary: Mapping[str, int]  # character n-gram -> row (after the word rows)
    weights: FloatArray  # (rows, rules)
    dense_weights: FloatArray  # (dense cues, rules)
    bias: FloatArray  # (rules,)
    thresholds: Mapping[str, float]  # a rule missing here never gets a model finding
    # A model finding's severity by rule, when it is not the rule's own (a blocking rule's
    # model finding is "high" unless listed here as "blocking").
    severity: Mapping[str, Severity] = field(default_factory=dict)
    # Whether `coach` uses the packaged model by default; a disabled one can still be passed
    # to `coach(tone_model=...)` and is measured by `calmdesk evaluate --part coach`.
    enabled: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)
    _memo: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)
    _scores: dict[str, FloatArray] = field(default_factory=dict, compare=False, repr=False)

    def _char_rows(self, words: list[str]) -> set[int]:
        memo = self._memo
        missing = set(words).difference(memo)
        if missing:
            lookup = self.char_vocabulary.get
            found = {
                word: tuple({i for gram in char_grams(word) if (i := lookup(gram)) is not None})
                for word in missing
            }
            if len(memo) + len(found) > CHAR_MEMO_WORDS:
                memo.clear()
            memo.update(found)
        rows: set[int] = set()
        for word in set(words):
            rows.update(memo.get(word, ()))
        return rows

    def probabilities(self, sentences: Sequence[str]) -> FloatArray:
        """(sentences, rules) probabilities for at most MAX_SENTENCES sentences."""
        count = min(len(sentences), MAX_SENTENCES)
        memo = self._scores
        known = {text: memo[text] for text in sentences[:count] if text in memo}
        missing = list(dict.fromkeys(text for text in sentences[:count] if text not in known))
        if missing:
            fresh = dict(zip(missing, self._score(missing), strict=True))
            if len(memo) + len(fresh) > SCORE_MEMO_SENTENCES:
                memo.clear()
            memo.update(fresh)
            known.update(fresh)
        out: FloatArray = np.empty((count, len(self.rules)), dtype=np.float32)
        for index in range(count):
            out[index] = known[sentences[index]]
        return out

    def _score(self, sentences: Sequence[str]) -> FloatArray:
        """Probabilities computed afresh; an empty sentence scores the bias alone.

        One gather and one segmented sum for all sentences: per-sentence numpy calls cost
        more than the arithmetic."""
        count = len(sentences)
        rows: list[int] = []
        lengths: list[int] = []  # of each block: a sentence's words, then its n-grams
        starts: list[int] = []
        dense_rows: list[tuple[float, ...]] = []
        for index in range(count):
            found, words, dense = sentence_features(sentences[index])
            # Sorted so that sums run in the same order in every process (hash seeds differ).
            word_rows = sorted(map(self.vocabulary.__getitem__, self.vocabulary.keys() & found))
            char_rows = sorted(self._char_rows(words))
            starts.append(len(rows))
            rows += word_rows
            rows += char_rows
            lengths += (len(word_rows), len(char_rows))
            dense_rows.append(dense)
        out: FloatArray = np.zeros((count, len(self.rules)), dtype=np.float32)
        if not count:
            return out
        out += self.bias
        out += np.asarray(dense_rows, dtype=np.float32) @ self.dense_weights
        if rows:
            # Binary features, each block L2-normalised on its own, as the trainer scaled them.
            sizes = np.asarray(lengths, dtype=np.intp)
            norms = 1.0 / np.sqrt(np.maximum(sizes, 1).astype(np.float32))
            gathered = self.weights[rows]
            gathered *= np.repeat(norms, sizes)[:, None]
            offsets = np.asarray(starts, dtype=np.intp)
            filled = np.diff(np.append(offsets, len(rows))) > 0
            out[filled] += np.add.reduceat(gathered, offsets[filled], axis=0)
        np.clip(out, -30.0, 30.0, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        out += np.float32(1.0)
        np.reciprocal(out, out=out)
        return out


class ToneModelError(ValueError):
    """The tone artefact on disk is not one this version of calmdesk can read."""


def load_tone_model(directory: Path | None = None) -> ToneModel | None:
    """Read the artefact from `directory` (default: the package); None when it is absent."""
    return read_artefact(TONE_ARTEFACT, read_tone_model, directory)


def read_tone_model(npz_path: Path, json_path: Path) -> ToneModel:
    metadata = json.loads(json_path.read_text("utf-8"))
    if metadata.get("format") != TONE_FORMAT:
        raise ToneModelError(
            f"{json_path}: unknown tone artefact format {metadata.get('format')!r}"
        )
    if list(metadata.get("dense_features", [])) != list(DENSE_FEATURE_NAMES):
        raise ToneModelError(f"{json_path}: trained with other dense features")
    with np.load(npz_path, allow_pickle=False) as data:
        words_text = data["vocabulary"].tobytes().decode("utf-8")
        grams_text = data["char_vocabulary"].tobytes().decode("utf-8")
        quantised = data["weights_int8"]
        scales = data["weight_scales"].astype(np.float32)
        dense_weights = data["dense_weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
    words = words_text.split("\n") if words_text else []
    grams = grams_text.split("\n") if grams_text else []
    rules = tuple(metadata["rules"])
    if len(words) + len(grams) != quantised.shape[0] or quantised.shape[1] != len(rules):
        raise ToneModelError(f"{npz_path}: vocabulary, rules and weights disagree")
    thresholds = {
        rule: float(value)
        for rule, value in metadata.get("thresholds", {}).items()
        if rule in rules and value is not None
    }
    severity = {
        rule: cast("Severity", value)
        for rule, value in metadata.get("severity", {}).items()
        if value in SEVERITIES
    }
    return ToneModel(
        rules=rules,
        vocabulary={word: i for i, word in enumerate(words)},
        char_vocabulary={gram: len(words) + i for i, gram in enumerate(grams)},
        weights=np.ascontiguousarray(quantised.astype(np.float32) * scales),
        dense_weights=dense_weights,
        bias=bias,
        thresholds=thresholds,
        severity=severity,
        enabled=bool(metadata.get("enabled", True)),
        metadata=metadata,
    )


@cache
def packaged_tone_model() -> ToneModel | None:
    """The artefact shipped in the package, loaded once per process; None if absent or
    unreadable, so the coach falls back to its rules rather than fail."""
    try:
        return load_tone_model()
    except (OSError, ValueError, KeyError, TypeError):
        return None

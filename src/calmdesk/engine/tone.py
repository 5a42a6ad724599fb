"""The customer tone head: anger, frustration, threat and abuse read from support wording (issue 3).

A small linear model trained on hand-written support messages (`devsets/customer_training.jsonl`
and the development set; see `models/CUSTOMER_TONE_CARD.md`), next to the GoEmotions model,
which learned anger from Reddit. `assess` blends it in (`blend`): it can only raise a score.

It is built to cost a few microseconds per message. The text is the rules' lower-cased view
(`folded_lower`, cached for the message being assessed), split on whitespace into chunks;
each distinct chunk's weights (its words, 5-letter stems and character n-grams) are looked up
once per process and remembered, so a message costs one split, one set and two C-level sums,
plus a lookup of its known chunk bigrams. Trainer and reader share `chunk_features`, so the
same text always gives the same features. Abuse is also read sentence by sentence where the
artefact says so (`ToneHead.abuse_sentence_offset`), from running sums over the same memo.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import accumulate, pairwise, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt

from calmdesk.engine.artefacts import read_artefact
from calmdesk.engine.text import MODEL_MAX_CHARS, STEM_FROM, char_grams, folded_lower
from calmdesk.engine.types import Flag, new_flag

ARTEFACT: Final = "customer_tone"
FORMAT: Final = 2
HEADS: Final = ("anger", "frustration", "threat", "abuse")
# The threat head raises a threat only in a message the rules and the GoEmotions model already
# read as at least this angry or frustrated: on calm text it mistook errands for menace ("I'll
# come to your shop on Monday to return the kettle"), and calm menace is the rules' to read.
THREAT_LIFT_HEAT: Final = 0.3
# How often one chunk key counts in a message (see `_repeats_capped`).
KEY_REPEATS_MAX: Final = 8
# The class heads (format 2): the customer type when neither threat nor abuse decides it, and
# the topic; one softmax each over the same chunk features. Listed in the order the rules
# break ties (`assess._type_candidates`, then "none"; `assess._TOPIC_PRIORITY`, then "other").
TYPE_CLASSES: Final = (
    "know_it_all",
    "chronic_complainer",
    "impatient",
    "demanding",
    "indecisive",
    "confused",
    "angry_venter",
    "none",
)
TOPIC_CLASSES: Final = (
    "refund",
    "cancellation",
    "defect",
    "delivery",
    "billing",
    "account",
    "technical",
    "policy_misunderstanding",
    "other",
)
CLASSES: Final = TYPE_CLASSES + TOPIC_CLASSES
# Distinct chunks whose weights are remembered; past this the memo starts over.
MEMO_CHUNKS: Final = 100_000
_TOKEN: Final = re.compile(r"[a-z0-9_]+(?:'[a-z]+|)|[\u2600-\u27bf\U0001f300-\U0001faff]")
_DIGITS: Final = re.compile(r"\d+")
_DIGIT: Final = re.compile(r"\d")
_ASCII_DIGITS: Final = "0123456789"
_REPEATS: Final = re.compile(r"(\w)\1\1+")
# A sentence for evidence: up to a full stop, ! or ? (and what follows them) or a line break.
_SENTENCE: Final = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_EVIDENCE_MAX: Final = 200
# A chunk ending in one of these ends a sentence, for the abuse head's sentence reading.
_SENTENCE_END: Final = re.compile(r"[.!?]")
_add_reduce: Final = np.add.reduce


def chunk_tokens(chunk: str) -> list[str]:
    """The tokens of one lower-cased whitespace-free chunk: digits as "0", letter runs of
    three or more shortened to two (as the assess model reads them)."""
    if any(char.isdigit() for char in chunk):
        chunk = _DIGITS.sub("0", chunk)
    return _TOKEN.findall(_REPEATS.sub(r"\1\1", chunk))


def chunk_features(chunk: str) -> tuple[str, list[tuple[str, float]]]:
    """A chunk's key (its tokens joined by spaces, for bigrams) and its weighted features:
    each word and the stem of each long word at 1, each character n-gram at 1/sqrt(grams)."""
    tokens = chunk_tokens(chunk)
    found: list[tuple[str, float]] = []
    grams: list[str] = []
    for token in tokens:
        found.append(("w:" + token, 1.0))
        if len(token) > STEM_FROM:
            found.append(("s:" + token[:5], 1.0))
        grams.extend(char_grams(token))
    if grams:
        scale = 1.0 / math.sqrt(len(grams))
        found.extend(("g:" + gram, scale) for gram in grams)
    return " ".join(tokens), found


def _view(text: str) -> str:
    """The rules' lower-cased view of the text (its model prefix), each digit as "0": the same
    length, so spans in it are spans of the text. Chunk features read digit runs as "0"
    anyway; zeroing them first lets "#77120" and "#50311" share one memo entry."""
    lowered = folded_lower(text)[:MODEL_MAX_CHARS]
    if any(map(lowered.__contains__, _ASCII_DIGITS)):
        return _DIGIT.sub("0", lowered)
    return lowered


def message_chunks(text: str) -> list[str]:
    """The whitespace chunks of `_view(text)`."""
    return _view(text).split()


def message_features(
    chunks: Sequence[str], feature_of: Any = chunk_features
) -> tuple[list[tuple[str, float]], int]:
    """Every feature of a message, each chunk counted as often as it occurs, and each chunk
    bigram ("b:first|second" by chunk keys) too, before the 1/sqrt(chunks) scaling; and the
    number of chunks. `ToneHead.logits` reads the same sums from its memo."""
    found: list[tuple[str, float]] = []
    seen: dict[str, tuple[str, list[tuple[str, float]]]] = {}
    for chunk in chunks:
        if chunk not in seen:
            seen[chunk] = feature_of(chunk)
        found.extend(seen[chunk][1])
    keys = {chunk: key for chunk, (key, _features) in seen.items()}
    for first, second in pairwise(chunks):
        a, b = keys[first], keys[second]
        if a and b:
            found.append((f"b:{a}|{b}", 1.0))
    return found, len(chunks)


def sentence_bounds(chunks: Sequence[str]) -> list[tuple[int, int]]:
    """The (start, end) chunk ranges of a message's sentences, when it has two or more (a
    chunk ending in ".", "!" or "?" ends one); [] for one sentence. The abuse head reads each
    sentence too (`ToneHead.read`), and the trainer cuts its sentences here as well."""
    # One character a chunk (its last), searched in C.
    lasts = "".join(map(itemgetter(-1), chunks))
    ends = [match.end() for match in _SENTENCE_END.finditer(lasts)]
    if not ends:
        return []
    if ends[-1] != len(chunks):
        ends.append(len(chunks))
    if len(ends) < 2:
        return []
    return list(zip([0, *ends[:-1]], ends, strict=True))


Weights = tuple[float, float, float, float]  # (anger, frustration, threat, abuse)


@dataclass(slots=True)
class _Memo:
    """What a `ToneHead` has worked out about the chunks it has seen. Weights depend on a
    chunk's key (its tokens) alone, so each distinct key is worked out once and numbered;
    bigrams are kept by pairs of those numbers, for the keys seen so far."""

    chunk_ids: dict[str, int] = field(default_factory=dict)
    key_ids: dict[str, int] = field(default_factory=dict)
    # Per key id: anger and threat as one complex number (one C-level sum adds both), and
    # frustration and abuse as another.
    anger_threat: list[complex] = field(default_factory=list)
    frustration_abuse: list[complex] = field(default_factory=list)
    # Bigrams by pairs of key ids, the same two ways.
    pair_anger_threat: dict[tuple[int, int], complex] = field(default_factory=dict)
    pair_frustration_abuse: dict[tuple[int, int], complex] = field(default_factory=dict)
    # The class heads' weights, one row per key and per bigram (grown by doubling), so a
    # message's sum is one `take` and one `sum`: each key id's row, and each bigram's.
    classes: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    class_rows_used: int = 0
    key_class_rows: list[int] = field(default_factory=list)
    pair_class_rows: dict[tuple[int, int], int] = field(default_factory=dict)

    def clear(self) -> None:
        self.chunk_ids.clear()
        self.key_ids.clear()
        self.anger_threat.clear()
        self.frustration_abuse.clear()
        self.pair_anger_threat.clear()
        self.pair_frustration_abuse.clear()
        self.classes = np.zeros((0, 0))
        self.class_rows_used = 0
        self.key_class_rows.clear()
        self.pair_class_rows.clear()

    def add_pair(
        self, pair: tuple[int, int], weights: Weights, classes: npt.NDArray[np.float64] | None
    ) -> None:
        self.pair_anger_threat[pair] = complex(weights[0], weights[2])
        self.pair_frustration_abuse[pair] = complex(weights[1], weights[3])
        if classes is not None:
            self.pair_class_rows[pair] = self.add_class_row(classes)

    def add_class_row(self, row: npt.NDArray[np.float64]) -> int:
        """Store a class-weights row; returns its index in `classes`."""
        used = self.class_rows_used
        if used >= self.classes.shape[0]:
            grown = np.zeros((max(256, 2 * self.classes.shape[0]), row.shape[0]))
            if used:
                grown[:used] = self.classes[:used]
            self.classes = grown
        self.classes[used] = row
        self.class_rows_used = used + 1
        return used


@dataclass(frozen=True)  # not slotted: cached_property needs __dict__
class ToneHead:
    """Four sigmoid heads over the chunk features; `shifts` holds how `assess` blends them."""

    weights: Mapping[str, Weights]  # feature -> (anger, frustration, threat, abuse)
    bias: Weights
    # Per head: the log-odds shift the blend adds (see `blend`); a head without one is unused.
    shifts: Mapping[str, float]
    metadata: Mapping[str, Any]
    # The class heads (None without them): each feature's row in `class_weights`
    # (features x CLASSES), the biases, and the blend (see `decide`): how much the rules'
    # support of each type and topic adds to the head's log-odds.
    class_rows: Mapping[str, int] | None = None
    class_weights: npt.NDArray[np.float64] | None = None
    class_bias: tuple[float, ...] = ()
    type_rules_weight: float | None = None
    topic_rules_weight: float | None = None
    _state: _Memo = field(default_factory=lambda: _Memo(), repr=False, compare=False)
    # The memo is shared by every thread of a process (the web server's threads call assess
    # at once): one thread at a time extends it, and readers never see a half-added key,
    # because a chunk's id is published only after its rows are in place.
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @cached_property
    def _bigram_index(
        self,
    ) -> tuple[
        dict[str, list[tuple[str, str, Weights]]], dict[str, list[tuple[str, str, Weights]]]
    ]:
        """The bigram weights (with their names) by first chunk key and by second (a key
        holds no "|")."""
        by_first: dict[str, list[tuple[str, str, Weights]]] = {}
        by_second: dict[str, list[tuple[str, str, Weights]]] = {}
        for name, row in self.weights.items():
            if name.startswith("b:"):
                first, _bar, second = name[2:].partition("|")
                by_first.setdefault(first, []).append((second, name, row))
                by_second.setdefault(second, []).append((first, name, row))
        return by_first, by_second

    @property
    def has_classes(self) -> bool:
        return self.class_weights is not None

    def _class_row(self, features: Sequence[tuple[str, float]]) -> npt.NDArray[np.float64]:
        """The class heads' weights of a chunk's (or bigram's) features, summed."""
        assert self.class_rows is not None and self.class_weights is not None
        rows, values = [], []
        for name, value in features:
            row = self.class_rows.get(name)
            if row is not None:
                rows.append(row)
                values.append(value)
        if not rows:
            return np.zeros(self.class_weights.shape[1])
        result: npt.NDArray[np.float64] = np.asarray(values) @ self.class_weights[rows]
        return result

    def _remember(self, chunks: Sequence[str]) -> None:
        """Give the chunks not seen yet their key's id, working out each new key's weights
        and the bigrams it makes with the keys already known."""
        state, weights = self._state, self.weights
        new = set(chunks).difference(state.chunk_ids)
        if len(state.chunk_ids) + len(new) > MEMO_CHUNKS:
            # A fresh memo rather than clearing this one: a reader still holding it keeps
            # a consistent view.
            state = _Memo()
            object.__setattr__(self, "_state", state)
            new = set(chunks)
        by_first, by_second = self._bigram_index
        key_ids = state.key_ids
        classes = self.class_weights is not None
        for chunk in new:
            key, features = chunk_features(chunk)
            kid = key_ids.get(key)
            if kid is None:
                a = f = t = b = 0.0
                for name, value in features:
                    w = weights.get(name)
                    if w is not None:
                        a += value * w[0]
                        f += value * w[1]
                        t += value * w[2]
                        b += value * w[3]
                kid = len(state.anger_threat)
                state.anger_threat.append(complex(a, t))
                state.frustration_abuse.append(complex(f, b))
                if classes:
                    state.key_class_rows.append(state.add_class_row(self._class_row(features)))
                key_ids[key] = kid
                for second, name, w in by_first.get(key, ()):
                    if (other := key_ids.get(second)) is not None:
                        row = self._class_row(((name, 1.0),)) if classes else None
                        state.add_pair((kid, other), w, row)
                for first, name, w in by_second.get(key, ()):
                    if (other := key_ids.get(first)) is not None:
                        row = self._class_row(((name, 1.0),)) if classes else None
                        state.add_pair((other, kid), w, row)
            state.chunk_ids[chunk] = kid

    def _ids(self, chunks: Sequence[str]) -> tuple[_Memo, list[int]]:
        """The memo and each chunk's key id in it, in order: one dictionary lookup a chunk
        once seen. Read the rows from the memo returned, not from `_state`, which another
        thread may have replaced since."""
        state = self._state
        try:
            return state, list(map(state.chunk_ids.__getitem__, chunks))
        except KeyError:
            with self._memo_lock:
                self._remember(chunks)
                state = self._state
                return state, list(map(state.chunk_ids.__getitem__, chunks))

    @cached_property
    def abuse_sentence_offset(self) -> float | None:
        """Where the abuse head also reads each sentence alone (one insulting sentence in a
        long, otherwise reasonable message is diluted by the message's length), what to add to
        a sentence's log-odds to compare it with the message's: the sentence reading's blend
        shift less the message's (`blend.abuse.sentence_shift`, chosen by the trainer); None
        where it does not."""
        spec = self.metadata.get("blend", {}).get("abuse") or {}
        if spec.get("sentence_shift") is None or "abuse" not in self.shifts:
            return None
        return float(spec["sentence_shift"]) - self.shifts["abuse"]

    def _sentence_abuse(
        self, state: _Memo, ids: list[int], bounds: list[tuple[int, int]], bigrams: bool = True
    ) -> float:
        """The highest abuse sum over the square root of its length among the sentences
        (`bigrams=False`: the caller knows the message holds no known bigram)."""
        keys, pairs = state.frustration_abuse, state.pair_frustration_abuse
        if len(ids) - len(set(ids)) >= KEY_REPEATS_MAX:
            # Rare (a pasted log, a test string): cap each sentence's repeats as `read` does.
            capped = [_repeats_capped(ids[start:end]) for start, end in bounds]
            return max(
                (
                    sum(map(keys.__getitem__, sentence))
                    + sum(map(pairs.get, pairwise(sentence), repeat(0j)))
                ).imag
                / math.sqrt(len(sentence))
                for sentence in capped
            )
        # Running sums, in C, of the key weights and of the bigram weights at each position:
        # a sentence's sum is then two differences.
        running = list(accumulate(map(keys.__getitem__, ids), initial=0j))
        if bigrams:
            # at[k]: the bigrams before position k; a sentence's are at[end - 1] - at[start].
            at = list(accumulate(map(pairs.get, pairwise(ids), repeat(0j)), initial=0j))
            return max(
                (running[end] - running[start] + at[end - 1] - at[start]).imag
                / math.sqrt(end - start)
                for start, end in bounds
            )
        return max(
            (running[end] - running[start]).imag / math.sqrt(end - start) for start, end in bounds
        )

    @cached_property
    def second_sum(self) -> bool:
        """Whether the blend uses frustration or abuse, which `read` sums together."""
        return "frustration" in self.shifts or "abuse" in self.shifts

    def logits(self, chunks: Sequence[str], frustration: bool = True) -> Weights:
        """(anger, frustration, threat, abuse) log-odds of one message's chunks; with
        `frustration=False` the frustration and abuse sums are skipped (their log-odds are
        then the biases alone), for a blend that uses neither."""
        return self.read(chunks, frustration, classes=False)[0]

    def class_logits(self, chunks: Sequence[str]) -> list[float] | None:
        """The class heads' log-odds of one message's chunks, in CLASSES order (the type
        classes, then the topics); None without class heads."""
        return self.read(chunks, False)[1]

    def read(
        self, chunks: Sequence[str], frustration: bool = True, *, classes: bool = True
    ) -> tuple[Weights, list[float] | None]:
        """The tone log-odds (as `logits`) and, with `classes` and class heads, the class
        heads' log-odds (as `class_logits`), from one pass over the chunk memo: the class
        sums reuse the key ids and bigrams the tone sums found."""
        b = self.bias
        classes = classes and self.class_weights is not None
        if not chunks:
            return b, list(self.class_bias) if classes else None
        state, all_ids = self._ids(chunks)
        ids = _repeats_capped(all_ids)
        at = sum(map(state.anger_threat.__getitem__, ids))
        f = sum(map(state.frustration_abuse.__getitem__, ids)) if frustration else 0j
        found: list[tuple[int, int]] = []
        if len(ids) > 1:
            pair_anger_threat = state.pair_anger_threat
            # Every step in C: the known bigrams, then their sums.
            found = list(filter(pair_anger_threat.__contains__, pairwise(ids)))
            if found:
                at += sum(map(pair_anger_threat.__getitem__, found))
                if frustration:
                    f += sum(map(state.pair_frustration_abuse.__getitem__, found))
        scale = 1.0 / math.sqrt(len(ids))
        abuse = f.imag * scale
        offset = self.abuse_sentence_offset
        if frustration and offset is not None and (bounds := sentence_bounds(chunks)):
            sentences = self._sentence_abuse(state, all_ids, bounds, bool(found))
            abuse = max(abuse, sentences + offset)
        tone = (
            b[0] + at.real * scale,
            b[1] + f.real * scale,
            b[2] + at.imag * scale,
            b[3] + abuse,
        )
        if not classes:
            return tone, None
        rows = list(map(state.key_class_rows.__getitem__, ids))
        if found:
            rows += map(state.pair_class_rows.__getitem__, found)
        # `ndarray.sum(axis=0)` is `np.add.reduce` behind a Python-level wrapper: called
        # directly, the same sum; then the bias plus the scaled sum, in the same buffer.
        total = _add_reduce(state.classes.take(rows, axis=0), 0)
        np.multiply(total, scale, out=total)
        np.add(self._class_bias_array, total, out=total)
        logits: list[float] = total.tolist()
        return tone, logits

    @cached_property
    def _class_bias_array(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.class_bias, dtype=np.float64)

    def best_class_sentence(self, text: str, column: int, rivals: range) -> tuple[int, int] | None:
        """The span of the sentence that favours class `column` most over its strongest
        rival among the `rivals` columns (for evidence of a class the head chose)."""
        if self.class_weights is None:
            return None

        def margin(state: _Memo, ids: list[int]) -> float:
            rows = list(map(state.key_class_rows.__getitem__, ids))
            total = _add_reduce(state.classes.take(rows, axis=0), 0)
            return float(total[column]) - max(float(total[i]) for i in rivals if i != column)

        return self._best_sentence(text, margin)

    def probabilities(self, text: str) -> Weights:
        return _sigmoids(self.logits(message_chunks(text)))

    def best_sentence(self, text: str, head: int) -> tuple[int, int] | None:
        """The span of the sentence whose chunks the head weighs highest (for evidence)."""

        def weight(state: _Memo, ids: list[int]) -> float:
            if head in (1, 3):
                fa = sum(map(state.frustration_abuse.__getitem__, ids))
                return fa.imag if head == 3 else fa.real
            at = sum(map(state.anger_threat.__getitem__, ids))
            return at.imag if head == 2 else at.real

        return self._best_sentence(text, weight)

    def _best_sentence(
        self, text: str, score_of: Callable[[_Memo, list[int]], float]
    ) -> tuple[int, int] | None:
        """The span of the sentence with the highest `score_of(memo, key ids)` per square
        root of its length, trimmed to the evidence limit."""
        lowered = _view(text)
        best: tuple[float, int, int] | None = None
        for match in _SENTENCE.finditer(lowered):
            sentence = match.group()
            chunks = sentence.split()
            if not chunks:
                continue
            state, ids = self._ids(chunks)
            ids = _repeats_capped(ids)
            score = score_of(state, ids) / math.sqrt(len(ids))
            if best is None or score > best[0]:
                start = match.start() + len(sentence) - len(sentence.lstrip())
                best = (score, start, match.start() + len(sentence.rstrip()))
        if best is None:
            return None
        _score, start, end = best
        return start, min(end, start + _EVIDENCE_MAX)


def _repeats_capped(ids: list[int]) -> list[int]:
    """`ids` with each key kept at most KEY_REPEATS_MAX times (the first ones, in order).

    The head sums a message's key weights over the square root of its length, which it
    learnt on support messages where a chunk seldom recurs more than a few times. Thousands
    of repeats (a pasted log, "the the the ...", a test string) made the sum grow with the
    square root of their number: "hello there. " x 3,000 read as a certain threat.
    """
    if len(ids) - len(set(ids)) < KEY_REPEATS_MAX:
        return ids  # no key can repeat more often than allowed: the common case, unchanged
    seen: dict[int, int] = {}
    kept: list[int] = []
    for key_id in ids:
        times = seen.get(key_id, 0) + 1
        seen[key_id] = times
        if times <= KEY_REPEATS_MAX:
            kept.append(key_id)
    return kept


def _sigmoids(logits: Weights) -> Weights:
    a, f, t, b = (1.0 / (1.0 + math.exp(-min(max(x, -30.0), 30.0))) for x in logits)
    return a, f, t, b


def decide(
    logits: Sequence[float], supports: Sequence[float], weight: float, without: int = -1
) -> tuple[int, float]:
    """Blend a class head with the rules: the class with the highest head log-odds plus
    `weight` times the rules' support for it (0..1 each; `weight` chosen by cross-validation,
    `trainer.customer_tone`); returns its index and its softmax probability. The first of
    equal ones wins, as in the rules. The class at index `without` (if any) is never chosen
    (an angry message is never of type "none")."""
    blended = [x + weight * s for x, s in zip(logits, supports, strict=True)]
    if without >= 0:
        blended[without] = -1e9
    top = max(blended)
    best = blended.index(top)
    # Every difference is <= 0: exp cannot overflow (and underflows to 0.0 harmlessly).
    return best, 1.0 / sum(map(math.exp, [x - top for x in blended]))


def blend(
    head: ToneHead,
    text: str,
    scores: dict[str, float],
    present: float = 0.5,
    logits: Weights | None = None,
) -> list[Flag]:
    """Raise anger, frustration, threat and abuse in `scores` with the head; returns its flags.

    Each head's probability is shifted by the blend's log-odds shift (chosen by
    cross-validation, `trainer.customer_tone`) and joined to the score by noisy-OR, where
    that reaches `present`: the head raises a score the rules and the GoEmotions model read
    too low, never lowers one, and leaves a score it does not carry to `present` as it was
    (the coach and the risk bands read scores below 0.5 too). Where it lifts a score from
    below `present`, it adds a flag of that kind whose evidence is the sentence it scores
    highest. `negative` follows the raised scores. Threat is raised only where the scores
    before the blend read anger or frustration of at least THREAT_LIFT_HEAT.
    """
    if logits is None:
        logits = head.logits(message_chunks(text), head.second_sum)
    flags: list[Flag] = []
    raised = False
    heat = max(scores["anger"], scores["frustration"])
    for index, name in enumerate(HEADS):
        shift = head.shifts.get(name)
        if shift is None or (name == "threat" and heat < THREAT_LIFT_HEAT):
            continue
        x = min(max(logits[index] + shift, -30.0), 30.0)
        lifted = 1.0 / (1.0 + math.exp(-x))
        before = scores[name]
        after = 1.0 - (1.0 - before) * (1.0 - lifted)
        if after < present:
            continue
        scores[name] = after
        raised = True
        if before < present:
            span = head.best_sentence(text, index)
            if span is not None:
                start, end = span
                flags.append(
                    new_flag(name, start, end, text[start:end], f"model.tone.{name}", lifted)
                )
    if raised:
        scores["negative"] = max(
            scores["negative"],
            scores["anger"],
            scores["threat"],
            scores["abuse"],
            0.8 * scores["frustration"],
        )
    return flags


def load_tone_head(directory: Path | None = None, name: str = ARTEFACT) -> ToneHead | None:
    """Read the artefact; None when it is absent (assess then runs without the head)."""
    return read_artefact(name, _read, directory)


def _read(npz_path: Path, json_path: Path) -> ToneHead:
    metadata = json.loads(json_path.read_text("utf-8"))
    if metadata.get("format") not in (1, FORMAT):  # format 1: no class heads
        raise ValueError(f"{json_path}: unknown tone head format {metadata.get('format')!r}")
    with np.load(npz_path, allow_pickle=False) as data:
        names = data["features"].tobytes().decode("utf-8").split("\n")
        quantised = data["weights_int8"]
        scales = data["weight_scales"].astype(np.float64)
        bias = data["bias"].astype(np.float64)
        classes_data = None
        if "class_weights_int8" in data.files:
            classes_data = (
                data["class_weights_int8"].astype(np.float64)
                * data["class_weight_scales"].astype(np.float64),
                data["class_bias"].astype(np.float64),
            )
    if len(names) != quantised.shape[0]:
        raise ValueError(f"{npz_path}: features and weight rows disagree")
    columns = quantised.shape[1]
    if columns not in (3, len(HEADS)):
        raise ValueError(f"{npz_path}: {columns} heads, expected {len(HEADS)}")
    # A column holds at most 255 distinct weights (an int8 times the column's scale): one shared
    # float object each, and one tuple per distinct row, rather than four floats a feature
    # (7 MB of the process's 150 MB budget, issue 3). Same float64 product as array arithmetic.
    values = [
        {q: float(np.float64(q) * scales[c]) for q in range(-128, 128)} for c in range(columns)
    ]
    # An artefact from before the abuse head (three columns) reads with abuse unused.
    missing = (0.0,) * (len(HEADS) - columns)
    shared: dict[tuple[int, ...], Weights] = {}
    rows: list[Weights] = []
    for row in map(tuple, quantised.tolist()):
        weights_row = shared.get(row)
        if weights_row is None:
            made = tuple(values[c][q] for c, q in enumerate(row)) + missing
            weights_row = shared[row] = cast(Weights, made)
        rows.append(weights_row)
    biases = [*bias.tolist(), -30.0][: len(HEADS)]
    blend_spec = metadata.get("blend", {})
    class_rows: dict[str, int] | None = None
    class_weights: npt.NDArray[np.float64] | None = None
    class_bias: tuple[float, ...] = ()
    if classes_data is not None:
        class_weights, class_bias_array = classes_data
        if class_weights.shape != (len(names), len(CLASSES)):
            raise ValueError(f"{npz_path}: class weights do not match features and classes")
        class_rows = {name: i for i, name in enumerate(names)}
        class_bias = tuple(float(b) for b in class_bias_array.tolist())
    rules = metadata.get("class_blend") or {}
    return ToneHead(
        weights=dict(zip(names, rows, strict=True)),
        bias=(float(biases[0]), float(biases[1]), float(biases[2]), float(biases[3])),
        shifts={k: float(v["shift"]) for k, v in blend_spec.items() if v is not None},
        metadata=metadata,
        class_rows=class_rows,
        class_weights=class_weights,
        class_bias=class_bias,
        type_rules_weight=_optional_float(rules.get("type")) if class_rows else None,
        topic_rules_weight=_optional_float(rules.get("topic")) if class_rows else None,
    )


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@cache
def default_tone_head() -> ToneHead | None:
    """The packaged head, loaded once per process."""
    return load_tone_head()


_switch: list[bool] = [True]
_class_switch: list[bool] = [True]


def class_heads_on() -> bool:
    """False inside `without_class_heads`."""
    return _class_switch[0]


@contextmanager
def without_class_heads() -> Iterator[None]:
    """Assess with the tone heads but type and topic from the rules alone (as before the
    class heads): for tests of the rules' own cues."""
    before = _class_switch[0]
    _class_switch[0] = False
    try:
        yield
    finally:
        _class_switch[0] = before


def active_tone_head() -> ToneHead | None:
    """The head `assess` blends in: the packaged one, unless `without_tone_head` is in force."""
    return default_tone_head() if _switch[0] else None


@contextmanager
def without_tone_head() -> Iterator[None]:
    """Assess without the head (the trainer measures the engine alone this way)."""
    before = _switch[0]
    _switch[0] = False
    try:
        yield
    finally:
        _switch[0] = before

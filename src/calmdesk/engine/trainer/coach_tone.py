"""`calmdesk train --part coach`: fit the coach's tone model on the labelled reply sets.

Data: every sentence of every reply in the development, third, fourth and fifth sets, the
composed training set `coach_training.jsonl` and the first four blind sets (retired into training
in stop 19; never the held-out, sixth or later blind sets) is one example;
it is positive for a rule when a labelled finding of that rule overlaps it. Features: `calmdesk.engine.coaching.tone.sentence_features`, with a
vocabulary of the features seen in at least two training sentences. Model: one liblinear
logistic regression per rule. Threshold per rule: five-fold cross-validation grouped by the
customer message (replies answering the same message share wording, so they stay in one fold),
the composed set's replies in their own folds, which share no piece; the lowest threshold whose
out-of-fold precision reaches TARGET_PRECISION both on every sentence and on the sentences the
rules did *not* flag, or no threshold (the rule gets no model findings) when none does.
Every step is deterministic, and the artefact is written like `assess_model.npz`, so the same
data gives a byte-identical file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from calmdesk.engine.coaching.evaluation import (
    DEV_SET,
    FIFTH_SET,
    FOURTH_SET,
    THIRD_SET,
    packaged_set,
)
from calmdesk.engine.coaching.reply_coach import coach
from calmdesk.engine.coaching.rules import RuleBook, rulebook
from calmdesk.engine.coaching.text import normalise, split_sentences
from calmdesk.engine.coaching.tone import (
    TONE_ARTEFACT,
    TONE_FORMAT,
    ToneModel,
    sentence_features,
)
from calmdesk.engine.coaching.types import BLOCKING_RULES
from calmdesk.engine.text import DENSE_FEATURE_NAMES, char_grams
from calmdesk.engine.trainer.fit import block_rows_matrix, write_reproducible_npz

# Written for training only (issue 4): replies composed from hand-written pieces by
# `compose_coach_training`; reply k{i} sits in fold (i - 1) % 5 and its folds share no piece.
COMPOSED_SET: Final = "coach_training.jsonl"
# The first four blind sets, retired from measurement into training (stop 19): four writers
# who never saw the rules. The fifth blind set and later stay unseen by the trainer.
RETIRED_SETS: Final = (
    "coach_replies_blind.jsonl",
    "coach_replies_blind2.jsonl",
    "coach_replies_blind3.jsonl",
    "coach_replies_blind4.jsonl",
)
TRAINING_SETS: Final = (DEV_SET, THIRD_SET, FOURTH_SET, FIFTH_SET, COMPOSED_SET, *RETIRED_SETS)
# The tone rules the model may add findings for. Rules whose cross-validated precision never
# reaches the target get no threshold and so no model findings.
TONE_RULES: Final = (
    "insult",
    "sarcasm",
    "condescension",
    "blame",
    "arguing",
    "refusing_ownership",
    "dismissing_emotion",
    "policy_hiding",
    "threat_back",
    "command",
)
# The tone rules whose findings block a send (insult, threat_back): the coach's own list.
BLOCKING_TONE_RULES: Final = tuple(rule for rule in TONE_RULES if rule in BLOCKING_RULES)
FOLDS: Final = 5
FOLD_SEED: Final = 20240404
MIN_DOCUMENT_FREQUENCY: Final = 2
MIN_CHAR_DOCUMENT_FREQUENCY: Final = 3
C_GRID: Final = (1.0, 2.0, 4.0, 8.0)
# Cross-validated precision a rule's model findings must reach. Set above the 0.8 aim because
# the few dozen out-of-fold predictions per rule make precision noisy.
TARGET_PRECISION: Final = 0.85
MIN_PREDICTIONS: Final = 5  # fewer out-of-fold findings than this say nothing about precision
THRESHOLD_GRID: Final = tuple(round(0.2 + 0.025 * i, 3) for i in range(32))  # 0.2 .. 0.975
# The blocking rules' model findings need this cross-validated precision to be made at all,
# and then they block like the rules' own: a good reply stopped or shouted at as an insult or
# a threat is worse than a missed nuance ("as you asked, your account will be closed" read
# as a threat at 0.85).
BLOCKING_PRECISION: Final = 0.95

# Whether an artefact trained without `--enable` is used by `coach` unless told otherwise: off,
# so a retrain is switched on only by someone who measured it on replies it never saw. The
# packaged artefact is trained with `--enable` since stop 19: on the fifth to seventh blind sets
# (660 replies) its added findings were right 35 times out of 43 (see models/COACH_TONE_CARD.md).
ENABLED_BY_DEFAULT: Final = False

Progress = Callable[[str, int], None]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SentenceExample:
    group: str  # the customer message the reply answers: the unit of a fold
    reply: str  # "<set>:<id>"
    text: str
    labels: frozenset[str]  # rules a labelled finding marks in this sentence
    # Rules the model may not add here: the rules flagged them already, or the rule's own
    # exception matches the sentence (the coach skips both).
    closed: frozenset[str]
    fold: int | None = None  # fixed fold (composed set), else by `group`


@dataclass(frozen=True)
class Reply:
    reply: str
    group: str
    customer: str
    draft: str
    findings: tuple[tuple[str, str], ...]
    fold: int | None = None  # fixed fold: the composed set's, whose folds share no piece


def composed_fold(reply_id: str) -> int | None:
    """Fold of a composed reply `k{i}`: (i - 1) % FOLDS; None for any other id."""
    if len(reply_id) > 1 and reply_id[0] == "k" and reply_id[1:].isdigit():
        return (int(reply_id[1:]) - 1) % FOLDS
    return None


def read_replies(names: Sequence[str] = TRAINING_SETS) -> list[Reply]:
    replies: list[Reply] = []
    for name in names:
        path = packaged_set(name)
        if path is None:
            continue
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            draft = record.get("draft")
            if not isinstance(draft, str):
                continue
            customer = record.get("customer") if isinstance(record.get("customer"), str) else ""
            findings = tuple(
                (str(f.get("rule")), str(f.get("text")))
                for f in record.get("findings") or []
                if isinstance(f, dict)
            )
            fold = composed_fold(str(record.get("id"))) if name == COMPOSED_SET else None
            group = customer.strip() if fold is None else f"{name}:fold{fold}"
            replies.append(
                Reply(f"{name}:{record.get('id')}", group, customer, draft, findings, fold)
            )
    return replies


def sentence_examples(
    replies: Sequence[Reply], book: RuleBook | None = None
) -> list[SentenceExample]:
    """Each reply's sentences with their labels and the rules closed to the model there."""
    rules = book or rulebook()
    examples: list[SentenceExample] = []
    for reply in replies:
        conversation = [("customer", reply.customer)] if reply.customer else []
        flagged = [
            (f.rule, f.start, f.end)
            for f in coach(reply.draft, conversation=conversation, tone_model=False).findings
        ]
        spans: list[tuple[str, int, int]] = []
        for rule, text in reply.findings:
            position = reply.draft.find(text) if text else -1
            if position >= 0:
                spans.append((rule, position, position + len(text)))
        norm = normalise(reply.draft)
        for sentence in split_sentences(reply.draft):

            def inside(start: int, end: int) -> bool:
                return start < sentence.end and sentence.start < end  # noqa: B023

            labels = frozenset(rule for rule, start, end in spans if inside(start, end))
            closed = {rule for rule, start, end in flagged if inside(start, end)}
            for rule_id in TONE_RULES:
                exception = rules.rules[rule_id].exception
                if exception is not None and exception.search(norm[sentence.start : sentence.end]):
                    closed.add(rule_id)
            examples.append(
                SentenceExample(
                    reply.group, reply.reply, sentence.text, labels, frozenset(closed), reply.fold
                )
            )
    return examples


def build_vocabularies(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    words: Counter[str] = Counter()
    grams: Counter[str] = Counter()
    for text in texts:
        found, tokens, _dense = sentence_features(text)
        words.update(found)
        grams.update({gram for token in set(tokens) for gram in char_grams(token)})

    def kept(counts: Counter[str], minimum: int) -> list[str]:
        items = [(n, key) for key, n in counts.items() if n >= minimum and "\n" not in key]
        items.sort(key=lambda item: (-item[0], item[1]))
        return [key for _n, key in items]

    return kept(words, MIN_DOCUMENT_FREQUENCY), kept(grams, MIN_CHAR_DOCUMENT_FREQUENCY)


def featurise(texts: Sequence[str], words: Sequence[str], grams: Sequence[str]) -> Any:
    """Rows as `ToneModel.probabilities` builds them: two L2-normalised binary blocks, then
    the dense cues."""
    word_index = {word: i for i, word in enumerate(words)}
    gram_index = {gram: len(words) + i for i, gram in enumerate(grams)}
    rows: list[tuple[list[int], list[int], Sequence[float]]] = []
    for text in texts:
        found, tokens, dense = sentence_features(text)
        ids = sorted({word_index[f] for f in found if f in word_index})
        char_ids = sorted(
            {gram_index[g] for t in set(tokens) for g in char_grams(t) if g in gram_index}
        )
        rows.append((ids, char_ids, dense))
    return block_rows_matrix(rows, len(words) + len(grams))


@dataclass(frozen=True)
class Fitted:
    words: list[str]
    grams: list[str]
    coef: FloatArray  # (features, rules)
    intercept: FloatArray  # (rules,)


def fit(examples: Sequence[SentenceExample], c: float) -> Fitted:
    texts = [e.text for e in examples]
    words, grams = build_vocabularies(texts)
    x = featurise(texts, words, grams)
    coef = np.zeros((x.shape[1], len(TONE_RULES)))
    intercept = np.full(len(TONE_RULES), -10.0)
    for column, rule in enumerate(TONE_RULES):
        y = np.asarray([rule in e.labels for e in examples])
        if y.all() or not y.any():
            continue
        model = LogisticRegression(C=c, solver="liblinear", max_iter=300, random_state=0)
        model.fit(x, y)
        coef[:, column] = model.coef_[0]
        intercept[column] = model.intercept_[0]
    return Fitted(words, grams, coef, intercept)


def predict(fitted: Fitted, texts: Sequence[str]) -> FloatArray:
    x = featurise(texts, fitted.words, fitted.grams)
    logits = np.asarray(x @ fitted.coef) + fitted.intercept
    result: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
    return result


def folds_of(examples: Sequence[SentenceExample]) -> npt.NDArray[np.intp]:
    """Fold number of each example: a composed reply's own (its folds share no piece), else
    by a seeded order of customer messages, every sentence of one message in one fold."""
    groups = sorted({e.group for e in examples if e.fold is None})
    order = np.random.default_rng(FOLD_SEED).permutation(len(groups))
    fold_of_group = {groups[g]: rank % FOLDS for rank, g in enumerate(order.tolist())}
    return np.asarray(
        [fold_of_group[e.group] if e.fold is None else e.fold for e in examples], dtype=np.intp
    )


def out_of_fold(
    examples: Sequence[SentenceExample], c: float, progress: Progress
) -> tuple[FloatArray, list[Fitted]]:
    folds = folds_of(examples)
    scores = np.zeros((len(examples), len(TONE_RULES)))
    models: list[Fitted] = []
    for fold in range(FOLDS):
        train = [e for e, f in zip(examples, folds, strict=True) if f != fold]
        test_rows = np.flatnonzero(folds == fold)
        fitted = fit(train, c)
        models.append(fitted)
        scores[test_rows] = predict(fitted, [examples[i].text for i in test_rows.tolist()])
        progress(f"cross-validating C={c:g}", 1)
    return scores, models


@dataclass(frozen=True)
class RuleChoice:
    rule: str
    threshold: float | None
    # Out of fold at the threshold: the model alone on every sentence (what picks the
    # threshold), and its findings on the sentences the rules left open (what it adds).
    precision: float | None
    found: int
    predicted: int
    open_precision: float | None
    open_found: int
    open_predicted: int
    open_positives: int  # labelled sentences the rules left open
    average_precision: float


def choose_threshold(
    rule: str, scores: FloatArray, examples: Sequence[SentenceExample]
) -> RuleChoice:
    """The lowest threshold at which the model is precise enough out of fold, both alone and
    in what it would add.

    Precision is measured on every sentence of the unseen folds (the model alone), and, when
    the model fires on any, also on the sentences the rules left open (what the coach would
    add): both must reach TARGET_PRECISION (BLOCKING_PRECISION for a blocking rule). The
    rules were tuned on the labelled sets, so what
    they leave open there is a residue of the hardest cases; the composed set's open sentences
    are not (no rule was written from it), and the model adds findings only there, so a
    threshold precise on every sentence but not on the open ones would not keep its promise.
    """
    target = BLOCKING_PRECISION if rule in BLOCKING_TONE_RULES else TARGET_PRECISION
    truth = np.asarray([rule in e.labels for e in examples])
    open_rows = np.asarray([rule not in e.closed for e in examples])
    positives = int((truth & open_rows).sum())
    average_precision = _average_precision(scores, truth)
    for threshold in THRESHOLD_GRID:
        predicted = scores >= threshold
        count = int(predicted.sum())
        if count < MIN_PREDICTIONS:
            break
        hits = int((predicted & truth).sum())
        open_predicted = predicted & open_rows
        open_count = int(open_predicted.sum())
        open_hits = int((open_predicted & truth).sum())
        open_ok = open_count == 0 or open_hits / open_count >= target
        if hits / count >= target and open_ok:
            return RuleChoice(
                rule,
                threshold,
                hits / count,
                hits,
                count,
                open_hits / open_count if open_count else None,
                open_hits,
                open_count,
                positives,
                average_precision,
            )
    return RuleChoice(rule, None, None, 0, 0, None, 0, 0, positives, average_precision)


def by_source(
    choices: Sequence[RuleChoice], scores: FloatArray, examples: Sequence[SentenceExample]
) -> dict[str, dict[str, list[int]]]:
    """Out of fold at the chosen thresholds, per rule: [right, fired, right on open
    sentences, fired on open sentences], for the composed set and for the labelled sets."""
    composed = np.asarray([e.fold is not None for e in examples])
    out: dict[str, dict[str, list[int]]] = {}
    for name, mask in (("composed", composed), ("sets", ~composed)):
        out[name] = {}
        for column, choice in enumerate(choices):
            truth = np.asarray([choice.rule in e.labels for e in examples])
            open_rows = np.asarray([choice.rule not in e.closed for e in examples])
            if choice.threshold is None:
                out[name][choice.rule] = [0, 0, 0, 0]
                continue
            fired = (scores[:, column] >= choice.threshold) & mask
            opened = fired & open_rows
            out[name][choice.rule] = [
                int((fired & truth).sum()),
                int(fired.sum()),
                int((opened & truth).sum()),
                int(opened.sum()),
            ]
    return out


def _average_precision(probs: FloatArray, truth: npt.NDArray[np.bool_]) -> float:
    if not truth.any():
        return 0.0
    order = np.argsort(-probs, kind="stable")
    hits = np.cumsum(truth[order])
    ranks = np.arange(1, len(order) + 1)
    return float(np.sum((hits / ranks)[truth[order]]) / truth.sum())


def training_steps() -> int:
    return 1 + FOLDS * len(C_GRID) + 1 + 1 + 1


@dataclass(frozen=True)
class TrainingResult:
    metadata: dict[str, Any]
    fold_models: list[ToneModel]  # one per fold, with the chosen thresholds, for CV reports
    fold_replies: list[frozenset[str]]  # the replies each fold model did not see
    replies: list[Reply]


def train_tone_model(
    out_dir: Path,
    progress: Progress | None = None,
    *,
    replies: Sequence[Reply] | None = None,
    enabled: bool = ENABLED_BY_DEFAULT,
) -> TrainingResult:
    """Cross-validate, choose C and thresholds, fit on all training replies (by default the
    packaged development, third, fourth and fifth sets), write the artefact."""
    report = progress or (lambda _step, _units: None)
    with threadpool_limits(limits=1):
        return _train(out_dir, report, replies, enabled)


def _train(
    out_dir: Path, report: Progress, given: Sequence[Reply] | None, enabled: bool
) -> TrainingResult:
    report("reading the reply sets", 0)
    replies = list(given) if given is not None else read_replies()
    examples = sentence_examples(replies)
    report("reading the reply sets", 1)
    best: tuple[float, float, FloatArray, list[Fitted]] | None = None
    for c in C_GRID:
        scores, models = out_of_fold(examples, c, report)
        # Mean average precision over the rules: the ranking the thresholds will cut.
        mean_ap = float(
            np.mean(
                [
                    choose_threshold(rule, scores[:, k], examples).average_precision
                    for k, rule in enumerate(TONE_RULES)
                ]
            )
        )
        if best is None or mean_ap > best[0] + 1e-9:
            best = (mean_ap, c, scores, models)
    assert best is not None
    mean_ap, c, scores, fold_fits = best
    choices = [choose_threshold(rule, scores[:, k], examples) for k, rule in enumerate(TONE_RULES)]
    thresholds = {choice.rule: choice.threshold for choice in choices}
    severity = {
        choice.rule: "blocking"
        for choice in choices
        if choice.rule in BLOCKING_TONE_RULES and choice.threshold is not None
    }
    report("fitting on every training set", 0)
    final = fit(examples, c)
    report("fitting on every training set", 1)
    report("writing the artefact", 0)
    metadata: dict[str, Any] = {
        "format": TONE_FORMAT,
        "name": TONE_ARTEFACT,
        "enabled": enabled,
        "rules": list(TONE_RULES),
        "thresholds": thresholds,
        "severity": severity,
        "dense_features": list(DENSE_FEATURE_NAMES),
        "vocabulary_size": len(final.words),
        "char_vocabulary_size": len(final.grams),
        "C": c,
        "training_sets": list(TRAINING_SETS),
        "training_sentences": len(examples),
        "training_replies": len(replies),
        "cross_validation": {
            "folds": FOLDS,
            "grouped_by": "customer message; composed set: its own fold, sharing no piece",
            "seed": FOLD_SEED,
            "mean_average_precision": round(mean_ap, 4),
            "rules": {
                choice.rule: {
                    "threshold": choice.threshold,
                    "precision": None if choice.precision is None else round(choice.precision, 4),
                    "found": choice.found,
                    "predicted": choice.predicted,
                    "open_precision": None
                    if choice.open_precision is None
                    else round(choice.open_precision, 4),
                    "open_found": choice.open_found,
                    "open_predicted": choice.open_predicted,
                    "open_positives": choice.open_positives,
                    "average_precision": round(choice.average_precision, 4),
                }
                for choice in choices
            },
        },
        "hyperparameters": {
            "C_grid": list(C_GRID),
            "min_document_frequency": MIN_DOCUMENT_FREQUENCY,
            "min_char_document_frequency": MIN_CHAR_DOCUMENT_FREQUENCY,
            "target_precision": TARGET_PRECISION,
            "min_predictions": MIN_PREDICTIONS,
            "blocking_precision": BLOCKING_PRECISION,
        },
    }
    metadata["cross_validation"]["by_source"] = by_source(choices, scores, examples)
    folds = folds_of(examples)
    fold_replies = [
        frozenset(e.reply for e, f in zip(examples, folds, strict=True) if f == fold)
        for fold in range(FOLDS)
    ]
    fold_models = [as_tone_model(fitted, metadata) for fitted in fold_fits]
    report("cross-validating the blend", 0)
    metadata["cross_validation"]["blend"] = cross_validated_blend(
        replies, fold_models, fold_replies
    )
    report("cross-validating the blend", 1)
    write_tone_artefact(out_dir, final, metadata)
    report("writing the artefact", 1)
    return TrainingResult(metadata, fold_models, fold_replies, replies)


def _record(reply: Reply) -> dict[str, Any]:
    return {
        "customer": reply.customer,
        "draft": reply.draft,
        "findings": [{"rule": rule, "text": text} for rule, text in reply.findings],
    }


def cross_validated_blend(
    replies: Sequence[Reply],
    fold_models: Sequence[ToneModel],
    fold_replies: Sequence[frozenset[str]],
) -> dict[str, Any]:
    """Per tone rule, [predicted, matched predictions, labelled, matched labels] for the
    rules alone and for the rules with each fold's model on the replies that fold did not
    train on, as `calmdesk evaluate` counts them; and the model's own findings [predicted,
    matched]. Over all training replies, then for the composed set (`composed`: unseen
    pieces) and the labelled reply sets (`sets`: unseen customer messages) apart."""
    from calmdesk.engine.coaching.evaluation import Counts, evaluate_records

    kinds = ("rules", "rules+model", "model_added")
    sources = ("all", "composed", "sets")
    totals = {
        (source, kind): {rule: Counts() for rule in TONE_RULES}
        for source in sources
        for kind in kinds
    }
    for model, held in zip(fold_models, fold_replies, strict=True):
        for source in ("composed", "sets"):
            records = [
                (n, _record(r))
                for n, r in enumerate(replies)
                if r.reply in held and (r.fold is not None) == (source == "composed")
            ]
            if not records:
                continue
            for kind, choice in (("rules", False), ("rules+model", model)):
                result = evaluate_records(records, "cross-validation", tone_model=choice)
                for rule in TONE_RULES:
                    counts = result.rules[rule]
                    added = result.model_added.get(rule, Counts())
                    for where in ("all", source):
                        total = totals[(where, kind)][rule]
                        total.predicted += counts.predicted
                        total.predicted_matched += counts.predicted_matched
                        total.labelled += counts.labelled
                        total.labelled_matched += counts.labelled_matched
                        if kind == "rules+model":
                            own = totals[(where, "model_added")][rule]
                            own.predicted += added.predicted
                            own.predicted_matched += added.predicted_matched

    def table(source: str) -> dict[str, dict[str, list[int]]]:
        out: dict[str, dict[str, list[int]]] = {}
        for kind in kinds:
            counts = totals[(source, kind)]
            out[kind] = {
                rule: [c.predicted, c.predicted_matched]
                if kind == "model_added"
                else [c.predicted, c.predicted_matched, c.labelled, c.labelled_matched]
                for rule, c in counts.items()
            }
        return out

    blend: dict[str, Any] = table("all")
    blend["composed"] = table("composed")
    blend["sets"] = table("sets")
    return blend


def _quantise(fitted: Fitted) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    width = len(fitted.words) + len(fitted.grams)
    weights = fitted.coef[:width]
    scales = np.abs(weights).max(axis=0) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.clip(np.rint(weights / scales), -127, 127).astype(np.int8)
    return quantised, scales.astype(np.float32)


def as_tone_model(fitted: Fitted, metadata: dict[str, Any]) -> ToneModel:
    """An in-memory `ToneModel` with the artefact's quantisation, for cross-validation."""
    quantised, scales = _quantise(fitted)
    width = len(fitted.words) + len(fitted.grams)
    return ToneModel(
        rules=tuple(TONE_RULES),
        vocabulary={word: i for i, word in enumerate(fitted.words)},
        char_vocabulary={gram: len(fitted.words) + i for i, gram in enumerate(fitted.grams)},
        weights=np.ascontiguousarray(quantised.astype(np.float32) * scales),
        dense_weights=fitted.coef[width:].astype(np.float32),
        bias=fitted.intercept.astype(np.float32),
        thresholds={r: t for r, t in metadata["thresholds"].items() if t is not None},
        severity=dict(metadata["severity"]),
        metadata=metadata,
    )


def write_tone_artefact(out_dir: Path, fitted: Fitted, metadata: dict[str, Any]) -> None:
    """`coach_tone.npz` with fixed zip timestamps (byte-identical for the same data) and
    `coach_tone.json`."""

    quantised, scales = _quantise(fitted)
    width = len(fitted.words) + len(fitted.grams)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {
        "vocabulary": np.frombuffer("\n".join(fitted.words).encode("utf-8"), dtype=np.uint8),
        "char_vocabulary": np.frombuffer("\n".join(fitted.grams).encode("utf-8"), dtype=np.uint8),
        "weights_int8": quantised,
        "weight_scales": scales,
        "dense_weights": fitted.coef[width:].astype(np.float32),
        "bias": fitted.intercept.astype(np.float32),
    }
    write_reproducible_npz(out_dir / f"{TONE_ARTEFACT}.npz", arrays)
    (out_dir / f"{TONE_ARTEFACT}.json").write_text(
        json.dumps(metadata, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )

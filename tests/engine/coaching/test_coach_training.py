"""The composed training set for the coach's tone model (`devsets/coach_training.jsonl`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calmdesk.engine.coaching.types import GOOD_RULES, RULE_IDS
from calmdesk.engine.trainer import compose_coach_training as compose

DEVSETS = Path(__file__).resolve().parents[3] / "src/calmdesk/engine/devsets"
TRAINING = DEVSETS / "coach_training.jsonl"
# Yardsticks the composed set must not copy from (the blind sets are not opened here).
YARDSTICKS = (
    "agent_replies.jsonl",
    "coach_replies_holdout.jsonl",
    "coach_replies_third.jsonl",
    "coach_replies_fourth.jsonl",
    "coach_replies_fifth.jsonl",
    "coach_replies_sixth.jsonl",
)
TECHNIQUE_OF_RULE = {rule: technique for technique, rule in compose.TECHNIQUE_RULE.items()}


def _rows(name: str) -> list[dict[str, Any]]:
    text = (DEVSETS / name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return _rows(TRAINING.name)


def test_schema_and_labelling_conventions(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= 1500
    assert [row["id"] for row in rows] == [f"k{i:04d}" for i in range(1, len(rows) + 1)]
    for row in rows:
        assert set(row) == {
            "id", "customer", "draft", "findings", "techniques", "blocking", "pieces"
        }  # fmt: skip
        assert set(row["techniques"]) == set(compose.TECHNIQUE_RULE)
        good = set()
        for finding in row["findings"]:
            assert finding["rule"] in RULE_IDS
            assert row["draft"].count(finding["text"]) == 1, (row["id"], finding)
            if finding["rule"] in GOOD_RULES:
                good.add(TECHNIQUE_OF_RULE[finding["rule"]])
        assert good == {t for t, value in row["techniques"].items() if value == 1}
        rules = {finding["rule"] for finding in row["findings"]}
        assert row["blocking"] == bool(rules & compose.BLOCKING_RULES)
        assert row["pieces"] and len(set(row["pieces"])) == len(row["pieces"])


def test_clean_replies_and_every_tone_rule_are_plentiful(rows: list[dict[str, Any]]) -> None:
    avoid = [{f["rule"] for f in row["findings"]} - set(GOOD_RULES) for row in rows]
    assert sum(not rules for rules in avoid) >= 0.4 * len(rows)
    for rule in compose.BAD:
        assert sum(rule in rules for rules in avoid) >= 60, rule


def test_folds_share_no_piece(rows: list[dict[str, Any]]) -> None:
    pieces_of_fold: list[set[str]] = [set() for _ in range(compose.FOLDS)]
    for number, row in enumerate(rows, start=1):
        pieces_of_fold[(number - 1) % compose.FOLDS].update(row["pieces"])
    for one in range(compose.FOLDS):
        for other in range(one + 1, compose.FOLDS):
            assert not pieces_of_fold[one] & pieces_of_fold[other]


def test_no_draft_or_bad_sentence_is_copied_from_a_yardstick(rows: list[dict[str, Any]]) -> None:
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip().lower()

    yardstick_drafts = [norm(row["draft"]) for name in YARDSTICKS for row in _rows(name)]
    drafts = {norm(row["draft"]) for row in rows}
    assert not drafts & set(yardstick_drafts)
    spans = {
        norm(finding["text"])
        for row in rows
        for finding in row["findings"]
        if finding["rule"] in compose.BAD and len(finding["text"]) >= 25
    }
    joined = "\n".join(yardstick_drafts)
    assert not [span for span in spans if span in joined]


def test_generator_reproduces_the_file_byte_for_byte() -> None:
    assert compose.render(compose.compose_all()).encode("utf-8") == TRAINING.read_bytes()


def test_generator_main_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "training.jsonl"
    assert compose.main(["--out", str(out)]) == 0
    assert out.read_bytes() == TRAINING.read_bytes()


pytest.importorskip("sklearn")

from calmdesk.engine.trainer.coach_tone import (  # noqa: E402
    MIN_PREDICTIONS,
    TARGET_PRECISION,
    Reply,
    SentenceExample,
    choose_threshold,
    composed_fold,
    folds_of,
    read_replies,
)


def _example(group: str, labels: set[str], fold: int | None = None) -> SentenceExample:
    return SentenceExample(group, group, "text", frozenset(labels), frozenset(), fold)


def test_threshold_is_the_lowest_with_enough_precision() -> None:
    # 20 sentences: scores 0.95 .. 0.0; the top 6 are right, then wrong, then right.
    truth = [True] * 6 + [False] * 2 + [True] * 2 + [False] * 10
    examples = [_example(f"g{i}", {"blame"} if t else set()) for i, t in enumerate(truth)]
    scores = np.asarray([0.95 - 0.05 * i for i in range(20)])
    choice = choose_threshold("blame", scores, examples)
    assert choice.threshold is not None and choice.precision is not None
    fired = scores >= choice.threshold
    assert choice.predicted == int(fired.sum()) >= MIN_PREDICTIONS
    assert choice.precision >= TARGET_PRECISION
    # Any lower threshold on the grid with enough findings falls below the target.
    lower = scores >= choice.threshold - 0.025
    hits = sum(t for t, f in zip(truth, lower, strict=True) if f)
    assert hits / lower.sum() < TARGET_PRECISION


def test_no_threshold_when_precision_is_never_reached() -> None:
    truth = [i % 2 == 0 for i in range(20)]
    examples = [_example(f"g{i}", {"insult"} if t else set()) for i, t in enumerate(truth)]
    scores = np.linspace(0.99, 0.0, 20)
    choice = choose_threshold("insult", scores, examples)
    assert choice.threshold is None and choice.predicted == 0


def test_composed_replies_keep_their_fold_and_others_group_by_customer() -> None:
    assert composed_fold("k0001") == 0 and composed_fold("k0007") == 1
    assert composed_fold("r0001") is None and composed_fold("k") is None
    examples = [_example("coach_training.jsonl:fold3", {"blame"}, 3)]
    examples += [_example("same customer", set()), _example("same customer", set())]
    examples += [_example(f"customer {i}", set()) for i in range(9)]
    folds = folds_of(examples).tolist()
    assert folds[0] == 3 and folds[1] == folds[2]


def test_read_replies_gives_the_composed_set_its_folds(rows: list[dict[str, Any]]) -> None:
    replies: list[Reply] = read_replies(["coach_training.jsonl"])
    assert len(replies) == len(rows)
    assert [r.fold for r in replies[:6]] == [0, 1, 2, 3, 4, 0]
    assert len({r.group for r in replies}) == compose.FOLDS

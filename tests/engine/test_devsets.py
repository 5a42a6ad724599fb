"""The customer-service yardsticks keep to the schema and labelling conventions in their README."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from calmdesk.engine import SCORE_KEYS

TYPES = {
    "none",
    "angry_venter",
    "demanding",
    "abusive",
    "potentially_violent",
    "confused",
    "impatient",
    "chronic_complainer",
    "know_it_all",
    "indecisive",
}
TOPICS = {
    "billing",
    "delivery",
    "account",
    "technical",
    "other",
    "refund",
    "cancellation",
    "defect",
    "policy_misunderstanding",
}


def _rows(name: str) -> list[dict[str, object]]:
    text = resources.files("calmdesk.engine").joinpath(f"devsets/{name}").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("name", "prefix", "minimum"),
    [
        ("customer_messages.jsonl", "c", 400),
        ("customer_training.jsonl", "t", 1300),
        ("customer_messages_holdout.jsonl", "m", 200),
        ("customer_messages_blind.jsonl", "b", 160),
        ("customer_messages_blind2.jsonl", "n", 200),
        ("customer_messages_blind3.jsonl", "w", 240),
        ("customer_messages_blind4.jsonl", "q", 240),
        ("customer_messages_blind5.jsonl", "p", 240),
        ("customer_messages_blind6.jsonl", "a", 240),
        ("customer_messages_blind7.jsonl", "e", 240),
        ("customer_messages_blind8.jsonl", "l", 240),
        ("customer_messages_train1.jsonl", "ta", 240),
        ("customer_messages_train2.jsonl", "tb", 240),
        ("customer_messages_train3.jsonl", "tc", 240),
    ],
)
def test_customer_set_schema(name: str, prefix: str, minimum: int) -> None:
    rows = _rows(name)
    assert len(rows) >= minimum
    assert [row["id"] for row in rows] == [f"{prefix}{i:04d}" for i in range(1, len(rows) + 1)]
    for row in rows:
        labels = row["labels"]
        assert isinstance(labels, dict)
        assert set(labels) == set(SCORE_KEYS), row["id"]
        assert row["channel"] in {"email", "chat"}
        assert row["customer_type"] in TYPES and row["topic"] in TOPICS
        # negative is set whenever anger, frustration, abuse or threat is
        if any(labels[k] for k in ("anger", "frustration", "abuse", "threat")):
            assert labels["negative"] == 1, row["id"]
        assert (labels["threat"] == 1) == (row["customer_type"] == "potentially_violent")


def test_holdout_shares_no_message_with_dev_set() -> None:
    dev = {str(row["text"]).strip().lower() for row in _rows("customer_messages.jsonl")}
    held = {str(row["text"]).strip().lower() for row in _rows("customer_messages_holdout.jsonl")}
    assert not dev & held


def test_training_set_shares_no_message_with_the_yardsticks() -> None:
    training = {str(row["text"]).strip().lower() for row in _rows("customer_training.jsonl")}
    for name in ("customer_messages.jsonl", "customer_messages_holdout.jsonl"):
        shared = training & {str(row["text"]).strip().lower() for row in _rows(name)}
        assert not shared, name


# Sets by writers who never saw the engine: the blind sets and the sets written for training.
_OUTSIDE_WRITER_SETS = [
    *(f"customer_messages_blind{n}.jsonl" for n in ("", "2", "3", "4", "5", "6", "7", "8")),
    *(f"customer_messages_train{n}.jsonl" for n in (1, 2, 3)),
]


@pytest.mark.parametrize("blind_name", _OUTSIDE_WRITER_SETS)
def test_outside_writers_sets_share_no_message_with_the_other_sets(blind_name: str) -> None:
    blind = {str(row["text"]).strip().lower() for row in _rows(blind_name)}
    others = [
        "customer_messages.jsonl",
        "customer_messages_holdout.jsonl",
        "customer_training.jsonl",
        *_OUTSIDE_WRITER_SETS,
    ]
    for name in others:
        if name != blind_name:
            assert not blind & {str(row["text"]).strip().lower() for row in _rows(name)}, name

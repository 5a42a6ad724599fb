"""The type and topic heads of the customer tone artefact (issue 3): they load with a blend,
the reader matches the trainer, training is byte-identical, the safety types stay tied to
threat and abuse, the head decides clear cases the rules miss, and the training set's
type-and-topic extension is what its composer gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calmdesk.engine import assess
from calmdesk.engine.assess import assess_many
from calmdesk.engine.tone import (
    CLASSES,
    TOPIC_CLASSES,
    TYPE_CLASSES,
    ToneHead,
    decide,
    default_tone_head,
    load_tone_head,
    message_chunks,
    without_class_heads,
    without_tone_head,
)
from calmdesk.engine.types import CUSTOMER_TYPES, TOPICS

pytest.importorskip("sklearn")

from calmdesk.engine.trainer import customer_tone, training_pieces
from calmdesk.engine.trainer.customer_tone import Message, train_tone_head

_LINES = [
    ("My bill is twice what it should be this month.", "none", "billing"),
    ("The parcel never arrived and tracking is stuck.", "none", "delivery"),
    ("I can't log in, the reset email never comes.", "none", "account"),
    ("Please cancel my contract at the end of the month.", "none", "cancellation"),
    ("Maybe the blue one, or the red one? I can't decide.", "indecisive", "other"),
    ("I work in IT, skip the script, the fault is your DNS.", "know_it_all", "technical"),
    ("I need this fixed within the hour, hurry up.", "impatient", "technical"),
    ("This is the fourth time I complain about my bill.", "chronic_complainer", "billing"),
    ("Utterly disgraceful, I am furious with your service.", "angry_venter", "other"),
    ("I want a full refund by Friday, no excuses.", "demanding", "refund"),
]


def _messages(copies: int = 3) -> list[Message]:
    rows: list[Message] = []
    number = 0
    for copy in range(copies):
        for text, kind, topic in _LINES:
            number += 1
            angry = int(kind == "angry_venter")
            labels = {"anger": angry, "frustration": angry, "threat": 0}
            rows.append(
                Message(
                    "training",
                    f"t{number:04d}",
                    f"{text} ({copy})",
                    labels,
                    (number - 1) % 5,
                    kind,
                    topic,
                )
            )
    return rows


@pytest.fixture(scope="module")
def class_head(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ToneHead]:
    out = tmp_path_factory.mktemp("classes")
    train_tone_head(out, messages=_messages())
    head = load_tone_head(out)
    assert head is not None
    return out, head


def test_class_vocabularies_are_the_shared_ones() -> None:
    assert set(TYPE_CLASSES) == set(CUSTOMER_TYPES) - {"potentially_violent", "abusive"}
    assert set(TOPIC_CLASSES) == set(TOPICS)


def test_packaged_head_carries_type_and_topic_heads_with_a_blend() -> None:
    head = default_tone_head()
    assert head is not None and head.has_classes
    assert head.type_rules_weight is not None and head.topic_rules_weight is not None
    logits = head.class_logits(message_chunks("Where is my parcel? It is a week late."))
    assert logits is not None and len(logits) == len(CLASSES)


def test_reader_matches_the_trainer(class_head: tuple[Path, ToneHead]) -> None:
    _out, head = class_head
    texts = [_LINES[0][0], _LINES[4][0], "Totally new words here!! 😡", "one"]
    fitted = customer_tone.fit(
        _messages(), float(head.metadata["C"]), tuple(head.metadata["class_C"])
    )
    expected = customer_tone.class_logits(fitted, texts)
    for text, row in zip(texts, expected, strict=True):
        got = head.class_logits(message_chunks(text))
        assert got is not None
        assert np.allclose(got, row, atol=1e-4), text


def test_training_with_classes_is_byte_identical(
    tmp_path: Path, class_head: tuple[Path, ToneHead]
) -> None:
    out, _head = class_head
    train_tone_head(tmp_path, messages=_messages())
    for name in ("customer_tone.npz", "customer_tone.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_decide_adds_the_rules_support_and_breaks_ties_first() -> None:
    assert decide([0.0, 1.0], [1.0, 0.0], 0.5)[0] == 1
    assert decide([0.0, 1.0], [1.0, 0.0], 2.0)[0] == 0
    assert decide([1.0, 1.0], [0.0, 0.0], 1.0) == (0, pytest.approx(0.5))


def _customer_rows() -> list[dict[str, object]]:
    from importlib import resources

    path = resources.files("calmdesk.engine").joinpath("devsets/customer_messages.jsonl")
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_safety_types_stay_tied_to_threat_and_abuse() -> None:
    texts = [str(row["text"]) for row in _customer_rows()]
    texts += [
        "I know where your depot is and I'll be waiting for that driver tonight.",
        "You useless idiot, put me through to someone with a brain.",
        "The router keeps dropping, can you check the line please?",
    ]
    for text, result in zip(texts, assess_many(texts), strict=True):
        threat = result.scores["threat"] >= 0.5
        abuse = result.scores["abuse"] >= 0.5
        assert (result.customer_type.type == "potentially_violent") == threat, text
        assert (result.customer_type.type == "abusive") == (abuse and not threat), text


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("The zip on my new backpack tore off the second time I used it.", "defect"),
        ("My rent was taken twice by the letting agent this month.", "billing"),
        (
            "Why does my ticket not count for the return journey? The machine said it was an "
            "open return.",
            "policy_misunderstanding",
        ),
    ],
)
def test_head_picks_the_topic_for_clear_cases_the_rules_miss(text: str, topic: str) -> None:
    with without_tone_head():  # the rules alone (their topic does not read the tone head)
        assert assess(text).topic != topic
    assert assess(text).topic == topic


def test_a_type_only_the_head_reads_has_the_sentence_it_favours_as_evidence() -> None:
    # A training message: the rules hold no confusion flag here, the head reads confusion.
    text = "hi what does 'pending authorisation' mean on my account?"
    with without_tone_head():
        assert assess(text).customer_type.type == "none"
    found = assess(text).customer_type
    assert found.type == "confused"
    assert found.evidence == (text,)


def test_best_class_sentence_is_the_one_voting_for_the_class(
    class_head: tuple[Path, ToneHead],
) -> None:
    _out, head = class_head
    text = "My bill is twice what it should be this month. Maybe the blue one, or the red one?"
    column = TYPE_CLASSES.index("indecisive")
    span = head.best_class_sentence(text, column, range(len(TYPE_CLASSES)))
    assert span is not None
    assert text[span[0] : span[1]] == "Maybe the blue one, or the red one?"


def test_type_and_topic_do_not_depend_on_what_was_read_before() -> None:
    text = "I have written four times about the same wrong charge on my bill."
    first = assess(text).to_dict()
    assess_many(["hello", "where is my parcel", "I can't decide which plan to take"])
    assert assess(text).to_dict() == first


def test_training_set_extension_is_what_the_composer_gives() -> None:
    from importlib import resources

    path = resources.files("calmdesk.engine").joinpath("devsets/customer_training.jsonl")
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    composed = training_pieces.compose()
    # The composed extension; the look-alike extension (stop 19, hand-written) follows it.
    last = training_pieces.FIRST_ID + len(composed) - 1
    tail = [
        row for row in rows if training_pieces.FIRST_ID <= int(str(row["id"]).lstrip("t")) <= last
    ]
    assert tail == composed
    # Each composed message takes its pieces from its own fold's fifth of every list.
    for row in tail:
        fold = (int(str(row["id"]).lstrip("t")) - 1) % 5
        situations = training_pieces._of_fold(training_pieces.SITUATIONS[str(row["topic"])], fold)
        text = _plain(str(row["text"]))
        assert any(_plain(s) in text for s in situations), row["id"]


def _plain(text: str) -> str:
    """Text as chat style writes it (lower case, no apostrophes, "u", "pls")."""
    lowered = text.lower().replace("'", "")
    return lowered.replace(" you ", " u ").replace("please", "pls")


def test_an_angry_message_is_never_of_type_none() -> None:
    texts = [str(row["text"]) for row in _customer_rows()]
    texts.append("diabolical customer service from start to finish")
    for text, result in zip(texts, assess_many(texts), strict=True):
        if result.scores["anger"] >= 0.5:
            assert result.customer_type.type != "none", text


def test_without_class_heads_gives_the_rules_reading_and_restores() -> None:
    text = "The zip on my new backpack tore off the second time I used it."
    with without_class_heads():
        rules = assess(text).topic
        with without_tone_head():
            assert assess(text).topic == rules
    assert assess(text).topic == "defect" != rules

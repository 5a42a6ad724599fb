"""Bad input never breaks `assess`, and its results keep their invariants."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmdesk.engine import SCORE_KEYS, Assessment, assess, assess_many
from calmdesk.engine.types import CUSTOMER_TYPES, TOPICS

SUPPORT_WORDS = st.sampled_from(
    [
        "refund",
        "you",
        "idiot",
        "sue",
        "lawyer",
        "THIRD",
        "time",
        "never",
        "again",
        "!!!",
        "??",
        "not",
        "going",
        "to",
        "kill",
        "thanks",
        "for",
        "nothing",
        "cancel",
        "my",
        "account",
        "\u2019",
        "I'll",
        "now",
        "NOW",
        "twitter",
        "<b>",
        "&amp;",
        "\x00",
        "\u0130",
        "\U0001f621",
        "caf\u00e9",
        "\u00df",
        "fuck",
        "u",
        "r",
    ]
)
texts = st.one_of(
    st.text(max_size=300),
    st.lists(SUPPORT_WORDS, max_size=40).map(" ".join),
    st.lists(SUPPORT_WORDS, max_size=40).map("".join),
)


def check_invariants(text: str, result: Assessment) -> None:
    assert set(result.scores) == set(SCORE_KEYS)
    for value in (*result.scores.values(), *result.emotions.values(), result.intensity):
        assert 0.0 <= value <= 1.0
    for flag in result.flags:
        assert 0 <= flag.start < flag.end <= len(text)
        assert text[flag.start : flag.end] == flag.evidence
    assert result.customer_type.type in CUSTOMER_TYPES
    assert result.topic in TOPICS
    assert result.trajectory in (None, "rising", "steady", "falling")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_any_text_gives_a_valid_deterministic_assessment(text: str) -> None:
    first = assess(text)
    check_invariants(text, first)
    assert assess(text) == first


@settings(max_examples=60, deadline=None)
@given(texts, st.lists(st.tuples(st.sampled_from(["customer", "agent", "bot"]), texts), max_size=4))
def test_any_history_is_accepted(text: str, history: list[tuple[str, str]]) -> None:
    check_invariants(text, assess(text, history=history))


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, max_size=8))
def test_batch_equals_single(batch: list[str]) -> None:
    for text, result in zip(batch, assess_many(batch), strict=True):
        single = assess(text)
        assert result.flags == single.flags
        assert (
            result.customer_type.type == single.customer_type.type
            or abs(result.customer_type.confidence - single.customer_type.confidence) < 1e-4
        )


def test_hostile_inputs_are_handled() -> None:
    cases = [
        "",
        "!" * 1_000_000,
        "\U0001f621\U0001f92c\U0001f4a9" * 1000,
        "<script>alert('you idiot')</script><p>REFUND&nbsp;NOW</p>" * 200,
        "".join(chr(c) for c in range(0, 32)) * 100,
        "Je veux un remboursement! \u6211\u8981\u9000\u6b3e\u3002 I want a refund, you idiots! "
        "\u0623\u0631\u064a\u062f \u0627\u0633\u062a\u0631\u062f\u0627\u062f",
        ("This is the third time I write and I want my refund now. " * 20_000)[:1_000_000],
        "a" * 1_000_000,
        "\ud800 lone surrogate",
    ]
    for text in cases:
        result = assess(text)
        assert set(result.scores) == set(SCORE_KEYS)
        for flag in result.flags:
            assert text[flag.start : flag.end] == flag.evidence
        assert len(result.flags) < 300


def test_non_string_input_does_not_raise() -> None:
    for value in (None, b"refund me \xff\xfe now", 12345):
        result = assess(value)  # type: ignore[arg-type]
        assert set(result.scores) == set(SCORE_KEYS)
    assert assess(b"I want a refund").scores["refund"] >= 0.5  # type: ignore[arg-type]


def test_importing_the_engine_loads_no_django() -> None:
    code = (
        "import sys, calmdesk.engine\n"
        "calmdesk.engine.assess('You idiots, refund me now!')\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(loaded))\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_tail_of_a_long_paste_starts_at_a_word_boundary() -> None:
    # A long paste is scanned at its head and its tail; the tail must not treat the middle
    # of a word as a word start ("xsuing" is not "suing").
    from calmdesk.engine.rules import SCAN_HEAD_CHARS, SCAN_TAIL_CHARS

    tail = ("suing you " + "ok " * SCAN_TAIL_CHARS)[:SCAN_TAIL_CHARS]
    for joiner, expected in (("x", False), (" ", True)):
        head = "fine " * (SCAN_HEAD_CHARS // 5 + 100) + joiner
        result = assess(head + tail)
        assert any(flag.rule == "legal.sue" for flag in result.flags) is expected

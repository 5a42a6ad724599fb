"""Any text in, a well-formed Coaching out: spans inside the draft, deterministic, bounded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmdesk.engine.coaching import coach, playbook

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo("Europe/London"))  # the night clocks change

# Text that looks like replies often enough to trigger rules, plus arbitrary Unicode.
PHRASES = st.sampled_from(
    [
        "You need to", "calm down", "I'm so sorry", "Obviously", "I'll call you tomorrow at 9am",
        "!!!", "THIS IS", "per our policy", "?", ". ", "\n", "I understand.", "you idiot",
        "İ", "ß", "\u2019", "…", "\u00a0", "within 24 hours", "by Friday", "sam@example.com",
    ]
)  # fmt: skip
DRAFTS = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(PHRASES, st.text(max_size=12)), max_size=40).map(" ".join),
)
CONVERSATIONS = st.lists(
    st.tuples(st.sampled_from(["customer", "agent", "other"]), DRAFTS), max_size=4
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draft=DRAFTS, conversation=CONVERSATIONS)
def test_findings_are_spans_of_the_draft(draft: str, conversation: list[tuple[str, str]]) -> None:
    result = coach(draft, conversation=conversation, now=NOW, timezone="Europe/London")
    assert 0 <= result.score <= 100
    for finding in result.findings:
        assert 0 <= finding.start < finding.end <= len(draft)
        assert draft[finding.start : finding.end] == finding.text
    for promise in result.promises:
        assert 0 <= promise.start < promise.end <= len(draft)
        assert draft[promise.start : promise.end] == promise.text
    assert all(0.0 <= value <= 1.0 for value in result.techniques.values())


@settings(max_examples=80, deadline=None)
@given(draft=DRAFTS, conversation=CONVERSATIONS)
def test_coaching_is_deterministic(draft: str, conversation: list[tuple[str, str]]) -> None:
    first = coach(draft, conversation=conversation, now=NOW)
    second = coach(draft, conversation=list(conversation), now=NOW)
    assert first == second
    assert first.to_dict() == second.to_dict()


@settings(max_examples=40, deadline=None)
@given(conversation=CONVERSATIONS)
def test_playbook_never_raises(conversation: list[tuple[str, str]]) -> None:
    state = playbook(conversation, now=NOW)
    assert len(state.stages) == 7


def test_long_and_adversarial_drafts_complete() -> None:
    # Patterns are bounded (no unbounded runs), so these stay linear; no timing asserted here,
    # benchmarks/bench_coach.py measures speed.
    for draft in (
        "you " * 20_000,
        "!" * 50_000,
        "I'll call you " * 5_000,
        "a" * 100_000,
        ("so " + "very " * 50) * 500,
    ):
        result = coach(draft, conversation=[("customer", draft[:5000])], now=NOW)
        assert all(f.end <= len(draft) for f in result.findings)

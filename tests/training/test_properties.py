"""Properties of the simulator over any replies (Hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmdesk.engine.coaching.types import AVOID_RULES, TECHNIQUES
from calmdesk.training import RUBRIC_ITEMS, load_scenarios, play_script
from calmdesk.training.customer import SUCCESS_OUTCOMES

from .helpers import TableCoach, coaching

SCENARIOS = load_scenarios()
OUTCOMES = SUCCESS_OUTCOMES | {"escalated", "gave_up", "missed_escalation"}

verdicts = st.fixed_dictionaries(
    {
        "techniques": st.dictionaries(
            st.sampled_from(TECHNIQUES), st.floats(0, 1, allow_nan=False), max_size=4
        ),
        "harms": st.lists(st.sampled_from(AVOID_RULES), max_size=3, unique=True),
        "timed": st.booleans(),
    }
)
replies = st.lists(st.tuples(st.text(min_size=1, max_size=80), verdicts), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=st.sampled_from(SCENARIOS), script=replies, seed=st.integers(0, 2**32))
def test_state_stays_in_range_and_every_conversation_ends_by_the_turn_limit(scenario, script, seed):
    table = {}
    lines = []
    for index, (text, verdict) in enumerate(script):
        line = f"{index}: {text.strip() or 'x'}"
        lines.append(line)
        table[line] = coaching(
            line,
            techniques=verdict["techniques"],
            harms=verdict["harms"],
            promise=line if verdict["timed"] else None,
        )
    result = play_script(scenario, lines, seed=seed, coach=TableCoach(table))
    for turn in result.turns:
        for value in (turn.after.anger, turn.after.trust, turn.after.patience):
            assert 0 <= value <= 100
    assert len(result.turns) <= scenario.max_turns
    if len([line for line in lines if line.strip()]) >= scenario.max_turns:
        assert result.outcome in OUTCOMES
    assert result.outcome is None or result.outcome in OUTCOMES
    assert all(turn.outcome is None for turn in result.turns[:-1])
    report = result.report
    assert set(report.scores) == set(RUBRIC_ITEMS)
    assert all(0 <= score <= 100 for score in report.scores.values())
    assert 0 <= report.overall <= 100
    if result.outcome not in SUCCESS_OUTCOMES and result.outcome is not None:
        assert report.overall <= 40


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=st.sampled_from(SCENARIOS),
    texts=st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=4),
)
def test_any_unicode_reply_is_handled_by_the_real_coach(scenario, texts):
    lines = [text for text in texts if text.strip()]
    result = play_script(scenario, lines, seed=1)
    assert len(result.turns) <= len(lines)
    assert result.report.overall >= 0

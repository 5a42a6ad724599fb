"""Scripted trainees against every shipped scenario, read by the real engine coach.

For each scenario, `scripts/<id>.good.txt` is a model trainee (acknowledge and
apologise, paraphrase, ask, resolve with a time-bound next step; set a boundary
or escalate where the scenario needs it) and `scripts/<id>.bad.txt` a bad one
(policy-speak, "calm down", blame, commands).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calmdesk.training import SUCCESS_OUTCOMES, load_scenarios, play_script
from calmdesk.training.customer import SUCCESS_FOR_GOAL

try:
    from calmdesk.engine.coaching import coach as _coach  # noqa: F401
except ImportError:  # pragma: no cover - only while the coach is being built
    pytest.skip("the engine coach is not available", allow_module_level=True)

SCRIPTS = Path(__file__).parent / "scripts"
SCENARIOS = load_scenarios()
LOST = {"escalated", "gave_up", "missed_escalation"}


def script(scenario_id: str, kind: str) -> list[str]:
    return (SCRIPTS / f"{scenario_id}.{kind}.txt").read_text(encoding="utf-8").splitlines()


def test_every_scenario_has_a_good_and_a_bad_script():
    have = {path.name for path in SCRIPTS.glob("*.txt")}
    for scenario in SCENARIOS:
        assert f"{scenario.id}.good.txt" in have
        assert f"{scenario.id}.bad.txt" in have


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_model_trainee_resolves_the_scenario_with_a_high_score(scenario, seed):
    result = play_script(scenario, script(scenario.id, "good"), seed=seed)
    assert result.outcome == SUCCESS_FOR_GOAL[scenario.goal]
    report = result.report
    assert report.overall >= 80, report.to_dict()
    assert report.scores["composure"] == 100
    assert report.scores["acknowledgement"] >= 80
    assert report.scores["boundaries"] == 100
    assert report.best is not None
    # The customer ended calmer and more trusting than they started.
    final = result.turns[-1].after
    assert final.anger < result.start.anger
    assert final.trust > result.start.trust


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_bad_trainee_loses_the_customer_with_a_low_score(scenario, seed):
    result = play_script(scenario, script(scenario.id, "bad"), seed=seed)
    assert result.outcome in LOST
    report = result.report
    assert report.overall <= 30, report.to_dict()
    assert report.worst is not None
    assert report.suggestions
    hurt = {effect.cause for turn in result.turns for effect in turn.hurt}
    assert hurt & {"policy_hiding", "dismissing_emotion", "blame", "command", "insult"}
    final = result.turns[-1].after
    assert final.anger > result.start.anger or final.patience == 0


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s.goal == "satisfy"], ids=lambda s: s.id
)
def test_jumping_straight_to_the_fix_scores_below_the_model(scenario):
    good = script(scenario.id, "good")
    fix_only = [good[-1]]
    rushed = play_script(scenario, fix_only, seed=0)
    model = play_script(scenario, good, seed=0)
    assert rushed.outcome not in SUCCESS_OUTCOMES
    assert rushed.report.overall < model.report.overall - 30
    first = rushed.turns[0]
    assert "solution_too_soon" in {effect.cause for effect in first.hurt}


def test_abuse_without_a_boundary_is_not_a_success():
    scenario = next(s for s in SCENARIOS if s.id == "abusive-refund")
    no_boundary = [line.split(" I do want to help")[0] for line in script(scenario.id, "good")]
    result = play_script(scenario, no_boundary, seed=0)
    assert result.outcome not in SUCCESS_OUTCOMES
    assert result.report.scores["boundaries"] == 0


def test_being_nice_to_a_threat_without_escalating_is_not_a_success():
    scenario = next(s for s in SCENARIOS if s.id == "threat-boiler")
    kind_only = [
        "I'm really sorry. You've had a week with no heating and two engineers who never "
        "turned up, and I can hear how desperate and angry you are.",
        "I will get an engineer with the right part to you tomorrow morning, and I'll call "
        "you by 5pm today to confirm.",
        "I'll also send electric heaters today.",
    ] * 3
    result = play_script(scenario, kind_only, seed=0)
    assert result.outcome in {"missed_escalation", "gave_up"}
    assert result.report.overall <= 40


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_same_seed_same_transcript(scenario):
    lines = script(scenario.id, "bad")
    first = play_script(scenario, lines, seed=42).to_dict()
    second = play_script(scenario, lines, seed=42).to_dict()
    assert first == second


def test_seeds_vary_the_customer():
    transcripts = set()
    for scenario in SCENARIOS:
        for seed in range(1, 7):
            transcripts.add(
                (
                    scenario.id,
                    play_script(scenario, script(scenario.id, "bad"), seed=seed).transcript,
                )
            )
    # Every scenario varies between some of its seeds.
    by_scenario: dict[str, int] = {}
    for scenario_id, _ in transcripts:
        by_scenario[scenario_id] = by_scenario.get(scenario_id, 0) + 1
    assert all(count > 1 for count in by_scenario.values()), by_scenario

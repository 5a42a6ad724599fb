from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from calmdesk.engine.types import CUSTOMER_TYPES
from calmdesk.training import (
    PROBLEM_KINDS,
    ScenarioError,
    find_scenario,
    load_scenario,
    load_scenarios,
)
from calmdesk.training.customer import load_profiles
from calmdesk.training.scenario import REQUIRED_BANKS, scenario_from_mapping, scenario_from_toml

SHIPPED = load_scenarios()


def _raw(scenario_id: str) -> dict[str, Any]:
    text = (resources.files("calmdesk.training") / "scenarios" / f"{scenario_id}.toml").read_text(
        encoding="utf-8"
    )
    return tomllib.loads(text)


def test_at_least_twelve_scenarios_cover_every_customer_type_and_problem_kind():
    assert len(SHIPPED) >= 12
    assert {s.persona.type for s in SHIPPED} == set(CUSTOMER_TYPES) - {"none"}
    problems = {s.problem for s in SHIPPED}
    assert len(problems) >= 6
    assert problems == set(PROBLEM_KINDS) - {"other"}
    assert {s.goal for s in SHIPPED} == {"satisfy", "boundary", "escalate"}


def test_abuse_scenarios_need_a_boundary_and_threats_an_escalation():
    for scenario in SHIPPED:
        if scenario.problem == "abuse_boundary":
            assert scenario.goal == "boundary"
            assert scenario.lines["backs_down"]
        if scenario.problem == "threat_escalation":
            assert scenario.goal == "escalate"
            assert scenario.lines["handed_over"]


@pytest.mark.parametrize("scenario", SHIPPED, ids=lambda s: s.id)
def test_every_shipped_scenario_is_complete(scenario):
    assert scenario.id == Path(scenario.id).name
    assert scenario.opening and scenario.situation
    assert scenario.facts.can_offer and scenario.facts.cannot_offer
    for bank in REQUIRED_BANKS:
        assert scenario.lines[bank], bank
    for bank, lines in scenario.lines.items():
        for line in lines:
            # Every placeholder resolves; a KeyError here is an authoring bug.
            assert "{" not in scenario.fill(line), (bank, line)
    assert 0 <= scenario.start.anger <= 100


def test_file_names_match_ids():
    root = resources.files("calmdesk.training") / "scenarios"
    names = sorted(entry.name[:-5] for entry in root.iterdir() if entry.name.endswith(".toml"))
    assert names == [scenario.id for scenario in SHIPPED]


def test_persona_profiles_exist_for_every_type_and_persona_lines_come_first():
    profiles = load_profiles()
    assert set(profiles) == set(CUSTOMER_TYPES) - {"none"}
    abusive = profiles["abusive"]
    assert abusive.lines["dismissed"][0].startswith("Calm down? Who do you think")
    # Common lines fill in behind the persona's own.
    assert (
        "Don't tell me to calm down. I have every reason to be upset."
        in abusive.common["dismissed"]
    )
    assert all(profile.common["stalled"] for profile in profiles.values())
    assert profiles["impatient"].drain > profiles["confused"].drain


def test_find_scenario_names_the_choices():
    assert find_scenario("refund-kettle").persona.type == "demanding"
    with pytest.raises(KeyError, match="refund-kettle"):
        find_scenario("no-such-thing")


def test_missing_and_wrong_fields_are_all_reported_at_once():
    data = _raw("refund-kettle")
    del data["opening"]
    data["persona"]["type"] = "grumpy"
    data["start"]["anger"] = 140
    data["problem"] = "bad_weather"
    with pytest.raises(ScenarioError) as caught:
        scenario_from_mapping(data, source="broken.toml")
    message = str(caught.value)
    assert "broken.toml" in message
    assert "opening must be a non-empty string" in message
    assert "persona.type is 'grumpy'" in message and "angry_venter" in message
    assert "start.anger is 140" in message
    assert "problem is 'bad_weather'" in message
    assert len(caught.value.problems) == 4


def test_unknown_placeholder_is_an_error():
    data = _raw("refund-kettle")
    data["lines"]["angry"] = ["Where is my {parcel}?"]
    with pytest.raises(ScenarioError, match=r"placeholder\(s\) parcel not defined"):
        scenario_from_mapping(data)


def test_goal_specific_bank_is_required():
    data = _raw("abusive-refund")
    del data["lines"]["backs_down"]
    with pytest.raises(ScenarioError, match=r"lines\.backs_down must be a non-empty list"):
        scenario_from_mapping(data)


def test_offers_need_cues_and_lines_need_strings():
    data = _raw("late-sofa")
    data["facts"]["can_offer"][0]["cues"] = []
    data["lines"]["wary"] = ["fine", 3]
    with pytest.raises(ScenarioError) as caught:
        scenario_from_mapping(data)
    assert any("can_offer[0].cues" in problem for problem in caught.value.problems)
    assert any("lines.wary" in problem for problem in caught.value.problems)


def test_booleans_are_not_numbers():
    data = _raw("late-sofa")
    data["start"]["trust"] = True
    with pytest.raises(ScenarioError, match=r"start\.trust must be a whole number"):
        scenario_from_mapping(data)


def test_invalid_toml_and_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        scenario_from_toml("id = [unclosed", source="x.toml")
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario(tmp_path / "missing.toml")


def test_loading_a_directory_and_duplicate_ids(tmp_path):
    root = resources.files("calmdesk.training") / "scenarios"
    text = (root / "late-sofa.toml").read_text(encoding="utf-8")
    (tmp_path / "a.toml").write_text(text, encoding="utf-8")
    assert [s.id for s in load_scenarios(tmp_path)] == ["late-sofa"]
    (tmp_path / "b.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match="duplicate id 'late-sofa'"):
        load_scenarios(tmp_path)


def test_scenarios_are_frozen():
    scenario = SHIPPED[0]
    with pytest.raises(AttributeError):
        scenario.id = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        scenario.lines["angry"] = ()  # type: ignore[index]


def test_unknown_line_banks_are_typos():
    data = _raw("late-sofa")
    data["lines"]["furius"] = ["Grr."]
    with pytest.raises(ScenarioError, match=r"lines\.furius is not a line bank"):
        scenario_from_mapping(data)


def test_a_scenario_can_override_a_persona_reaction():
    data = _raw("late-sofa")
    data["lines"]["dismissed"] = ["Calm down? On my one day off?"]
    scenario = scenario_from_mapping(data)
    assert scenario.lines["dismissed"] == ("Calm down? On my one day off?",)
    from calmdesk.training import PracticeSession

    from .test_customer import CALM_DOWN, table

    turn = PracticeSession(scenario, coach=table()).reply(CALM_DOWN)
    assert turn.customer.startswith("Calm down? On my one day off?")

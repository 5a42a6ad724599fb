from __future__ import annotations

import re
import tomllib

import pytest

from calmdesk.training import ScenarioError
from calmdesk.training.drafting import draft_scenario, messages_from_json
from calmdesk.training.scenario import scenario_from_mapping, scenario_from_toml

REAL = [
    (
        "customer",
        "Hi, this is Margaret Olsen. This is the THIRD time I'm writing about order 772341. "
        "You charged my card twice and nobody answers! Call me on 07700 900781 or email "
        "m.olsen@example.org. I am absolutely furious.",
    ),
    ("agent", "Hello Margaret, I'm Tom from billing. I'm sorry, let me check order 772341."),
    ("customer", "Tom, you said that last week as well. I want my money back today."),
    ("agent", "I understand. I've refunded the second charge."),
    ("customer", "Fine. Thank you, Tom. Regards, Margaret"),
]
PERSONAL = ["Margaret", "Olsen", "772341", "07700 900781", "m.olsen@example.org", "Tom"]


def finish(data):
    """What a supervisor does with a draft: write every TODO."""

    def fill(value, path):
        if isinstance(value, dict):
            return {key: fill(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item, path) for item in value]
        if isinstance(value, str) and value.startswith("TODO"):
            return "refund" if path.endswith("cues") else f"Written by a supervisor for {path}."
        return value

    return fill(data, "")


def test_draft_is_anonymised_and_classified():
    text = draft_scenario(REAL, scenario_id="double-charge-real", names=["Margaret Olsen"])
    for original in PERSONAL:
        assert original not in text, original
    data = tomllib.loads(text)
    assert data["id"] == "double-charge-real"
    assert data["topic"] == "billing"
    assert data["problem"] == "repeat_contact"  # "third time" outweighs the topic
    assert data["goal"] == "satisfy"
    assert data["start"]["anger"] >= 50
    assert data["opening"].startswith("Hi, this is ")
    assert "01632 960001" in data["opening"]
    # The customer's later messages become lines, still anonymised.
    all_lines = [line for bank in data["lines"].values() for line in bank]
    assert any("I want my money back today" in line for line in all_lines)


def test_a_draft_does_not_load_until_every_todo_is_written():
    data = tomllib.loads(draft_scenario(REAL, scenario_id="x"))
    with pytest.raises(ScenarioError) as caught:
        scenario_from_mapping(data)
    assert any("still a TODO" in problem for problem in caught.value.problems)
    scenario = scenario_from_mapping(finish(data))
    assert scenario.id == "x"
    assert scenario.persona.type in {"angry_venter", "demanding", "chronic_complainer", "impatient"}


def test_threats_and_abuse_set_the_goal():
    threat = [("customer", "If you cut my power off I will come to your office and hurt someone.")]
    data = tomllib.loads(draft_scenario(threat, scenario_id="t"))
    assert (data["goal"], data["problem"], data["persona"]["type"]) == (
        "escalate",
        "threat_escalation",
        "potentially_violent",
    )
    assert "handed_over" in data["lines"]
    abuse = [("customer", "You useless idiot, you are the worst agent I have ever spoken to.")]
    data = tomllib.loads(draft_scenario(abuse, scenario_id="a"))
    assert (data["goal"], data["problem"]) == ("boundary", "abuse_boundary")
    assert scenario_from_mapping(finish(data)).goal == "boundary"


def test_braces_in_customer_text_cannot_become_placeholders():
    text = draft_scenario(
        [("customer", "My code {abc} does not work at all, fix it")], scenario_id="b"
    )
    scenario = scenario_from_toml(re.sub(r'"TODO[^"]*"', '"filled in"', text))
    assert "{" not in scenario.opening


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="no customer message"):
        draft_scenario([("agent", "Hello?")])
    with pytest.raises(ValueError, match="JSON list"):
        messages_from_json({"role": "customer"})
    with pytest.raises(ValueError, match="role must be"):
        messages_from_json([{"role": "bot", "text": "hi"}])
    assert messages_from_json([{"role": "customer", "text": "hi"}]) == [("customer", "hi")]

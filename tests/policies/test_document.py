from __future__ import annotations

import copy

import pytest

from calmdesk.policies.document import (
    Condition,
    PolicyInvalid,
    default_policy_raw,
    policy_parse,
)


def test_default_policy_is_valid_and_has_a_three_step_ladder() -> None:
    policy = policy_parse(default_policy_raw())
    steps = [rung.step for rung in policy.boundaries.ladder]
    assert steps == ["warned", "final_warning", "ended"]
    assert policy.boundaries.ladder[-1].hand_to_supervisor
    assert policy.boundaries.threat.incident == "safety"
    assert {rule.id for rule in policy.escalation_rules} >= {"legal_threat", "repeated_contact"}


def test_rung_for_past_the_top_stays_on_the_top() -> None:
    boundaries = policy_parse(default_policy_raw()).boundaries
    assert boundaries.rung_for(0) is None
    assert boundaries.rung_for(1).step == "warned"  # type: ignore[union-attr]
    assert boundaries.rung_for(7).step == "ended"  # type: ignore[union-attr]


def test_default_copy_is_independent() -> None:
    first = default_policy_raw()
    first["boundaries"]["abuse_threshold"] = 0.1
    assert default_policy_raw()["boundaries"]["abuse_threshold"] == 0.5


@pytest.mark.parametrize(
    ("change", "expected_problem"),
    [
        (lambda d: d.update(version=2), "policy.version: must be 1"),
        (
            lambda d: d["boundaries"].update(abuse_threshold=3),
            "boundaries.abuse_threshold: must be a number between 0 and 1",
        ),
        (
            lambda d: d["boundaries"]["ladder"].reverse(),
            "boundaries.ladder: steps must go up",
        ),
        (
            lambda d: d["boundaries"]["ladder"][0].pop("reply"),
            "boundaries.ladder[0].reply: needs the text of a reply",
        ),
        (
            lambda d: d["escalation_rules"][0]["when"].append({"fact": "score.mood", "gte": 1}),
            "escalation_rules[0].when[1].fact: must name a known fact",
        ),
        (
            lambda d: d["escalation_rules"][0]["when"].append({"fact": "score.anger", "in": [1]}),
            "escalation_rules[0].when[1].in: score.anger is compared with gte",
        ),
        (
            lambda d: d["escalation_rules"][0]["actions"].update(priority="sky-high"),
            "escalation_rules[0].actions.priority: must be one of low",
        ),
        (
            lambda d: d["escalation_rules"][1].update(id=d["escalation_rules"][0]["id"]),
            "escalation_rules[1].id: 'legal_threat' is used twice",
        ),
        (
            lambda d: d["escalation_rules"][0].update(actions={}),
            "escalation_rules[0].actions: must do something",
        ),
        (lambda d: d.update(surprise=True), "policy.surprise: is not a known setting"),
    ],
)
def test_invalid_documents_name_the_problem(change, expected_problem: str) -> None:
    document = copy.deepcopy(default_policy_raw())
    change(document)
    with pytest.raises(PolicyInvalid) as error:
        policy_parse(document)
    assert any(problem.startswith(expected_problem) for problem in error.value.problems), (
        error.value.problems
    )


@pytest.mark.parametrize("junk", [None, [], "policy", 3, {"version": 1}])
def test_junk_is_refused_with_a_message_not_a_crash(junk: object) -> None:
    with pytest.raises(PolicyInvalid) as error:
        policy_parse(junk)
    assert error.value.problems


def test_several_problems_are_reported_together() -> None:
    document = default_policy_raw()
    document["version"] = 9
    document["boundaries"]["threat_threshold"] = -1
    with pytest.raises(PolicyInvalid) as error:
        policy_parse(document)
    assert len(error.value.problems) == 2


@pytest.mark.parametrize(
    ("condition", "facts", "holds"),
    [
        (Condition("score.churn", "gte", 0.6), {"score.churn": 0.6}, True),
        (Condition("score.churn", "gt", 0.6), {"score.churn": 0.6}, False),
        (Condition("score.churn", "lt", 0.6), {"score.churn": 0.2}, True),
        (Condition("score.churn", "gte", 0.6), {}, False),
        (Condition("message.topic", "eq", "billing"), {"message.topic": "billing"}, True),
        (Condition("message.topic", "in", ("refund", "billing")), {"message.topic": "x"}, False),
    ],
)
def test_conditions(condition: Condition, facts: dict[str, float | str], holds: bool) -> None:
    assert condition.holds(facts) is holds

"""The policy form: document -> form fields -> document, and problems in the form's words."""

from __future__ import annotations

from typing import Any

from calmdesk.policies.document import default_policy_raw, policy_parse
from calmdesk.supervision.policy_editor import (
    CONDITIONS_PER_RULE,
    document_from_post,
    editor_from_document,
    validate_posted_policy,
)


def post_of(document: dict[str, Any]) -> dict[str, str]:
    """What the browser posts for the form rendered from `document`, untouched."""
    editor = editor_from_document(document)
    data: dict[str, str] = {
        "mode": "form",
        "rule_count": str(len(editor.rules)),
        "abuse_threshold": editor.abuse_threshold,
        "threat_threshold": editor.threat_threshold,
        "threat-priority": editor.threat_priority,
        "threat-incident": editor.threat_incident,
        "threat-reply": editor.threat_reply,
        "blocking-auto_reply": editor.blocked_reply,
        "blocking-every_hours": editor.blocked_every_hours,
    }
    if editor.tolerate_untargeted_profanity:
        data["tolerate_untargeted_profanity"] = "on"
    if editor.threat_notify_supervisors:
        data["threat-notify_supervisors"] = "on"
    for rung in editor.rungs:
        data[f"ladder-{rung.index}-reply"] = rung.reply
        data[f"ladder-{rung.index}-incident"] = rung.incident
        if rung.hand_to_supervisor:
            data[f"ladder-{rung.index}-hand_to_supervisor"] = "on"
    for rule in editor.rules:
        prefix = f"rule-{rule.index}"
        data[f"{prefix}-id"] = rule.id
        data[f"{prefix}-description"] = rule.description
        data[f"{prefix}-priority"] = rule.priority
        data[f"{prefix}-incident"] = rule.incident
        data[f"{prefix}-suggested_reply"] = rule.suggested_reply
        for flag in ("supervisor_queue", "notify_supervisors"):
            if getattr(rule, flag):
                data[f"{prefix}-{flag}"] = "on"
        assert len(rule.conditions) == CONDITIONS_PER_RULE
        for number, condition in enumerate(rule.conditions):
            data[f"{prefix}-cond-{number}-fact"] = condition.fact
            data[f"{prefix}-cond-{number}-op"] = condition.operator
            data[f"{prefix}-cond-{number}-value"] = condition.value
    return data


def test_an_untouched_form_gives_back_the_same_policy() -> None:
    original = default_policy_raw()
    document, problems = validate_posted_policy(post_of(original))
    assert problems == []
    assert policy_parse(document) == policy_parse(original)


def test_adding_changing_and_removing_rules() -> None:
    original = default_policy_raw()
    data = post_of(original)
    new = len(original["escalation_rules"])
    data.update(
        {
            f"rule-{new}-id": "refund_and_angry",
            f"rule-{new}-description": "Wants money back and is angry",
            f"rule-{new}-cond-0-fact": "score.refund",
            f"rule-{new}-cond-0-op": "gte",
            f"rule-{new}-cond-0-value": "0.7",
            f"rule-{new}-cond-1-fact": "message.topic",
            f"rule-{new}-cond-1-op": "in",
            f"rule-{new}-cond-1-value": "refund, billing",
            f"rule-{new}-priority": "high",
            "rule-0-delete": "on",
            "rule-1-cond-0-value": "0.8",
        }
    )
    document, problems = validate_posted_policy(data)
    assert problems == []
    parsed = policy_parse(document)
    ids = [rule.id for rule in parsed.escalation_rules]
    assert original["escalation_rules"][0]["id"] not in ids
    assert ids[-1] == "refund_and_angry"
    added = parsed.escalation_rules[-1]
    assert [c.describe() for c in added.conditions] == [
        "score.refund >= 0.7",
        "message.topic in refund, billing",
    ]
    assert parsed.escalation_rules[0].conditions[0].value == 0.8


def test_problems_are_named_as_the_form_names_them_and_nothing_is_lost() -> None:
    data = post_of(default_policy_raw())
    new = len(default_policy_raw()["escalation_rules"])
    data.update(
        {
            "abuse_threshold": "lots",
            "ladder-1-reply": "",
            f"rule-{new}-id": "does_nothing",
            f"rule-{new}-cond-0-fact": "score.anger",
            f"rule-{new}-cond-0-value": "0.9",
        }
    )
    document, problems = document_from_post(data)
    assert problems == ["Abuse threshold: 'lots' is not a number"]
    # What was typed comes back into the form for correcting.
    assert editor_from_document(document).abuse_threshold == "lots"

    data["abuse_threshold"] = "0.5"
    _, problems = validate_posted_policy(data)
    assert any(p.startswith("Second insult: final warning, reply:") for p in problems)
    assert any(p.startswith(f"Rule {new + 1} (does_nothing), actions:") for p in problems)

    data[f"rule-{new}-cond-0-fact"] = "score.mood"
    _, problems = validate_posted_policy(data)
    assert any(p.startswith(f"Rule {new + 1} (does_nothing), condition 1, fact:") for p in problems)


def test_the_empty_new_rule_row_is_ignored_and_bad_counts_are_safe() -> None:
    data = post_of(default_policy_raw())
    data["rule_count"] = "not a number"
    document, problems = validate_posted_policy(data)
    assert problems == [] and document["escalation_rules"] == []

"""The policy as a form: the document turned into rows an admin can edit, and back.

The policy itself stays one JSON document validated by `calmdesk.policies.document`;
this module only maps it to named form fields (`rule-2-cond-0-fact`, ...) and the posted
fields back to a document. Validation is the document's own, so the form and the
advanced JSON editor can never disagree about what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from calmdesk.policies.document import (
    INCIDENT_KINDS,
    LADDER_STEPS,
    NUMERIC_FACTS,
    NUMERIC_OPERATORS,
    PRIORITIES,
    TEXT_FACTS,
    PolicyInvalid,
    policy_parse,
)

CONDITIONS_PER_RULE: Final = 3
# One empty rule at the end of the form, for adding a rule without writing JSON.
NEW_RULES_SHOWN: Final = 1
MAX_FORM_RULES: Final = 100
OPERATOR_LABELS: Final[Mapping[str, str]] = {
    "gte": "at least",
    "gt": "more than",
    "lte": "at most",
    "lt": "less than",
    "eq": "is",
    "in": "is one of",
}
FACT_CHOICES: Final[tuple[str, ...]] = tuple(sorted(NUMERIC_FACTS)) + tuple(sorted(TEXT_FACTS))
LADDER_LABELS: Final[Mapping[str, str]] = {
    "warned": "First insult aimed at staff",
    "final_warning": "Second insult: final warning",
    "ended": "Third insult: end the conversation",
}


class PostedData(Protocol):
    """What a Django QueryDict offers (and a plain dict of strings, in tests)."""

    def get(self, key: str, default: Any = None) -> Any: ...


@dataclass
class ConditionRow:
    fact: str = ""
    operator: str = "gte"
    value: str = ""


@dataclass
class RuleRow:
    index: int
    id: str = ""
    description: str = ""
    conditions: list[ConditionRow] = field(default_factory=list)
    priority: str = ""
    supervisor_queue: bool = False
    notify_supervisors: bool = False
    incident: str = ""
    suggested_reply: str = ""
    is_new: bool = False


@dataclass
class RungRow:
    index: int
    step: str
    label: str
    reply: str = ""
    hand_to_supervisor: bool = False
    incident: str = ""


@dataclass
class PolicyEditor:
    """Everything the form shows, already as text for the inputs."""

    abuse_threshold: str
    threat_threshold: str
    tolerate_untargeted_profanity: bool
    rungs: list[RungRow]
    threat_priority: str
    threat_incident: str
    threat_notify_supervisors: bool
    threat_reply: str
    blocked_reply: str
    blocked_every_hours: str
    rules: list[RuleRow]

    # Choices for the selects, here so the template needs no logic of its own.
    facts: Sequence[str] = FACT_CHOICES
    operators: Mapping[str, str] = field(default_factory=lambda: dict(OPERATOR_LABELS))
    priorities: Sequence[str] = tuple(PRIORITIES)
    incident_kinds: Sequence[str] = INCIDENT_KINDS


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _priority_name(value: object) -> str:
    for name, number in PRIORITIES.items():
        if value in (name, number):
            return name
    return _text(value)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _condition_row(raw: object) -> ConditionRow:
    item = _mapping(raw)
    operators = [key for key in item if key != "fact"]
    operator = operators[0] if operators else "gte"
    return ConditionRow(
        fact=_text(item.get("fact")), operator=operator, value=_text(item.get(operator))
    )


def _rule_row(index: int, raw: object) -> RuleRow:
    item = _mapping(raw)
    actions = _mapping(item.get("actions"))
    when = item.get("when")
    conditions = [_condition_row(c) for c in when] if isinstance(when, list) else []
    conditions = conditions[:CONDITIONS_PER_RULE]
    conditions += [ConditionRow() for _ in range(CONDITIONS_PER_RULE - len(conditions))]
    return RuleRow(
        index=index,
        id=_text(item.get("id")),
        description=_text(item.get("description")),
        conditions=conditions,
        priority=_priority_name(actions.get("priority")),
        supervisor_queue=actions.get("supervisor_queue") is True,
        notify_supervisors=actions.get("notify_supervisors") is True,
        incident=_text(actions.get("incident")),
        suggested_reply=_text(actions.get("suggested_reply")),
    )


def editor_from_document(raw: Mapping[str, Any]) -> PolicyEditor:
    """The form's rows for a document (also for an invalid one being corrected)."""
    boundaries = _mapping(raw.get("boundaries"))
    threat = _mapping(boundaries.get("threat"))
    blocking = _mapping(raw.get("blocking"))
    ladder = boundaries.get("ladder")
    ladder_items = {
        _mapping(rung).get("step"): _mapping(rung)
        for rung in (ladder if isinstance(ladder, list) else [])
    }
    rungs = [
        RungRow(
            index=index,
            step=step,
            label=LADDER_LABELS[step],
            reply=_text(ladder_items.get(step, {}).get("reply")),
            hand_to_supervisor=ladder_items.get(step, {}).get("hand_to_supervisor") is True,
            incident=_text(ladder_items.get(step, {}).get("incident")),
        )
        for index, step in enumerate(LADDER_STEPS)
    ]
    rules_raw = raw.get("escalation_rules")
    rules = [
        _rule_row(index, rule)
        for index, rule in enumerate(rules_raw if isinstance(rules_raw, list) else [])
    ]
    for _ in range(NEW_RULES_SHOWN):
        rules.append(_rule_row(len(rules), {}))
        rules[-1].is_new = True
    return PolicyEditor(
        abuse_threshold=_text(boundaries.get("abuse_threshold", 0.5)),
        threat_threshold=_text(boundaries.get("threat_threshold", 0.5)),
        tolerate_untargeted_profanity=boundaries.get("tolerate_untargeted_profanity") is not False,
        rungs=rungs,
        threat_priority=_priority_name(threat.get("priority", "urgent")),
        threat_incident=_text(threat.get("incident")),
        threat_notify_supervisors=threat.get("notify_supervisors") is not False,
        threat_reply=_text(threat.get("reply")),
        blocked_reply=_text(blocking.get("auto_reply")),
        blocked_every_hours=_text(blocking.get("auto_reply_every_hours", 24)),
        rules=rules,
    )


# --- posted form -> document -----------------------------------------------------------


class _Reader:
    """Reads the posted fields, collecting the ones that are not what they should be."""

    def __init__(self, data: PostedData) -> None:
        self.data = data
        self.problems: list[str] = []

    def text(self, name: str) -> str:
        value = self.data.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def checked(self, name: str) -> bool:
        return self.text(name) in {"on", "1", "true", "yes"}

    def number(self, name: str, where: str) -> float | str:
        text = self.text(name)
        try:
            return float(text)
        except ValueError:
            self.problems.append(f"{where}: {text!r} is not a number")
            return text


def _optional(document: dict[str, Any], key: str, value: object) -> None:
    if value not in ("", None, False):
        document[key] = value


def _posted_condition(reader: _Reader, prefix: str, where: str) -> dict[str, Any] | None:
    fact = reader.text(f"{prefix}-fact")
    value = reader.text(f"{prefix}-value")
    if not fact and not value:
        return None
    operator = reader.text(f"{prefix}-op") or "gte"
    parsed: object
    if fact in NUMERIC_FACTS and operator in NUMERIC_OPERATORS:
        parsed = reader.number(f"{prefix}-value", where)
    elif operator == "in":
        parsed = [part.strip() for part in value.split(",") if part.strip()]
    else:
        parsed = value
    return {"fact": fact, operator: parsed}


def _posted_rule(reader: _Reader, index: int) -> dict[str, Any] | None:
    prefix = f"rule-{index}"
    if reader.checked(f"{prefix}-delete"):
        return None
    rule_id = reader.text(f"{prefix}-id")
    conditions = [
        condition
        for number in range(CONDITIONS_PER_RULE)
        if (
            condition := _posted_condition(
                reader,
                f"{prefix}-cond-{number}",
                f"Rule {rule_id or index + 1}, condition {number + 1}",
            )
        )
        is not None
    ]
    actions: dict[str, Any] = {}
    _optional(actions, "priority", reader.text(f"{prefix}-priority"))
    _optional(actions, "supervisor_queue", reader.checked(f"{prefix}-supervisor_queue"))
    _optional(actions, "notify_supervisors", reader.checked(f"{prefix}-notify_supervisors"))
    _optional(actions, "incident", reader.text(f"{prefix}-incident"))
    _optional(actions, "suggested_reply", reader.text(f"{prefix}-suggested_reply"))
    description = reader.text(f"{prefix}-description")
    if not rule_id and not conditions and not description and not actions:
        return None  # the empty row for a new rule, left empty
    return {"id": rule_id, "description": description, "when": conditions, "actions": actions}


def document_from_post(data: PostedData) -> tuple[dict[str, Any], list[str]]:
    """The document the form describes, and the problems found reading the form itself."""
    reader = _Reader(data)
    ladder: list[dict[str, Any]] = []
    for index, step in enumerate(LADDER_STEPS):
        prefix = f"ladder-{index}"
        rung: dict[str, Any] = {"step": step, "reply": reader.text(f"{prefix}-reply")}
        _optional(rung, "hand_to_supervisor", reader.checked(f"{prefix}-hand_to_supervisor"))
        _optional(rung, "incident", reader.text(f"{prefix}-incident"))
        ladder.append(rung)
    threat: dict[str, Any] = {
        "priority": reader.text("threat-priority") or "urgent",
        "notify_supervisors": reader.checked("threat-notify_supervisors"),
        "reply": reader.text("threat-reply"),
    }
    _optional(threat, "incident", reader.text("threat-incident"))
    count_text = reader.text("rule_count")
    count = min(int(count_text), MAX_FORM_RULES) if count_text.isdigit() else 0
    rules = [rule for index in range(count) if (rule := _posted_rule(reader, index)) is not None]
    blocking: dict[str, Any] = {
        "auto_reply_every_hours": reader.number(
            "blocking-every_hours", "Blocked contacts: hours between automatic replies"
        )
    }
    _optional(blocking, "auto_reply", reader.text("blocking-auto_reply"))
    document = {
        "version": 1,
        "boundaries": {
            "abuse_threshold": reader.number("abuse_threshold", "Abuse threshold"),
            "threat_threshold": reader.number("threat_threshold", "Threat threshold"),
            "tolerate_untargeted_profanity": reader.checked("tolerate_untargeted_profanity"),
            "ladder": ladder,
            "threat": threat,
        },
        "blocking": blocking,
        "escalation_rules": rules,
    }
    return document, reader.problems


_RULE_PLACE = re.compile(r"^escalation_rules\[(\d+)\]")
_LADDER_PLACE = re.compile(r"^boundaries\.ladder\[(\d+)\]")
_CONDITION_PLACE = re.compile(r"\.when\[(\d+)\]")


def readable_problems(problems: Sequence[str], document: Mapping[str, Any]) -> list[str]:
    """The validator's 'where: what' with its JSON paths named as the form names them."""
    rules = document.get("escalation_rules")
    rule_ids = [
        _text(_mapping(rule).get("id")) for rule in (rules if isinstance(rules, list) else [])
    ]

    def rule_name(match: re.Match[str]) -> str:
        index = int(match.group(1))
        name = rule_ids[index] if index < len(rule_ids) and rule_ids[index] else ""
        return f"Rule {index + 1}{f' ({name})' if name else ''}"

    def rung_name(match: re.Match[str]) -> str:
        index = int(match.group(1))
        step = LADDER_STEPS[index] if index < len(LADDER_STEPS) else ""
        return LADDER_LABELS.get(step, f"Ladder step {index + 1}")

    readable = []
    for problem in problems:
        where, separator, what = problem.partition(": ")
        if not separator:
            readable.append(problem)
            continue
        rule = _RULE_PLACE.match(where)
        rung = _LADDER_PLACE.match(where)
        place = rule or rung
        if place is None:
            readable.append(problem)
            continue
        head = rule_name(rule) if rule else rung_name(place)
        # The rest of the path reads as the form's own words: "condition 2, fact".
        tail = _CONDITION_PLACE.sub(
            lambda m: f".condition {int(m.group(1)) + 1}", where[place.end() :]
        )
        parts = [part.replace("_", " ") for part in tail.split(".") if part]
        readable.append(f"{', '.join([head, *parts])}: {what}")
    return readable


def validate_posted_policy(data: PostedData) -> tuple[dict[str, Any], list[str]]:
    """The posted document and every problem with it, in the form's words ([] when valid)."""
    document, problems = document_from_post(data)
    if problems:
        return document, problems
    try:
        policy_parse(document)
    except PolicyInvalid as invalid:
        return document, readable_problems(invalid.problems, document)
    return document, []

"""The policy document: its schema, validation, and the default that ships with calmdesk.

A policy is data an admin edits. Everything that reads it goes through `policy_parse`,
which either returns a frozen, typed `PolicyDocument` or raises `PolicyInvalid` listing
every problem with its place in the document, so the editor can show them all at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

SCORE_KEYS: Final[tuple[str, ...]] = (
    "anger",
    "frustration",
    "abuse",
    "threat",
    "legal",
    "public",
    "churn",
    "refund",
    "repeat_contact",
    "urgency",
    "negative",
    "confusion",
    "gratitude",
)
FLAG_KINDS: Final[tuple[str, ...]] = (
    *SCORE_KEYS,
    "profanity",
    "sarcasm",
    "human_request",
    "demanding",
    "know_it_all",
    "indecisive",
    "chronic",
    "impatience",
    "intensifier",
)
NUMERIC_FACTS: Final[frozenset[str]] = frozenset(
    {f"score.{key}" for key in SCORE_KEYS}
    | {f"flag.{kind}" for kind in FLAG_KINDS}
    | {
        "customer.value",
        "customer.recent_conversations",
        "conversation.waiting_minutes",
        "conversation.inbound_messages",
    }
)
TEXT_FACTS: Final[frozenset[str]] = frozenset(
    {"message.customer_type", "message.topic", "conversation.trajectory"}
)
NUMERIC_OPERATORS: Final[tuple[str, ...]] = ("gte", "gt", "lte", "lt", "eq")
TEXT_OPERATORS: Final[tuple[str, ...]] = ("eq", "in")
PRIORITIES: Final[Mapping[str, int]] = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
INCIDENT_KINDS: Final[tuple[str, ...]] = (
    "safety",
    "abuse",
    "legal",
    "public",
    "complaint",
    "churn",
    "other",
)
LADDER_STEPS: Final[tuple[str, ...]] = ("warned", "final_warning", "ended")
MAX_REPLY_CHARS: Final = 2000
MAX_RULES: Final = 100
SUPPORTED_VERSION: Final = 1


class PolicyInvalid(ValueError):
    """The document breaks the schema; `problems` lists each one as 'where: what'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Condition:
    fact: str
    operator: str
    value: float | str | tuple[str, ...]

    def holds(self, facts: Mapping[str, float | str]) -> bool:
        actual = facts.get(self.fact)
        if actual is None:
            return False
        if isinstance(self.value, tuple):
            return actual in self.value
        if isinstance(self.value, str) or isinstance(actual, str):
            return actual == self.value
        match self.operator:
            case "gte":
                return actual >= self.value
            case "gt":
                return actual > self.value
            case "lte":
                return actual <= self.value
            case "lt":
                return actual < self.value
            case _:
                return actual == self.value

    def describe(self) -> str:
        symbols = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "=", "in": "in"}
        if isinstance(self.value, tuple):
            value = ", ".join(self.value)
        elif isinstance(self.value, float):
            value = f"{self.value:g}"
        else:
            value = self.value
        return f"{self.fact} {symbols[self.operator]} {value}"


@dataclass(frozen=True, slots=True)
class Actions:
    priority: int | None = None
    supervisor_queue: bool = False
    notify_supervisors: bool = False
    incident: str | None = None
    suggested_reply: str = ""


@dataclass(frozen=True, slots=True)
class EscalationRule:
    id: str
    description: str
    conditions: tuple[Condition, ...]
    actions: Actions

    def matches(self, facts: Mapping[str, float | str]) -> bool:
        return all(condition.holds(facts) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class LadderRung:
    step: str
    reply: str
    hand_to_supervisor: bool = False
    incident: str | None = None

    @property
    def label(self) -> str:
        return self.step.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class ThreatResponse:
    priority: int
    incident: str | None
    notify_supervisors: bool
    reply: str


@dataclass(frozen=True, slots=True)
class Boundaries:
    abuse_threshold: float
    threat_threshold: float
    tolerate_untargeted_profanity: bool
    ladder: tuple[LadderRung, ...]
    threat: ThreatResponse

    def rung_for(self, strikes: int) -> LadderRung | None:
        """The rung for the n-th insult; past the top, the top rung applies again."""
        if strikes <= 0 or not self.ladder:
            return None
        return self.ladder[min(strikes, len(self.ladder)) - 1]


@dataclass(frozen=True, slots=True)
class Blocking:
    """What a message from a blocked contact identity gets back."""

    auto_reply: str
    auto_reply_every_hours: float


DEFAULT_BLOCKED_REPLY: Final = (
    "We can no longer answer messages sent from this address. Please contact us another "
    "way; a supervisor is reviewing your account."
)


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    boundaries: Boundaries
    escalation_rules: tuple[EscalationRule, ...]
    blocking: Blocking = Blocking(DEFAULT_BLOCKED_REPLY, 24.0)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


def _mapping(value: object, where: str, problems: _Problems) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    problems.add(where, "must be an object")
    return {}


def _unknown_keys(
    value: Mapping[str, Any], allowed: set[str], where: str, problems: _Problems
) -> None:
    for key in value:
        if key not in allowed:
            problems.add(f"{where}.{key}", "is not a known setting")


def _fraction(value: object, where: str, problems: _Problems, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        problems.add(where, "must be a number between 0 and 1")
        return default
    return float(value)


def _flag(value: object, where: str, problems: _Problems, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.add(where, "must be true or false")
        return default
    return value


def _reply(value: object, where: str, problems: _Problems, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            problems.add(where, "needs the text of a reply")
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.add(where, "must be text")
        return ""
    if len(value) > MAX_REPLY_CHARS:
        problems.add(where, f"is longer than {MAX_REPLY_CHARS} characters")
    return value.strip()


def _incident(value: object, where: str, problems: _Problems) -> str | None:
    if value is None:
        return None
    if value not in INCIDENT_KINDS:
        problems.add(where, f"must be one of {', '.join(INCIDENT_KINDS)}")
        return None
    return str(value)


def _priority(value: object, where: str, problems: _Problems) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in PRIORITIES:
        problems.add(where, f"must be one of {', '.join(PRIORITIES)}")
        return None
    return PRIORITIES[value]


def _ladder(value: object, where: str, problems: _Problems) -> tuple[LadderRung, ...]:
    if not isinstance(value, list) or not value:
        problems.add(where, "must be a list of at least one step")
        return ()
    rungs: list[LadderRung] = []
    for index, raw in enumerate(value):
        at = f"{where}[{index}]"
        item = _mapping(raw, at, problems)
        _unknown_keys(item, {"step", "reply", "hand_to_supervisor", "incident"}, at, problems)
        step = item.get("step")
        if step not in LADDER_STEPS:
            problems.add(f"{at}.step", f"must be one of {', '.join(LADDER_STEPS)}")
            step = "warned"
        rungs.append(
            LadderRung(
                step=str(step),
                reply=_reply(item.get("reply"), f"{at}.reply", problems, required=True),
                hand_to_supervisor=_flag(
                    item.get("hand_to_supervisor"), f"{at}.hand_to_supervisor", problems, False
                ),
                incident=_incident(item.get("incident"), f"{at}.incident", problems),
            )
        )
    order = [LADDER_STEPS.index(rung.step) for rung in rungs]
    if order != sorted(order):
        problems.add(where, "steps must go up: warned, then final_warning, then ended")
    return tuple(rungs)


def _boundaries(value: object, problems: _Problems) -> Boundaries:
    where = "boundaries"
    raw = _mapping(value, where, problems)
    _unknown_keys(
        raw,
        {
            "abuse_threshold",
            "threat_threshold",
            "tolerate_untargeted_profanity",
            "ladder",
            "threat",
        },
        where,
        problems,
    )
    threat_raw = _mapping(raw.get("threat", {}), f"{where}.threat", problems)
    _unknown_keys(
        threat_raw,
        {"priority", "incident", "notify_supervisors", "reply"},
        f"{where}.threat",
        problems,
    )
    threat = ThreatResponse(
        priority=_priority(
            threat_raw.get("priority", "urgent"), f"{where}.threat.priority", problems
        )
        or PRIORITIES["urgent"],
        incident=_incident(
            threat_raw.get("incident", "safety"), f"{where}.threat.incident", problems
        ),
        notify_supervisors=_flag(
            threat_raw.get("notify_supervisors"),
            f"{where}.threat.notify_supervisors",
            problems,
            True,
        ),
        reply=_reply(threat_raw.get("reply"), f"{where}.threat.reply", problems, required=False),
    )
    return Boundaries(
        abuse_threshold=_fraction(
            raw.get("abuse_threshold"), f"{where}.abuse_threshold", problems, 0.5
        ),
        threat_threshold=_fraction(
            raw.get("threat_threshold"), f"{where}.threat_threshold", problems, 0.5
        ),
        tolerate_untargeted_profanity=_flag(
            raw.get("tolerate_untargeted_profanity"),
            f"{where}.tolerate_untargeted_profanity",
            problems,
            True,
        ),
        ladder=_ladder(raw.get("ladder"), f"{where}.ladder", problems),
        threat=threat,
    )


def _condition(raw: object, where: str, problems: _Problems) -> Condition | None:
    item = _mapping(raw, where, problems)
    fact = item.get("fact")
    operators = [key for key in item if key != "fact"]
    if not isinstance(fact, str) or fact not in NUMERIC_FACTS | TEXT_FACTS:
        problems.add(
            f"{where}.fact",
            "must name a known fact (score.<key>, flag.<kind>, customer.value, "
            "customer.recent_conversations, conversation.waiting_minutes, "
            "conversation.inbound_messages, message.customer_type, message.topic, "
            "conversation.trajectory)",
        )
        return None
    if len(operators) != 1:
        problems.add(where, "needs exactly one comparison (gte, gt, lte, lt, eq or in)")
        return None
    operator = operators[0]
    value = item[operator]
    if fact in NUMERIC_FACTS:
        if operator not in NUMERIC_OPERATORS:
            problems.add(f"{where}.{operator}", f"{fact} is compared with gte, gt, lte, lt or eq")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.add(f"{where}.{operator}", "must be a number")
            return None
        return Condition(fact=fact, operator=operator, value=float(value))
    if operator not in TEXT_OPERATORS:
        problems.add(f"{where}.{operator}", f"{fact} is compared with eq or in")
        return None
    if operator == "in":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.add(f"{where}.in", "must be a list of text values")
            return None
        return Condition(fact=fact, operator=operator, value=tuple(value))
    if not isinstance(value, str):
        problems.add(f"{where}.eq", "must be text")
        return None
    return Condition(fact=fact, operator=operator, value=value)


def _rule(raw: object, where: str, problems: _Problems) -> EscalationRule | None:
    item = _mapping(raw, where, problems)
    _unknown_keys(item, {"id", "description", "when", "actions"}, where, problems)
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip() or len(rule_id) > 64:
        problems.add(f"{where}.id", "must be a short name (1-64 characters)")
        rule_id = ""
    description = item.get("description", "")
    if not isinstance(description, str) or len(description) > 300:
        problems.add(f"{where}.description", "must be text of at most 300 characters")
        description = ""
    when = item.get("when")
    conditions: list[Condition] = []
    if not isinstance(when, list) or not when:
        problems.add(f"{where}.when", "must be a list of at least one condition")
    else:
        for index, raw_condition in enumerate(when):
            condition = _condition(raw_condition, f"{where}.when[{index}]", problems)
            if condition is not None:
                conditions.append(condition)
    actions_raw = _mapping(item.get("actions"), f"{where}.actions", problems)
    _unknown_keys(
        actions_raw,
        {"priority", "supervisor_queue", "notify_supervisors", "incident", "suggested_reply"},
        f"{where}.actions",
        problems,
    )
    actions = Actions(
        priority=_priority(actions_raw.get("priority"), f"{where}.actions.priority", problems),
        supervisor_queue=_flag(
            actions_raw.get("supervisor_queue"),
            f"{where}.actions.supervisor_queue",
            problems,
            False,
        ),
        notify_supervisors=_flag(
            actions_raw.get("notify_supervisors"),
            f"{where}.actions.notify_supervisors",
            problems,
            False,
        ),
        incident=_incident(actions_raw.get("incident"), f"{where}.actions.incident", problems),
        suggested_reply=_reply(
            actions_raw.get("suggested_reply"),
            f"{where}.actions.suggested_reply",
            problems,
            required=False,
        ),
    )
    if actions == Actions():
        problems.add(f"{where}.actions", "must do something")
    return EscalationRule(
        id=str(rule_id).strip(),
        description=description,
        conditions=tuple(conditions),
        actions=actions,
    )


def _blocking(value: object, problems: _Problems) -> Blocking:
    where = "blocking"
    raw = _mapping(value if value is not None else {}, where, problems)
    _unknown_keys(raw, {"auto_reply", "auto_reply_every_hours"}, where, problems)
    every = raw.get("auto_reply_every_hours", 24)
    if isinstance(every, bool) or not isinstance(every, int | float) or not 0 <= every <= 720:
        problems.add(f"{where}.auto_reply_every_hours", "must be a number of hours from 0 to 720")
        every = 24
    reply = _reply(raw.get("auto_reply"), f"{where}.auto_reply", problems, required=False)
    return Blocking(auto_reply=reply or DEFAULT_BLOCKED_REPLY, auto_reply_every_hours=float(every))


def policy_parse(raw: object) -> PolicyDocument:
    """The validated document, or `PolicyInvalid` naming every problem."""
    problems = _Problems()
    document = _mapping(raw, "policy", problems)
    if problems.items:
        raise PolicyInvalid(problems.items)
    _unknown_keys(
        document, {"version", "boundaries", "blocking", "escalation_rules"}, "policy", problems
    )
    if document.get("version") != SUPPORTED_VERSION:
        problems.add("policy.version", f"must be {SUPPORTED_VERSION}")
    boundaries = _boundaries(document.get("boundaries"), problems)
    blocking = _blocking(document.get("blocking"), problems)
    raw_rules = document.get("escalation_rules", [])
    rules: list[EscalationRule] = []
    if not isinstance(raw_rules, list):
        problems.add("escalation_rules", "must be a list")
    elif len(raw_rules) > MAX_RULES:
        problems.add("escalation_rules", f"may hold at most {MAX_RULES} rules")
    else:
        seen: set[str] = set()
        for index, raw_rule in enumerate(raw_rules):
            rule = _rule(raw_rule, f"escalation_rules[{index}]", problems)
            if rule is None:
                continue
            if rule.id and rule.id in seen:
                problems.add(f"escalation_rules[{index}].id", f"{rule.id!r} is used twice")
            seen.add(rule.id)
            rules.append(rule)
    if problems.items:
        raise PolicyInvalid(problems.items)
    return PolicyDocument(boundaries=boundaries, escalation_rules=tuple(rules), blocking=blocking)


@cache
def _default_text() -> str:
    return (
        resources.files("calmdesk.policies")
        .joinpath("data/default_policy.json")
        .read_text(encoding="utf-8")
    )


def default_policy_raw() -> dict[str, Any]:
    """A fresh copy of the shipped default, safe for the caller to change."""
    raw: dict[str, Any] = json.loads(_default_text())
    return raw

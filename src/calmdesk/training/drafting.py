"""Turning a real past conversation into a scenario draft for a supervisor to finish.

The conversation is anonymised first (`anonymise_conversation`), then read by the
engine: the customer's type, the topic, how angry they were at the start and
whether there was abuse or a threat decide the persona, problem, goal and start
state; the customer's own (anonymised) messages become the opening and the first
lines of the mood banks. What only a person can know (what really happened,
what the organisation can offer) is left as TODO entries, and a scenario with a
TODO left in it does not load, so a half-finished draft can never be played.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from calmdesk.engine import assess
from calmdesk.training.anonymise import anonymise_conversation

TODO: Final = "TODO"

PROBLEM_FOR_TOPIC: Final[Mapping[str, str]] = {
    "refund": "refund_refused",
    "delivery": "late_delivery",
    "defect": "defect",
    "billing": "billing_error",
    "policy_misunderstanding": "misread_rule",
}
# Assessment scores at or above this count as present when choosing the goal.
PRESENT: Final = 0.5


def _mood(anger: float) -> str:
    if anger >= 0.75:
        return "furious"
    if anger >= 0.5:
        return "angry"
    if anger >= 0.3:
        return "wary"
    return "softening"


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string: same quotes and escapes.
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: Iterable[str]) -> str:
    items = [f"    {_toml_string(value)}," for value in values]
    return "[\n" + "\n".join(items) + "\n]"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "draft"


def draft_scenario(
    messages: Sequence[tuple[str, str]],
    *,
    scenario_id: str | None = None,
    names: Iterable[str] = (),
) -> str:
    """A scenario TOML draft from (role, text) messages; roles are customer and agent."""
    anonymous = anonymise_conversation(messages, names=names)
    customer = [(index, text) for index, (role, text) in enumerate(anonymous) if role == "customer"]
    if not customer or not customer[0][1].strip():
        raise ValueError("the conversation has no customer message to start a scenario from")
    readings = [
        assess(text, history=[(r, t) for r, t in anonymous[:index]]) for index, text in customer
    ]
    first = readings[0]
    peak = {
        key: max(reading.scores[key] for reading in readings)
        for key in ("abuse", "threat", "repeat_contact", "anger", "frustration", "urgency")
    }
    types = sorted(
        (r.customer_type for r in readings if r.customer_type.type != "none"),
        key=lambda found: -found.confidence,
    )
    persona_type = types[0].type if types else "angry_venter"
    topics = [r.topic for r in readings if r.topic != "other"]
    topic = topics[0] if topics else "other"
    if peak["threat"] >= PRESENT:
        goal, problem, persona_type = "escalate", "threat_escalation", "potentially_violent"
    elif peak["abuse"] >= PRESENT:
        goal, problem, persona_type = "boundary", "abuse_boundary", "abusive"
    else:
        goal = "satisfy"
        problem = (
            "repeat_contact"
            if peak["repeat_contact"] >= PRESENT
            else PROBLEM_FOR_TOPIC.get(topic, "other")
        )
    start_anger = round(100 * max(first.scores["anger"], first.scores["frustration"]))
    start_trust = max(5, round(40 - 30 * peak["repeat_contact"]))
    start_patience = max(20, round(70 - 30 * peak["urgency"]))

    banks: dict[str, list[str]] = {"furious": [], "angry": [], "wary": [], "softening": []}
    for reading, (_, text) in zip(readings[1:], customer[1:], strict=True):
        banks[_mood(max(reading.scores["anger"], reading.scores["frustration"]))].append(
            text.strip()
        )
    todo = f"{TODO}: write this line in the customer's voice"
    lines: dict[str, list[str]] = {name: found or [todo] for name, found in banks.items()}
    for name in ("answers", "wants", "satisfied", "gave_up", "escalate"):
        lines[name] = [todo]
    if goal == "boundary":
        lines["backs_down"] = [todo]
    if goal == "escalate":
        lines["handed_over"] = [todo]

    opening = customer[0][1].strip().replace("{", "(").replace("}", ")")
    identifier = scenario_id or f"draft-{_slug(opening)}"
    out = [
        "# Drafted from a real conversation; personal data replaced. Replace every TODO",
        "# before use: a scenario with a TODO left in it does not load.",
        f"id = {_toml_string(identifier)}",
        f"title = {_toml_string(TODO + ': a short title')}",
        f"problem = {_toml_string(problem)}",
        f"topic = {_toml_string(topic)}",
        f"goal = {_toml_string(goal)}",
        f"situation = {_toml_string(TODO + ': the organisation and what happened before')}",
        f"opening = {_toml_string(opening)}",
        "",
        "[persona]",
        f"name = {_toml_string(TODO + ': an invented name')}",
        f"type = {_toml_string(persona_type)}",
        f"description = {_toml_string(TODO + ': who they are and what calms them')}",
        "",
        "[facts]",
        f"what_happened = {_toml_string(TODO + ': what really happened')}",
        f"customer_wants = {_toml_string(TODO + ': what they want')}",
        "details = {}",
        "",
        "[[facts.can_offer]]",
        'id = "todo"',
        f"text = {_toml_string(TODO + ': something the organisation can offer')}",
        f"cues = [{_toml_string(TODO)}]",
        "",
        "[[facts.cannot_offer]]",
        'id = "todo_not"',
        f"text = {_toml_string(TODO + ': something it cannot offer')}",
        f"cues = [{_toml_string(TODO)}]",
        "",
        "[start]",
        f"anger = {min(100, max(0, start_anger))}",
        f"trust = {start_trust}",
        f"patience = {start_patience}",
        "",
        "[lines]",
    ]
    for name, values in lines.items():
        escaped = [value.replace("{", "(").replace("}", ")") for value in values]
        out.append(f"{name} = {_toml_list(escaped)}")
    return "\n".join(out) + "\n"


def messages_from_json(data: Any) -> list[tuple[str, str]]:
    """(role, text) pairs from a JSON list of {"role", "text"} objects, with clear errors."""
    if not isinstance(data, list):
        raise ValueError('expected a JSON list of {"role": ..., "text": ...} objects')
    messages: list[tuple[str, str]] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ValueError(f'message {index} needs a "text" string')
        role = item.get("role")
        if role not in ("customer", "agent"):
            raise ValueError(f'message {index}: role must be "customer" or "agent", not {role!r}')
        messages.append((role, item["text"]))
    return messages

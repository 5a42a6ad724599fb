"""The bridge between stored messages and the language engine.

The engine knows nothing of Django; this module turns a conversation's stored
messages into the engine's history and the engine's results into the numbers
the inbox sorts on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from calmdesk.conversations.models import Direction, Message

# How much each risk signal weighs in the single number the inbox sorts by. A
# threat of violence outranks everything; rudeness alone ranks below a legal or
# public threat, which can cost the organisation more.
RISK_WEIGHTS: Mapping[str, float] = {
    "threat": 1.0,
    "abuse": 0.85,
    "legal": 0.8,
    "public": 0.7,
    "churn": 0.65,
    "anger": 0.6,
    "repeat_contact": 0.55,
    "refund": 0.4,
    "urgency": 0.4,
    "frustration": 0.35,
}

HISTORY_MESSAGES = 12


def risk_from_scores(scores: Mapping[str, float]) -> float:
    """One number in [0, 1]: the strongest weighted signal, nudged up when several agree."""
    weighted = sorted(
        (weight * float(scores.get(label, 0.0)) for label, weight in RISK_WEIGHTS.items()),
        reverse=True,
    )
    if not weighted:
        return 0.0
    top = weighted[0]
    others = sum(weighted[1:3])
    return round(min(1.0, top + 0.15 * others * (1.0 - top)), 4)


def history_for(messages: Iterable[Message]) -> list[tuple[str, str]]:
    """Earlier messages as (role, text) pairs; internal notes are not part of the dialogue."""
    history: list[tuple[str, str]] = []
    for message in messages:
        if message.direction == Direction.NOTE:
            continue
        role = "customer" if message.direction == Direction.INBOUND else "agent"
        history.append((role, message.body_text))
    return history[-HISTORY_MESSAGES:]


def assess_for_storage(text: str, *, history: list[tuple[str, str]]) -> dict[str, Any]:
    from calmdesk.engine import assess

    result: dict[str, Any] = assess(text, history=history).to_dict()
    return result

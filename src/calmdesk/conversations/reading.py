"""The bridge between stored messages and the language engine.

The engine knows nothing of Django; this module turns a conversation's stored
messages into the engine's history and the engine's results into the numbers
the inbox sorts on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from calmdesk.conversations.models import Direction, Message
from calmdesk.engine.risk import risk_from_scores

__all__ = [
    "HISTORY_MESSAGES",
    "assess_for_storage",
    "history_for",
    "history_for_assess",
    "risk_from_scores",
]

HISTORY_MESSAGES = 12


def _dialogue(messages: Iterable[Message]) -> list[Message]:
    """The newest messages of the dialogue the engine reads; internal notes are not part of it."""
    return [m for m in messages if m.direction != Direction.NOTE][-HISTORY_MESSAGES:]


def _role(message: Message) -> str:
    return "customer" if message.direction == Direction.INBOUND else "agent"


def history_for(messages: Iterable[Message]) -> list[tuple[str, str]]:
    """Earlier messages as (role, text) pairs."""
    return [(_role(message), message.body_text) for message in _dialogue(messages)]


def history_for_assess(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """`history_for`, with each customer message's stored scores when it has them
    (see `recent_dialogue(..., with_scores=True)`), so the engine need not read it again."""
    history: list[dict[str, Any]] = []
    for message in _dialogue(messages):
        turn: dict[str, Any] = {"role": _role(message), "text": message.body_text}
        scores = getattr(message, "stored_scores", None)
        if message.direction == Direction.INBOUND and isinstance(scores, dict):
            turn["scores"] = scores
        history.append(turn)
    return history


def assess_for_storage(
    text: str, *, history: Sequence[tuple[str, str] | Mapping[str, Any]]
) -> dict[str, Any]:
    from calmdesk.engine import assess

    result: dict[str, Any] = assess(text, history=history).to_dict()
    return result

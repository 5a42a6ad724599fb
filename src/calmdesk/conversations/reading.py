"""The bridge between stored messages and the language engine.

The engine knows nothing of Django; this module turns a conversation's stored
messages into the engine's history and the engine's results into the numbers
the inbox sorts on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from calmdesk.conversations.models import Direction, Message
from calmdesk.engine.risk import risk_from_scores

__all__ = ["HISTORY_MESSAGES", "assess_for_storage", "history_for", "risk_from_scores"]

HISTORY_MESSAGES = 12


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

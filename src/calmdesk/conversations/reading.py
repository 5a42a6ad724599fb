"""The bridge between stored messages and the language engine.

The engine knows nothing of Django; this module turns a conversation's stored
messages into the engine's history and the engine's results into the numbers
the inbox sorts on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from calmdesk.conversations.models import Direction, Message
from calmdesk.engine.risk import risk_from_scores
from calmdesk.lean_reads import quoted, rows

__all__ = [
    "HISTORY_MESSAGES",
    "assess_for_storage",
    "history_for",
    "risk_from_scores",
    "stored_history",
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


def stored_history(conversation_id: int) -> list[dict[str, Any]]:
    """The engine's history of a stored conversation, oldest first: the newest
    HISTORY_MESSAGES messages of the dialogue (no internal notes), each customer message
    with the scores it was given on arrival, so the engine need not read it again.

    Receive asks for it on every follow-up message; through the ORM (a JSON key
    annotation and a model per row) it cost ~2 ms of CPU on the ingest benchmark.
    """
    sql, whole_assessment = _stored_history_sql(connections[DEFAULT_DB_ALIAS].vendor)
    found = rows(sql, [conversation_id])
    history: list[dict[str, Any]] = []
    for direction, text, stored in reversed(found):
        turn: dict[str, Any] = {
            "role": "customer" if direction == Direction.INBOUND else "agent",
            "text": text,
        }
        if direction == Direction.INBOUND and stored is not None:
            decoded = json.loads(stored) if isinstance(stored, str | bytes) else stored
            scores = (
                decoded.get("scores") if whole_assessment and isinstance(decoded, dict) else decoded
            )
            if isinstance(scores, dict):
                turn["scores"] = scores
        history.append(turn)
    return history


@cache
def _stored_history_sql(vendor: str) -> tuple[str, bool]:
    """The read's SQL, and whether it returns whole assessments (a backend without a
    JSON key operator we know) rather than only their scores."""
    assessment = quoted(Message, "assessment")
    # Only the scores of each stored assessment: the rest (flags, evidence, emotions) is
    # most of the document and the engine does not read it.
    key_reads = {
        "postgresql": f"({assessment} -> 'scores')::text",
        "sqlite": f"json_extract({assessment}, '$.scores')",
    }
    scores = key_reads.get(vendor, assessment)
    # Names come from the model's metadata; the conversation id is a parameter.
    sql = (
        f"SELECT {quoted(Message, 'direction')}, {quoted(Message, 'body_text')}, {scores} "  # noqa: S608
        f"FROM {quoted(Message)} WHERE {quoted(Message, 'conversation')} = %s "
        f"AND {quoted(Message, 'direction')} <> '{Direction.NOTE.value}' "
        f"ORDER BY {quoted(Message, 'created_at')} DESC, {quoted(Message, 'id')} DESC "
        f"LIMIT {HISTORY_MESSAGES}"
    )
    return sql, vendor not in key_reads


def assess_for_storage(
    text: str, *, history: Sequence[tuple[str, str] | Mapping[str, Any]]
) -> dict[str, Any]:
    from calmdesk.engine import assess

    result: dict[str, Any] = assess(text, history=history).to_dict()
    return result

"""Conversation items as the coach reads them: (role, text) tuples, objects, or mappings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Turn:
    index: int
    role: str  # "customer", "agent", or whatever else the caller sent (ignored by the coach)
    text: str


def as_text(value: Any) -> str:
    """Any text-like value as str; undecodable bytes are replaced, never an error."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _role_and_text(item: Any) -> tuple[Any, Any]:
    if isinstance(item, Mapping):
        return item.get("role"), item.get("text")
    if isinstance(item, tuple | list) and len(item) == 2:
        return item[0], item[1]
    return getattr(item, "role", None), getattr(item, "text", None)


def read_turns(conversation: Iterable[Any]) -> tuple[Turn, ...]:
    """Turns in order; malformed items are skipped rather than failing the whole call."""
    turns: list[Turn] = []
    try:
        items = list(conversation)
    except TypeError:
        return ()
    for index, item in enumerate(items):
        role, text = _role_and_text(item)
        role_text = as_text(role).strip().lower()
        if not role_text:
            continue
        turns.append(Turn(index, role_text, as_text(text)))
    return tuple(turns)


def customer_texts_answered(turns: tuple[Turn, ...]) -> tuple[str, ...]:
    """The customer messages a new agent reply answers: those after the last agent turn.

    If the agent spoke last, the reply still answers the customer's last message.
    """
    trailing: list[str] = []
    for turn in reversed(turns):
        if turn.role == "agent":
            break
        if turn.role == "customer":
            trailing.append(turn.text)
    if trailing:
        return tuple(reversed(trailing))
    for turn in reversed(turns):
        if turn.role == "customer":
            return (turn.text,)
    return ()

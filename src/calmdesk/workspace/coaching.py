"""The bridge between the reply box and the engine's coach and playbook.

The coach lands in the engine after the rest of the workspace; until
`calmdesk.engine.coach` exists the reply box works without live coaching and
replies are stored without a coaching record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from calmdesk.conversations.models import Message
from calmdesk.conversations.reading import history_for


def coach_available() -> bool:
    try:
        from calmdesk.engine import coach  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class DraftReview:
    """What the coach made of a draft, ready for the template and for storage."""

    draft: str
    stored: dict[str, Any]
    blocking: bool


def review_draft(draft: str, thread: Iterable[Message]) -> DraftReview | None:
    if not coach_available():
        return None
    from calmdesk.engine import coach  # type: ignore[attr-defined]

    result = coach(draft, conversation=history_for(thread))
    stored: dict[str, Any] = result.to_dict()
    return DraftReview(draft=draft, stored=stored, blocking=bool(stored.get("blocking")))


def playbook_for(thread: Iterable[Message]) -> dict[str, Any] | None:
    try:
        from calmdesk.engine import playbook  # type: ignore[attr-defined]
    except ImportError:
        return None
    state: dict[str, Any] = playbook(history_for(thread)).to_dict()
    return state

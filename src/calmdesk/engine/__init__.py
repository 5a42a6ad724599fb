"""calmdesk's language engine: pure Python, never imports Django.

Public API:
- assess(text, *, history=()) -> Assessment   reads a customer message
- assess_many(texts) -> list[Assessment]       the same for a batch of independent messages
- coach(draft, *, conversation=()) -> Coaching  coaches an agent's reply (engine.coaching)
- playbook(conversation) -> PlaybookState       where the de-escalation stands
"""

from calmdesk.engine.assess import EMOTION_LABELS, Turn, assess, assess_many
from calmdesk.engine.coaching import Coaching, PlaybookState, coach, playbook
from calmdesk.engine.types import (
    CUSTOMER_TYPES,
    SCORE_KEYS,
    TOPICS,
    Assessment,
    CustomerType,
    Escalation,
    Flag,
)

__all__ = [
    "CUSTOMER_TYPES",
    "EMOTION_LABELS",
    "SCORE_KEYS",
    "TOPICS",
    "Assessment",
    "Coaching",
    "CustomerType",
    "Escalation",
    "Flag",
    "PlaybookState",
    "Turn",
    "assess",
    "assess_many",
    "coach",
    "playbook",
]

"""calmdesk's language engine: pure Python, never imports Django.

Public API:
- assess(text, *, history=()) -> Assessment   reads a customer message
- assess_many(texts) -> list[Assessment]       the same for a batch of independent messages
- coach(draft, *, conversation=()) -> Coaching  coaches an agent's reply (engine.coaching)
"""

from calmdesk.engine.assess import EMOTION_LABELS, Turn, assess, assess_many
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
    "CustomerType",
    "Escalation",
    "Flag",
    "Turn",
    "assess",
    "assess_many",
]
from calmdesk.engine.coaching import Coaching, PlaybookState, coach, playbook  # noqa: F401

"""The reply coach and the de-escalation playbook (the second half of calmdesk's engine).

- `coach(draft, *, conversation=(), now=None, timezone="UTC") -> Coaching`
- `playbook(conversation) -> PlaybookState`
"""

from calmdesk.engine.coaching.playbook import playbook
from calmdesk.engine.coaching.reply_coach import coach
from calmdesk.engine.coaching.types import (
    GOOD_RULES,
    PLAYBOOK_STAGES,
    RULE_IDS,
    TECHNIQUES,
    Coaching,
    Evidence,
    Finding,
    PlaybookState,
    Promise,
    ScoreReason,
    Stage,
)

__all__ = [
    "GOOD_RULES",
    "PLAYBOOK_STAGES",
    "RULE_IDS",
    "TECHNIQUES",
    "Coaching",
    "Evidence",
    "Finding",
    "PlaybookState",
    "Promise",
    "ScoreReason",
    "Stage",
    "coach",
    "playbook",
]

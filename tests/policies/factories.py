"""Stored conversations with chosen engine readings, for tests of what the policy does.

The end-to-end tests send real text through `inbound_message_receive`; these helpers
let a test fix the engine's reading so a single decision can be checked in isolation.
"""

from __future__ import annotations

from typing import Any

from calmdesk.accounts.models import Organisation, Team
from calmdesk.conversations.models import Conversation, Direction, Message
from calmdesk.customers.models import Customer

SCORE_KEYS = (
    "anger",
    "frustration",
    "abuse",
    "threat",
    "legal",
    "public",
    "churn",
    "refund",
    "repeat_contact",
    "urgency",
    "negative",
    "confusion",
    "gratitude",
)


def reading(
    text: str = "",
    *,
    flags: tuple[tuple[str, str], ...] = (),
    customer_type: str = "none",
    topic: str = "other",
    **scores: float,
) -> dict[str, Any]:
    """An Assessment.to_dict()-shaped reading; each flag is (kind, evidence found in text)."""
    flag_dicts = []
    for kind, evidence in flags:
        start = text.index(evidence)
        flag_dicts.append(
            {
                "kind": kind,
                "start": start,
                "end": start + len(evidence),
                "evidence": evidence,
                "rule": f"test_{kind}",
                "weight": 0.9,
            }
        )
    return {
        "scores": {key: float(scores.get(key, 0.0)) for key in SCORE_KEYS},
        "emotions": {},
        "intensity": 0.0,
        "flags": flag_dicts,
        "customer_type": {"type": customer_type, "confidence": 0.5, "evidence": []},
        "topic": topic,
        "trajectory": None,
        "last_reply_effect": None,
        "escalate": {"recommended": False, "reasons": []},
    }


def make_conversation(
    org: Organisation, *, team: Team | None = None, customer: Customer | None = None, **fields: Any
) -> Conversation:
    customer = customer or Customer.objects.create(organisation=org, name="Pat Doyle")
    return Conversation.objects.create(
        organisation=org,
        customer=customer,
        channel="chat",
        team=team,
        subject=fields.pop("subject", "Broken kettle"),
        **fields,
    )


def add_inbound(conversation: Conversation, text: str, assessment: dict[str, Any]) -> Message:
    return Message.objects.create(
        organisation=conversation.organisation,
        conversation=conversation,
        direction=Direction.INBOUND,
        channel=conversation.channel,
        body_text=text,
        assessment=assessment,
    )

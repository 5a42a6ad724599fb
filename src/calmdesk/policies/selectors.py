"""Reads of where conversations stand with the policy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import OPEN_STATUSES, Conversation, Direction, Message
from calmdesk.conversations.selectors import visible_conversations
from calmdesk.policies.models import BoundaryStep, ConversationState, IdentityBlock


@dataclass(frozen=True)
class PolicyStateView:
    """What the API and the conversation page show about the policy's actions."""

    escalated: bool
    escalation_reasons: tuple[str, ...]
    boundary_step: str
    abuse_strikes: int
    in_supervisor_queue: bool
    suggested_reply: str
    suggested_reply_reason: str
    fired_rules: tuple[str, ...]
    taken_over_by_id: int | None


NO_STATE = PolicyStateView(
    escalated=False,
    escalation_reasons=(),
    boundary_step=BoundaryStep.NONE,
    abuse_strikes=0,
    in_supervisor_queue=False,
    suggested_reply="",
    suggested_reply_reason="",
    fired_rules=(),
    taken_over_by_id=None,
)


def policy_state(conversation: Conversation) -> PolicyStateView:
    """The policy's state of a conversation the caller has already been allowed to see."""
    state = ConversationState.objects.filter(conversation=conversation).first()
    if state is None:
        return NO_STATE
    return PolicyStateView(
        escalated=state.escalated,
        escalation_reasons=tuple(state.escalation_reasons),
        boundary_step=state.boundary_step,
        abuse_strikes=state.abuse_strikes,
        in_supervisor_queue=state.in_supervisor_queue,
        suggested_reply=state.suggested_reply,
        suggested_reply_reason=state.suggested_reply_reason,
        fired_rules=tuple(state.fired_rules),
        taken_over_by_id=state.taken_over_by_id,
    )


BOUNDARY_STATUS: dict[str, str] = {
    BoundaryStep.WARNED: "first warning given",
    BoundaryStep.FINAL_WARNING: "final warning given",
    BoundaryStep.ENDED: "conversation ended, a supervisor has the case",
    BoundaryStep.THREAT: "threat of violence, escalated at once",
}
BOUNDARY_SUGGESTION_REASONS: dict[str, str] = {
    "warned": "a first insult aimed at staff: set the boundary",
    "final_warning": "a repeated insult: the final warning",
    "ended": "a third insult: close politely, a supervisor takes the case",
}


@dataclass(frozen=True)
class PolicyPanel:
    """What the reply box says about the policy: where the ladder stands and its reply."""

    state: PolicyStateView
    boundary_label: str
    show_suggestion: bool
    suggestion_reason: str


def _suggestion_reason(reason: str) -> str:
    kind, _, detail = reason.partition(":")
    if kind == "boundary":
        return BOUNDARY_SUGGESTION_REASONS.get(detail, "boundary")
    if kind == "rule":
        return f"escalation rule {detail.replace('_', ' ')}"
    if kind == "threat":
        return "a threat of violence"
    return reason.replace("_", " ")


def policy_panel(conversation: Conversation, thread: Sequence[Message]) -> PolicyPanel:
    """The policy's state for the reply box; its suggestion only while the customer is
    the one waiting (once an agent has answered, the suggestion is history)."""
    state = policy_state(conversation)
    last_turn = next((m for m in reversed(thread) if m.direction != Direction.NOTE), None)
    return PolicyPanel(
        state=state,
        boundary_label=BOUNDARY_STATUS.get(state.boundary_step, state.boundary_step),
        show_suggestion=bool(state.suggested_reply)
        and last_turn is not None
        and last_turn.direction == Direction.INBOUND,
        suggestion_reason=_suggestion_reason(state.suggested_reply_reason),
    )


def supervisor_queue(user: User) -> QuerySet[ConversationState]:
    """Open escalated or handed-over conversations the user may see, most urgent first."""
    return (
        ConversationState.objects.filter(
            conversation__in=visible_conversations(user).filter(status__in=OPEN_STATUSES),
            in_supervisor_queue=True,
        )
        .select_related("conversation__customer", "conversation__team", "conversation__assignee")
        .order_by("-conversation__priority", "escalated_at", "id")
    )


def identity_blocks(user: User, *, active_only: bool = True) -> QuerySet[IdentityBlock]:
    """Blocks in the user's organisation (blocking is organisation-wide, like identities)."""
    if not user.is_authenticated or user.organisation_id is None:
        return IdentityBlock.objects.none()
    blocks = IdentityBlock.objects.filter(organisation_id=user.organisation_id).select_related(
        "identity__customer", "blocked_by", "reviewed_by", "unblocked_by"
    )
    if active_only:
        blocks = blocks.filter(unblocked_at__isnull=True)
    return blocks


def active_blocks_by_identity(identity_ids: Iterable[int]) -> dict[int, IdentityBlock]:
    """The active block of each of these identities that has one, in one query."""
    return {
        block.identity_id: block
        for block in IdentityBlock.objects.filter(
            identity_id__in=list(identity_ids), unblocked_at__isnull=True
        )
    }


@dataclass(frozen=True)
class PolicyChange:
    """One saved revision of the policy: who, when, and what it changed."""

    revision: int
    actor: User | None
    at: datetime
    changes: tuple[str, ...]


def _rule_map(document: object) -> dict[str, object]:
    rules = document.get("escalation_rules") if isinstance(document, dict) else None
    return {
        str(rule.get("id")): rule
        for rule in (rules if isinstance(rules, list) else [])
        if isinstance(rule, dict)
    }


def describe_policy_change(before: object, after: object) -> tuple[str, ...]:
    """What changed between two policy documents, in a few words per part."""
    changes: list[str] = []
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    if old.get("boundaries") != new.get("boundaries"):
        changes.append("boundary ladder")
    if old.get("blocking") != new.get("blocking"):
        changes.append("blocked contacts")
    old_rules, new_rules = _rule_map(old), _rule_map(new)
    changes += [f"added rule {rule_id}" for rule_id in new_rules if rule_id not in old_rules]
    changes += [f"removed rule {rule_id}" for rule_id in old_rules if rule_id not in new_rules]
    changes += [
        f"changed rule {rule_id}"
        for rule_id, rule in new_rules.items()
        if rule_id in old_rules and old_rules[rule_id] != rule
    ]
    return tuple(changes) or ("no change",)


def policy_history(*, organisation: Organisation, limit: int = 10) -> list[PolicyChange]:
    """The latest saved revisions, newest first, from the audit log."""
    events = (
        AuditEvent.objects.filter(organisation=organisation, action="policy.updated")
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    return [
        PolicyChange(
            revision=int(event.data.get("revision") or 0),
            actor=event.actor,
            at=event.at,
            changes=describe_policy_change(event.data.get("before"), event.data.get("after")),
        )
        for event in events
    ]

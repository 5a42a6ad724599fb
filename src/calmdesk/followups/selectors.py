"""Reads of follow-ups, scoped to the conversations the reader may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from calmdesk.accounts.models import User
from calmdesk.conversations.selectors import visible_conversations
from calmdesk.followups.models import FollowUp, FollowUpState


def visible_followups(user: User) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(
        conversation_id__in=visible_conversations(user).values("id")
    ).select_related("conversation", "created_by")


def followup_list(
    user: User,
    *,
    overdue: bool = False,
    open_only: bool = False,
    newest_first: bool = False,
    conversation_id: int | None = None,
) -> QuerySet[FollowUp]:
    """Soonest due first, so overdue promises lead (`newest_first` for a history);
    `open_only` leaves out kept ones."""
    followups = visible_followups(user)
    if conversation_id is not None:
        followups = followups.filter(conversation_id=conversation_id)
    if overdue:
        followups = followups.filter(state=FollowUpState.OPEN, due_at__lte=timezone.now())
    elif open_only:
        followups = followups.filter(state=FollowUpState.OPEN)
    return followups.order_by(*(("-due_at", "-id") if newest_first else ("due_at", "id")))

"""Reads of conversations, always scoped to what the reader may see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.http import Http404

from calmdesk.accounts.models import Role, User
from calmdesk.conversations.models import Conversation, Direction, Message


def visible_conversations(user: User) -> QuerySet[Conversation]:
    """Conversations `user` may see.

    Admins see their whole organisation. Agents see their teams' conversations,
    conversations assigned to them, and the shared triage queue (no team yet).
    Supervisors also see everything assigned to the agents of their teams.
    """
    if not user.is_authenticated or user.organisation_id is None:
        return Conversation.objects.none()
    in_org = Conversation.objects.filter(organisation_id=user.organisation_id)
    if user.role == Role.ADMIN:
        return in_org
    team_ids = list(user.teams.values_list("id", flat=True))
    rule = Q(team_id__in=team_ids) | Q(assignee_id=user.pk) | Q(team__isnull=True)
    if user.role == Role.SUPERVISOR:
        team_agents = User.objects.filter(teams__in=team_ids).values("id")
        rule |= Q(assignee_id__in=team_agents)
    return in_org.filter(rule)


def check_conversation_access(user: User, conversation_id: int) -> None:
    """Http404 unless `user` may see the conversation, for callers that load it themselves.

    An id-only query: no joined rows are built only to be thrown away.
    """
    if (
        not visible_conversations(user)
        .filter(pk=conversation_id)
        .order_by()[:1]
        .values_list("pk", flat=True)
    ):
        raise Http404("No such conversation.")


def access_conversation(user: User, conversation_id: int) -> Conversation:
    """The conversation, or Http404 when it does not exist or the user may not see it.

    Not-found and not-allowed look the same so ids cannot be probed.
    """
    conversation = (
        visible_conversations(user)
        .select_related("customer", "team", "assignee", "organisation")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


SORTS: dict[str, tuple[object, ...]] = {
    # Most at risk first; among equals, whoever has waited longest.
    "risk": (F("risk").desc(), F("waiting_since").asc(nulls_last=True), "-id"),
    "waiting": (F("waiting_since").asc(nulls_last=True), F("risk").desc(), "-id"),
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    # receive always sets last_message_at, so no NULLs: plain DESC can use an index.
    "updated": ("-last_message_at", "-id"),
    "priority": ("-priority", F("risk").desc(), "-id"),
}


@dataclass(frozen=True)
class InboxFilters:
    status: str | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    customer_id: int | None = None
    sort: str = "risk"


def inbox_conversations(user: User, filters: InboxFilters) -> QuerySet[Conversation]:
    from calmdesk.conversations.models import OPEN_STATUSES

    conversations = visible_conversations(user).select_related("customer", "team", "assignee")
    if filters.status == "open_all" or filters.status is None:
        conversations = conversations.filter(status__in=OPEN_STATUSES)
    elif filters.status != "all":
        conversations = conversations.filter(status=filters.status)
    if filters.team_id is not None:
        conversations = conversations.filter(team_id=filters.team_id)
    if filters.unassigned:
        conversations = conversations.filter(assignee__isnull=True)
    elif filters.assignee_id is not None:
        conversations = conversations.filter(assignee_id=filters.assignee_id)
    if filters.customer_id is not None:
        conversations = conversations.filter(customer_id=filters.customer_id)
    order = SORTS.get(filters.sort, SORTS["risk"])
    return conversations.order_by(*order)  # type: ignore[arg-type]


def conversation_messages(conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.select_related("author", "sender").order_by("created_at", "id")


def conversation_flag_kinds(conversation_ids: Iterable[int]) -> dict[int, list[str]]:
    """The kinds of risk flag raised in each conversation's customer messages, in one query.

    Only the flags are read from the stored assessments, so a list page pays for one
    small query however many messages its conversations hold.
    """
    kinds: dict[int, dict[str, None]] = {}
    rows = (
        Message.objects.filter(
            conversation_id__in=list(conversation_ids), direction=Direction.INBOUND
        )
        .order_by("created_at", "id")
        .values_list("conversation_id", "assessment__flags")
    )
    for conversation_id, flags in rows:
        seen = kinds.setdefault(conversation_id, {})
        if not isinstance(flags, list):
            continue
        for flag in flags:
            if isinstance(flag, dict) and isinstance(flag.get("kind"), str):
                seen[flag["kind"]] = None
    return {conversation_id: list(seen) for conversation_id, seen in kinds.items()}


def recent_dialogue(conversation: Conversation) -> list[Message]:
    """The newest messages, oldest first: all the coach reads of a thread.

    Twice the history the engine keeps, so internal notes (which `history_for` drops)
    do not crowd out the dialogue; only the fields the engine needs, no authors.
    (Receive reads its history with `reading.stored_history` instead.)
    """
    from calmdesk.conversations.reading import HISTORY_MESSAGES

    # `conversation` is among the fields: the related manager attaches the conversation
    # to each message by its id, which would otherwise be loaded once per message.
    newest = conversation.messages.only("conversation", "direction", "body_text", "created_at")
    return list(reversed(newest.order_by("-created_at", "-id")[: 2 * HISTORY_MESSAGES]))

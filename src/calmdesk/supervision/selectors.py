"""What the supervisor dashboard shows, read in a fixed, small number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.db.models import Count, Max
from django.utils import timezone

from calmdesk.accounts.models import User
from calmdesk.conversations.models import OPEN_STATUSES, Conversation, Direction, Message
from calmdesk.conversations.selectors import visible_conversations
from calmdesk.followups.models import FollowUp
from calmdesk.followups.selectors import followup_list
from calmdesk.incidents.models import Incident
from calmdesk.incidents.selectors import (
    CauseCount,
    IncidentFilters,
    incident_list,
    incidents_by_customer,
    incidents_by_topic,
)
from calmdesk.policies.models import ConversationState
from calmdesk.policies.selectors import supervisor_queue

PANEL_ROWS: Final = 20
RISING_ANGER_FLOOR: Final = 0.4
ABUSE_FLOOR: Final = 0.5
WELLBEING_WINDOW: Final = timedelta(hours=24)


@dataclass(frozen=True)
class AgentStrain:
    """An agent who took abuse recently: a lead may offer them a break."""

    agent: User
    abusive_messages: int
    threats: int
    last_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    escalations: list[ConversationState]
    incidents: list[Incident]
    overdue_followups: list[FollowUp]
    rising_anger: list[Conversation]
    strained_agents: list[AgentStrain]
    incidents_by_topic: list[CauseCount]
    incidents_by_customer: list[CauseCount]


def rising_anger(user: User) -> list[Conversation]:
    return list(
        visible_conversations(user)
        .filter(
            status__in=OPEN_STATUSES, trajectory="rising", current_anger__gte=RISING_ANGER_FLOOR
        )
        .select_related("customer", "assignee", "team")
        .order_by("-current_anger", "-id")[:PANEL_ROWS]
    )


def strained_agents(user: User) -> list[AgentStrain]:
    """Agents whose conversations brought abuse or threats in the last day."""
    since = timezone.now() - WELLBEING_WINDOW
    hostile = Message.objects.filter(
        conversation__in=visible_conversations(user),
        conversation__assignee__isnull=False,
        direction=Direction.INBOUND,
        created_at__gte=since,
    )
    abusive = hostile.filter(assessment__scores__abuse__gte=ABUSE_FLOOR)
    threats = hostile.filter(assessment__scores__threat__gte=ABUSE_FLOOR)
    abuse_rows = {
        row["conversation__assignee"]: row
        for row in abusive.values("conversation__assignee").annotate(
            count=Count("id"), last=Max("created_at")
        )
    }
    threat_counts = {
        row["conversation__assignee"]: row["count"]
        for row in threats.values("conversation__assignee").annotate(count=Count("id"))
    }
    agent_ids = set(abuse_rows) | set(threat_counts)
    agents = User.objects.in_bulk(agent_ids)
    strain = [
        AgentStrain(
            agent=agents[agent_id],
            abusive_messages=abuse_rows[agent_id]["count"] if agent_id in abuse_rows else 0,
            threats=threat_counts.get(agent_id, 0),
            last_at=abuse_rows[agent_id]["last"] if agent_id in abuse_rows else None,
        )
        for agent_id in agent_ids
        if agent_id in agents
    ]
    strain.sort(key=lambda s: (-(s.threats * 3 + s.abusive_messages), s.agent.pk))
    return strain[:PANEL_ROWS]


def dashboard_for(user: User) -> Dashboard:
    return Dashboard(
        escalations=list(supervisor_queue(user)[:PANEL_ROWS]),
        incidents=list(incident_list(user, IncidentFilters())[:PANEL_ROWS]),
        overdue_followups=list(
            followup_list(user, overdue=True).select_related(
                "conversation__customer", "conversation__assignee"
            )[:PANEL_ROWS]
        ),
        rising_anger=rising_anger(user),
        strained_agents=strained_agents(user),
        incidents_by_topic=incidents_by_topic(user),
        incidents_by_customer=incidents_by_customer(user),
    )

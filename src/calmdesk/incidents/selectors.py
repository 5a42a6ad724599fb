"""Reads of incidents, always scoped to what the reader may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from calmdesk.accounts.models import Role, User
from calmdesk.conversations.selectors import visible_conversations
from calmdesk.incidents.models import Incident, IncidentStatus


def visible_incidents(user: User) -> QuerySet[Incident]:
    """Admins see the organisation's incidents; supervisors their teams' (and unteamed ones);
    agents the incidents on conversations they can see and the ones they opened."""
    if not user.is_authenticated or user.organisation_id is None:
        return Incident.objects.none()
    in_org = Incident.objects.filter(organisation_id=user.organisation_id)
    if user.role == Role.ADMIN:
        return in_org
    team_ids = list(user.teams.values_list("id", flat=True))
    if user.role == Role.SUPERVISOR:
        return in_org.filter(Q(team_id__in=team_ids) | Q(team__isnull=True))
    conversation_ids = visible_conversations(user).values("id")
    return in_org.filter(Q(conversation_id__in=conversation_ids) | Q(opened_by_id=user.pk))


def access_incident(user: User, incident_id: int) -> Incident:
    """The incident, or Http404 when it does not exist or the user may not see it."""
    incident = (
        visible_incidents(user)
        .select_related("conversation", "customer", "team", "opened_by")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise Http404("No such incident.")
    return incident


@dataclass(frozen=True)
class IncidentFilters:
    kind: str | None = None
    status: str | None = None  # None: everything not closed; "all": everything
    conversation_id: int | None = None
    customer_id: int | None = None


def incident_list(user: User, filters: IncidentFilters) -> QuerySet[Incident]:
    incidents = visible_incidents(user).select_related("customer", "team", "conversation")
    if filters.status is None:
        incidents = incidents.exclude(status=IncidentStatus.CLOSED)
    elif filters.status != "all":
        incidents = incidents.filter(status=filters.status)
    if filters.kind:
        incidents = incidents.filter(kind=filters.kind)
    if filters.conversation_id is not None:
        incidents = incidents.filter(conversation_id=filters.conversation_id)
    if filters.customer_id is not None:
        incidents = incidents.filter(customer_id=filters.customer_id)
    return incidents


@dataclass(frozen=True)
class CauseCount:
    key: str
    label: str
    count: int


def incidents_by_topic(user: User, *, limit: int = 10) -> list[CauseCount]:
    """Recurring causes: which topics incidents come from most."""
    rows = (
        visible_incidents(user)
        .values("topic")
        .annotate(count=Count("id"))
        .order_by("-count", "topic")[:limit]
    )
    return [
        CauseCount(key=row["topic"], label=row["topic"] or "unknown", count=row["count"])
        for row in rows
    ]


def incidents_by_customer(user: User, *, limit: int = 10) -> list[CauseCount]:
    """Customers with the most incidents: candidates for a review or a block."""
    rows = (
        visible_incidents(user)
        .filter(customer__isnull=False)
        .values("customer_id", "customer__name")
        .annotate(count=Count("id"))
        .order_by("-count", "customer_id")[:limit]
    )
    return [
        CauseCount(
            key=str(row["customer_id"]),
            label=row["customer__name"] or f"Customer #{row['customer_id']}",
            count=row["count"],
        )
        for row in rows
    ]


def incident_on_record(conversation_id: int) -> bool:
    """Whether the case has any incident filed: the playbook's record stage is then done."""
    return Incident.objects.filter(conversation_id=conversation_id).exists()

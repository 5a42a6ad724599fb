"""Reads of notifications and of who should receive them."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from calmdesk.accounts.models import Organisation, Role, Team, User
from calmdesk.notifications.models import Notification


def supervisors_to_notify(*, organisation: Organisation, team: Team | None) -> list[User]:
    """The team's supervisors; failing those, every supervisor; failing those, the admins.

    Someone must always hear about a safety incident, so the list is only empty when the
    organisation has no supervisors and no admins at all.
    """
    # One read of everyone who could be told (each escalation of a customer message asks),
    # then the choice in Python.
    staff = User.objects.filter(
        organisation=organisation, is_active=True, role__in=(Role.SUPERVISOR, Role.ADMIN)
    ).order_by("id")
    if team is not None:
        staff = staff.annotate(
            in_team=Exists(
                User.teams.through.objects.filter(user_id=OuterRef("pk"), team_id=team.pk)
            )
        )
    people = list(staff)
    supervisors = [person for person in people if person.role == Role.SUPERVISOR]
    team_supervisors = [person for person in supervisors if getattr(person, "in_team", False)]
    if team_supervisors:
        return team_supervisors
    if supervisors:
        return supervisors
    return [person for person in people if person.role == Role.ADMIN]


def user_notifications(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient_id=user.pk)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications

"""Reads of notifications and of who should receive them."""

from __future__ import annotations

from django.db.models import QuerySet

from calmdesk.accounts.models import Organisation, Role, Team, User
from calmdesk.notifications.models import Notification


def supervisors_to_notify(*, organisation: Organisation, team: Team | None) -> list[User]:
    """The team's supervisors; failing those, every supervisor; failing those, the admins.

    Someone must always hear about a safety incident, so the list is only empty when the
    organisation has no supervisors and no admins at all.
    """
    staff = User.objects.filter(organisation=organisation, is_active=True).order_by("id")
    if team is not None:
        team_supervisors = list(staff.filter(role=Role.SUPERVISOR, teams=team))
        if team_supervisors:
            return team_supervisors
    supervisors = list(staff.filter(role=Role.SUPERVISOR))
    if supervisors:
        return supervisors
    return list(staff.filter(role=Role.ADMIN))


def user_notifications(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient_id=user.pk)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications

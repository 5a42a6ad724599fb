from __future__ import annotations

import pytest
from django.core import mail

from calmdesk.accounts.models import Organisation, Team, User
from calmdesk.notifications.selectors import supervisors_to_notify, user_notifications
from calmdesk.notifications.services import (
    notification_email_deliver,
    notification_mark_read,
    notification_send,
)
from calmdesk.notifications.tasks import deliver_notification_email

pytestmark = pytest.mark.django_db


def test_send_creates_in_app_rows_and_emails_once_after_commit(
    org: Organisation,
    supervisor_a: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    supervisor_a.email = "sam@example.com"
    supervisor_a.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (notification,) = notification_send(
            organisation=org,
            recipients=[supervisor_a],
            kind="incident.safety",
            title="Safety incident",
            body="Details <b>here</b>",
        )
    assert len(callbacks) == 1  # the email waits for the commit
    assert list(user_notifications(supervisor_a, unread_only=True)) == [notification]

    assert deliver_notification_email.call(notification.pk) is True
    assert deliver_notification_email.call(notification.pk) is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["sam@example.com"]
    assert mail.outbox[0].subject == "[calmdesk] Safety incident"

    notification_mark_read(notification=notification, user=supervisor_a)
    assert not user_notifications(supervisor_a, unread_only=True).exists()


def test_no_email_for_staff_without_an_address_or_outside_the_org(
    org: Organisation,
    other_org: Organisation,
    supervisor_a: User,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    outsider = make_user("eve", organisation=other_org)
    created = notification_send(
        organisation=org, recipients=[supervisor_a, outsider], kind="k", title="t"
    )
    assert [n.recipient for n in created] == [supervisor_a]
    assert notification_email_deliver(notification_id=created[0].pk) is False
    assert mail.outbox == []


def test_only_the_recipient_marks_read(
    org: Organisation, supervisor_a: User, agent_a: User
) -> None:
    (notification,) = notification_send(
        organisation=org, recipients=[supervisor_a], kind="k", title="t"
    )
    with pytest.raises(PermissionError):
        notification_mark_read(notification=notification, user=agent_a)


def test_who_hears_about_a_team_conversation(
    org: Organisation,
    team_a: Team,
    team_b: Team,
    supervisor_a: User,
    admin_user: User,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    assert supervisors_to_notify(organisation=org, team=team_a) == [supervisor_a]
    # A team without its own supervisor falls back to every supervisor.
    assert supervisors_to_notify(organisation=org, team=team_b) == [supervisor_a]
    supervisor_a.role = "agent"
    supervisor_a.save()
    assert supervisors_to_notify(organisation=org, team=team_a) == [admin_user]


def test_each_team_hears_from_its_own_supervisors_and_inactive_staff_never(
    org: Organisation,
    team_a: Team,
    team_b: Team,
    supervisor_a: User,
    admin_user: User,
    make_user,  # type: ignore[no-untyped-def]
) -> None:
    supervisor_b = make_user("bea", role="supervisor", teams=(team_b,))
    both = make_user("bo", role="supervisor", teams=(team_a, team_b))
    gone = make_user("gone", role="supervisor", teams=(team_a,))
    gone.is_active = False
    gone.save()
    make_user("agnes", role="agent", teams=(team_a,))

    assert supervisors_to_notify(organisation=org, team=team_a) == [supervisor_a, both]
    assert supervisors_to_notify(organisation=org, team=team_b) == [supervisor_b, both]
    # No team: every active supervisor, never the admin while there is one.
    assert supervisors_to_notify(organisation=org, team=None) == [supervisor_a, supervisor_b, both]


def test_a_notification_the_worker_reaches_a_day_late_is_not_emailed(
    org: Organisation, supervisor_a: User
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from calmdesk.notifications.models import Notification

    supervisor_a.email = "sam@example.com"
    supervisor_a.save()
    (stale,) = notification_send(
        organisation=org, recipients=[supervisor_a], kind="incident.safety", title="Old news"
    )
    Notification.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=25))
    (fresh,) = notification_send(
        organisation=org, recipients=[supervisor_a], kind="incident.safety", title="New"
    )
    assert notification_email_deliver(notification_id=stale.pk) is False
    assert notification_email_deliver(notification_id=fresh.pk) is True
    assert [message.subject for message in mail.outbox] == ["[calmdesk] New"]
    # Still there to read in the app.
    assert stale in user_notifications(supervisor_a)

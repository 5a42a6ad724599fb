"""Background work for notifications: thin wrappers that take ids and call a service."""

from __future__ import annotations

from django_tasks import task

from calmdesk.notifications.services import notification_email_deliver


@task()
def deliver_notification_email(notification_id: int) -> bool:
    return notification_email_deliver(notification_id=notification_id)

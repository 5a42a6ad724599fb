"""Sending notifications to staff: a row they see in the app, and an email sent once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from calmdesk.accounts.models import Organisation, User
from calmdesk.notifications.models import Notification


def notification_send(
    *,
    organisation: Organisation,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    target_type: str = "",
    target_id: int | None = None,
    email: bool = True,
) -> list[Notification]:
    """Create one in-app notification per recipient; the emails go out after commit."""
    created = [
        Notification.objects.create(
            organisation=organisation,
            recipient=recipient,
            kind=kind,
            title=title[:200],
            body=body,
            target_type=target_type,
            target_id=target_id,
            email_wanted=email and bool(recipient.email),
        )
        for recipient in recipients
        if recipient.organisation_id == organisation.pk
    ]
    ids = [notification.pk for notification in created if notification.email_wanted]
    if ids:
        transaction.on_commit(lambda: _enqueue_emails(ids))
    return created


def _enqueue_emails(notification_ids: list[int]) -> None:
    from calmdesk.notifications.tasks import deliver_notification_email

    for notification_id in notification_ids:
        deliver_notification_email.enqueue(notification_id)


def notification_email_deliver(*, notification_id: int) -> bool:
    """Email one notification unless it was already emailed. True when this call sent it.

    The conditional UPDATE claims the notification, so two workers that pick up the
    same notification (a task enqueued twice) send one email between them. A notification
    older than `CALMDESK_NOTIFICATION_EMAIL_MAX_AGE_HOURS` (default 24) when a worker gets
    to it is not emailed: news that late helps nobody, and it stays in the app.
    """
    now = timezone.now()
    max_age = timedelta(
        hours=float(getattr(settings, "CALMDESK_NOTIFICATION_EMAIL_MAX_AGE_HOURS", 24))
    )
    claimed = Notification.objects.filter(
        pk=notification_id,
        email_wanted=True,
        emailed_at__isnull=True,
        created_at__gte=now - max_age,
    ).update(emailed_at=now)
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    try:
        send_mail(
            subject=f"[calmdesk] {notification.title}",
            message=notification.body or notification.title,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.recipient.email],
        )
    except Exception:
        # Release the claim so a retry can send it; the error is the worker's to report.
        Notification.objects.filter(pk=notification_id, emailed_at=now).update(emailed_at=None)
        raise
    return True


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; how many were unread."""
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_mark_read(*, notification: Notification, user: User) -> Notification:
    if notification.recipient_id != user.pk:
        raise PermissionError("only the recipient can mark a notification read")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification

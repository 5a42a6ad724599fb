"""Background work for the email channel: thin wrappers that take ids and call a service."""

from __future__ import annotations

from django_tasks import TaskContext, task

from calmdesk.channels import services


@task()
def deliver_email_reply(delivery_id: int) -> str:
    """Send one agent reply by email; failures reschedule themselves with backoff."""
    return str(services.email_delivery_attempt(delivery_id=delivery_id).status)


@task(takes_context=True)
def poll_imap_mailboxes(context: TaskContext) -> list[str]:
    """Fetch new mail from every configured IMAP mailbox, and queue the next poll.

    `calmdesk manage poll_email --enqueue` starts the chain once; after that the
    worker polls every CALMDESK_IMAP_POLL_SECONDS (default 60) on its own.
    """
    from calmdesk.channels.imap import imap_poll_scheduled

    return [
        f"{result.mailbox}: {result.fetched} fetched, {result.new} new"
        for result in imap_poll_scheduled(task_id=str(context.task_result.id))
    ]


@task()
def retry_due_email_deliveries() -> int:
    return services.email_deliveries_retry_due()


@task()
def deliver_webhook(delivery_id: int) -> str:
    """POST one webhook event; failures reschedule themselves with backoff."""
    from calmdesk.channels.webhooks import webhook_delivery_attempt

    return str(webhook_delivery_attempt(delivery_id=delivery_id).status)

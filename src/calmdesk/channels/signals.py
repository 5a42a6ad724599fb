"""Channel side effects of things other apps do, without those apps knowing channels exist.

Agent replies on email conversations are queued for sending; customer
messages and audited events (escalations, incidents, overdue follow-ups,
resolutions) become webhook events for the organisation's subscriptions.
"""

from __future__ import annotations

from typing import Any

from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Channel, Direction, Message


def queue_email_reply(
    sender: type[Message], instance: Message, created: bool, **kwargs: Any
) -> None:
    if not created or kwargs.get("raw"):
        return
    if instance.direction != Direction.OUTBOUND or instance.channel != Channel.EMAIL:
        return
    from calmdesk.channels.services import email_reply_queue

    email_reply_queue(message=instance)


def chat_reply_ends_typing(
    sender: type[Message], instance: Message, created: bool, **kwargs: Any
) -> None:
    """A sent chat reply ends "typing" at once rather than when the indicator times out."""
    if not created or kwargs.get("raw"):
        return
    if instance.direction != Direction.OUTBOUND or instance.channel != Channel.CHAT:
        return
    from calmdesk.channels.models import ChatPresence

    ChatPresence.objects.filter(conversation_id=instance.conversation_id).update(
        agent_typing_until=None
    )


def message_received_webhook(
    sender: type[Message], instance: Message, created: bool, **kwargs: Any
) -> None:
    if not created or kwargs.get("raw") or instance.direction != Direction.INBOUND:
        return
    from calmdesk.channels.webhooks import MAX_TEXT_IN_PAYLOAD, webhook_event_emit

    webhook_event_emit(
        organisation_id=instance.organisation_id,
        event="message.received",
        data={
            "conversation_id": instance.conversation_id,
            "message_id": instance.pk,
            "channel": instance.channel,
            "text": instance.body_text[:MAX_TEXT_IN_PAYLOAD],
            "anger": instance.anger,
            "risk": instance.risk,
        },
    )


# Audit action -> webhook event, with the audit data keys passed on.
_AUDITED_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "conversation.escalated": ("conversation.escalated", ("reasons",)),
    "incident.opened": ("incident.opened", ("kind", "conversation_id", "reason")),
    "followup.overdue": ("followup.overdue", ("followup_id",)),
}


def audited_event_webhook(
    sender: type[AuditEvent], instance: AuditEvent, created: bool, **kwargs: Any
) -> None:
    if not created or kwargs.get("raw"):
        return
    data = instance.data if isinstance(instance.data, dict) else {}
    event: str
    keys: tuple[str, ...]
    if instance.action == "conversation.status_changed" and data.get("after") == "resolved":
        event, keys = "conversation.resolved", ()
    elif instance.action in _AUDITED_EVENTS:
        event, keys = _AUDITED_EVENTS[instance.action]
    else:
        return
    from calmdesk.channels.webhooks import webhook_event_emit

    payload: dict[str, Any] = {f"{instance.target_type}_id": instance.target_id}
    payload.update({key: data[key] for key in keys if key in data})
    webhook_event_emit(organisation_id=instance.organisation_id, event=event, data=payload)

"""Sending agent replies by email without the conversations app knowing email exists."""

from __future__ import annotations

from typing import Any

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

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ChannelsConfig(AppConfig):
    name = "calmdesk.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        from calmdesk.audit.models import AuditEvent
        from calmdesk.channels import signals
        from calmdesk.channels.models import WebhookSubscription
        from calmdesk.channels.webhooks import subscriptions_changed
        from calmdesk.conversations.models import Message

        post_save.connect(
            signals.queue_email_reply, sender=Message, dispatch_uid="channels.queue_email_reply"
        )
        post_save.connect(
            signals.chat_reply_ends_typing,
            sender=Message,
            dispatch_uid="channels.chat_reply_ends_typing",
        )
        post_save.connect(
            signals.message_received_webhook,
            sender=Message,
            dispatch_uid="channels.message_received_webhook",
        )
        post_save.connect(
            signals.audited_event_webhook,
            sender=AuditEvent,
            dispatch_uid="channels.audited_event_webhook",
        )
        for signal, name in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                subscriptions_changed,
                sender=WebhookSubscription,
                dispatch_uid=f"channels.subscriptions_changed.{name}",
            )

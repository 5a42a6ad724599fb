from django.apps import AppConfig
from django.db.models.signals import post_save


class ChannelsConfig(AppConfig):
    name = "calmdesk.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        from calmdesk.channels.signals import queue_email_reply
        from calmdesk.conversations.models import Message

        post_save.connect(
            queue_email_reply, sender=Message, dispatch_uid="channels.queue_email_reply"
        )

from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "calmdesk.conversations"
    label = "conversations"
    verbose_name = "Conversations"

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "calmdesk.channels"
    label = "channels"
    verbose_name = "Channels"

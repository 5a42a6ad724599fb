from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "calmdesk.followups"
    label = "followups"
    verbose_name = "Follow-ups"

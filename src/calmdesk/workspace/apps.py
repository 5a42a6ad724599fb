from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "calmdesk.workspace"
    label = "workspace"
    verbose_name = "Agent workspace"

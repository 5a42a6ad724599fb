from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "calmdesk.supervision"
    label = "supervision"
    verbose_name = "Supervision"

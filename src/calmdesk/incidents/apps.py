from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "calmdesk.incidents"
    label = "incidents"
    verbose_name = "Incidents"

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "calmdesk.api"
    label = "api"
    verbose_name = "JSON API"

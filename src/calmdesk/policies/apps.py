from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "calmdesk.policies"
    label = "policies"
    verbose_name = "Policies"

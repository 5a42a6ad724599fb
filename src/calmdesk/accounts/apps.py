from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "calmdesk.accounts"
    label = "accounts"
    verbose_name = "Organisations, teams and staff"

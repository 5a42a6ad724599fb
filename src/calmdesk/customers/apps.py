from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "calmdesk.customers"
    label = "customers"
    verbose_name = "Customers"

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "calmdesk.audit"
    label = "audit"
    verbose_name = "Audit log"

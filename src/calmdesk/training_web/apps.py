from django.apps import AppConfig


class TrainingWebConfig(AppConfig):
    name = "calmdesk.training_web"
    label = "training_web"
    verbose_name = "Practice"

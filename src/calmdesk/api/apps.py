from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiConfig(AppConfig):
    name = "calmdesk.api"
    label = "api"
    verbose_name = "JSON API"

    def ready(self) -> None:
        from calmdesk.accounts.models import Organisation, User
        from calmdesk.api.models import ApiToken
        from calmdesk.api.services import token_rows_forget
        from calmdesk.policies.models import Policy

        # The token check keeps what it read for a moment (api.services.TOKEN_ROWS_SECONDS);
        # a change to any of these rows made in this process must not wait for that.
        for model in (ApiToken, User, Organisation, Policy):
            for signal, name in ((post_save, "save"), (post_delete, "delete")):
                signal.connect(
                    token_rows_forget,
                    sender=model,
                    dispatch_uid=f"api.token_rows_forget.{model.__name__}.{name}",
                )

"""Bearer-token authentication for the JSON API.

The API accepts nothing but `Authorization: Bearer <token>`: no session cookie,
so a browser that is logged in to the web app cannot be tricked into calling
the API (no CSRF surface).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from calmdesk.accounts.models import User
from calmdesk.api.services import token_authenticate


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        api_token = token_authenticate(raw_token=token.strip())
        if api_token is None:
            return None
        user = api_token.user
        if user.organisation_id is None:
            raise AuthorizationError(message="the token's user does not belong to an organisation")
        return user


def request_user(request: HttpRequest) -> User:
    """The staff user the request's token acts as (set by BearerTokenAuth)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # pragma: no cover - every operation requires the token
        raise AuthorizationError(message="this operation needs an API token")
    return user

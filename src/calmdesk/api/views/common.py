"""What every group of API endpoints shares: documented error statuses and JSON 405s."""

from __future__ import annotations

import warnings
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from calmdesk.accounts.models import Role, User
from calmdesk.api.errors import ApiError, error_response
from calmdesk.api.schemas import ErrorOut

# The error statuses each kind of operation can answer, for the OpenAPI schema.
READ_ERRORS: dict[frozenset[int], type[Schema]] = {frozenset({401, 403, 404, 422}): ErrorOut}
WRITE_ERRORS: dict[frozenset[int], type[Schema]] = {
    frozenset({400, 401, 403, 404, 409, 413, 422}): ErrorOut
}

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def refuse_other_methods(router: Router, path: str, allowed: tuple[str, ...]) -> None:
    """Answer the methods a path does not support with a JSON 405 instead of ninja's plain text.

    Registered on the router that holds the path's operations: ninja serves one
    path from one router, so another router's refusal would never be reached.
    """

    def method_not_allowed(request: HttpRequest, **path_params: Any) -> HttpResponse:
        response = error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here; use {' or '.join(allowed)}",
        )
        response["Allow"] = ", ".join(allowed)
        return response

    others = [method for method in ALL_METHODS if method not in allowed]
    with warnings.catch_warnings():
        # ninja warns that the path's ids are not parameters: this handler needs none.
        warnings.filterwarnings("ignore", "Field\\(s\\) .* are in the view path", UserWarning)
        router.api_operation(others, path, auth=None, include_in_schema=False)(method_not_allowed)


def require_admin(user: User, *, what: str) -> None:
    """403 unless the token's user is an admin of their organisation."""
    if user.role != Role.ADMIN:
        raise ApiError(403, "forbidden", f"only admins may {what}")

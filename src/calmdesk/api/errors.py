"""One error shape for every API failure: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from calmdesk.conversations.services import (
    ConversationError,
    ConversationMismatch,
    ConversationNotFound,
)
from calmdesk.customers.services import CustomerError

CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error with its HTTP status, a stable code for programs and a message for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JsonResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    response = JsonResponse({"error": error}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="calmdesk"'
    return response


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps whatever the body parser raised in a plain 400; say what was wrong.
    cause = exc.__cause__
    if isinstance(cause, ApiError):
        return _api_error(request, cause)
    if isinstance(exc, AuthenticationError):
        return error_response(
            401, "unauthorized", "a valid API token is required: Authorization: Bearer <token>"
        )
    status = exc.status_code
    code = CODES_BY_STATUS.get(status, "error")
    message = str(exc) if status != 400 else "the request body could not be parsed"
    return error_response(status, code, message)


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {
            "loc": [part for part in error.get("loc", ()) if part not in ("payload", "filters")],
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors
    ]
    summary = "; ".join(f"{_where(d['loc'])}: {d['message']}" for d in details[:5])
    return error_response(422, "validation_error", f"invalid request: {summary}", details)


def _where(loc: Sequence[Any]) -> str:
    """`customer.email` for a body field, `limit` for a query parameter."""
    parts = [str(part) for part in loc[1:]]
    return ".".join(parts) or (str(loc[0]) if loc else "body")


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    message = str(exc) or "not found"
    return error_response(404, "not_found", message)


def _no_such_conversation(request: HttpRequest, exc: ConversationNotFound) -> HttpResponse:
    # Worded as the access check words it: a missing id and a hidden one look the same.
    return error_response(404, "not_found", "No such conversation.")


def _conflict(request: HttpRequest, exc: ConversationMismatch) -> HttpResponse:
    return error_response(409, "conflict", str(exc))


def _unprocessable(request: HttpRequest, exc: ValueError) -> HttpResponse:
    return error_response(422, "validation_error", str(exc))


def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    if settings.DEBUG:
        raise exc
    # Logged for us; the client only learns that it was our fault.
    logging.getLogger("calmdesk.api").exception("unhandled error in the API", exc_info=exc)
    return error_response(500, "server_error", "something went wrong on our side")


def install_error_handlers(api: NinjaAPI) -> None:
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (Exception, _server_error),
        (ApiError, _api_error),
        (HttpError, _http_error),
        (ValidationError, _validation_error),
        (Http404, _not_found),
        (ConversationMismatch, _conflict),
        (ConversationNotFound, _no_such_conversation),
        (ConversationError, _unprocessable),
        (CustomerError, _unprocessable),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def decode_json_body(body: bytes) -> Any:
    """The parsed JSON document, or ApiError(400) for invalid UTF-8 or malformed JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "invalid_utf8", f"the request body is not valid UTF-8 (byte {exc.start})"
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "malformed_json",
            f"the request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        ) from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed_json", "the JSON document is nested too deeply") from exc

"""The channel endpoints of /api/v1/: raw email in, webhook subscriptions, chat settings,
attachment downloads. Thin, like the rest of the API: parse, call one service, shape.

Any staff member may import email (as any may post inbound messages);
webhooks and chat settings belong to the organisation and only its admins
manage them. Attachments are served to whoever may see their conversation.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Status
from ninja.errors import ValidationError
from pydantic import ValidationError as PydanticValidationError

from calmdesk.api.auth import request_user
from calmdesk.api.channel_schemas import (
    ChatSettingsIn,
    ChatSettingsOut,
    EmailImportOut,
    EmailRawIn,
    PageQuery,
    WebhookDeliveryOut,
    WebhookDeliveryPageOut,
    WebhookSubscriptionCreatedOut,
    WebhookSubscriptionIn,
    WebhookSubscriptionListOut,
    WebhookSubscriptionOut,
    WebhookSubscriptionPatchIn,
)
from calmdesk.api.errors import ApiError, decode_json_body
from calmdesk.api.schemas import ErrorOut, ObjectId
from calmdesk.api.views.common import READ_ERRORS, WRITE_ERRORS, refuse_other_methods, require_admin
from calmdesk.channels import conf
from calmdesk.channels.chat import (
    ChatError,
    chat_embed_code,
    chat_settings_for,
    chat_settings_update,
)
from calmdesk.channels.downloads import PASSIVE_TYPES, attachment_response
from calmdesk.channels.selectors import (
    access_attachment,
    access_webhook_subscription,
    organisation_webhook_subscriptions,
    webhook_delivery_count,
    webhook_delivery_history,
)
from calmdesk.channels.services import ImportOutcome, email_import
from calmdesk.channels.webhooks import (
    WebhookError,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)

router = Router()

RFC822 = "message/rfc822"
# Room for the JSON around the base64 text.
JSON_OVERHEAD_BYTES = 1024

View = TypeVar("View", bound=Callable[..., Any])


def email_request_limit() -> int:
    """The largest request body: the raw limit once base64-encoded, plus the JSON around it."""
    return 4 * math.ceil(conf.api_max_email_bytes() / 3) + JSON_OVERHEAD_BYTES


def reads_own_body(limit: Callable[[], int]) -> Callable[[View], View]:
    """Mark a view that reads (and bounds) its own body; the API's guard then only checks
    the declared Content-Length against `limit` instead of buffering the body itself."""

    def mark(view: View) -> View:
        view.request_body_limit = limit  # type: ignore[attr-defined]
        return view

    return mark


def _email_raw_from(request: HttpRequest) -> bytes:
    body = request.read(email_request_limit() + 1)
    content_type = (request.content_type or "").lower()
    if content_type == RFC822:
        raw = body
    elif content_type == "application/json":
        document = decode_json_body(body)
        try:
            payload = EmailRawIn.model_validate(document)
        except PydanticValidationError as exc:
            raise ValidationError(
                [
                    {**error, "loc": ("body", *error.get("loc", ()))}
                    for error in exc.errors(include_url=False)
                ]
            ) from exc
        try:
            raw = base64.b64decode(payload.raw_base64, validate=True)
        except binascii.Error as exc:
            raise ApiError(422, "validation_error", "raw_base64 is not valid base64") from exc
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the email as {RFC822}, or as application/json with raw_base64",
        )
    limit = conf.api_max_email_bytes()
    if len(raw) > limit:
        raise ApiError(
            413, "payload_too_large", f"the email is larger than the {limit} bytes allowed"
        )
    if not raw:
        raise ApiError(422, "validation_error", "the email is empty")
    return raw


@router.post(
    "/email/raw",
    response={200: EmailImportOut, 201: EmailImportOut, **WRITE_ERRORS, 415: ErrorOut},
    summary="Import one raw RFC 822 email, as `calmdesk import-email` does",
    tags=["email"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                RFC822: {"schema": {"type": "string", "format": "binary", "minLength": 1}},
                "application/json": {"schema": EmailRawIn.model_json_schema()},
            },
        }
    },
)
@reads_own_body(email_request_limit)
def email_raw(request: HttpRequest) -> Status[EmailImportOut]:
    """Send the email itself (`Content-Type: message/rfc822`) or JSON `{"raw_base64": ...}`.

    It is threaded, trimmed and assessed like polled mail. `outcome` is `new`
    (a customer message was stored, 201), `auto-reply` or `bounce` (recorded,
    never answered, 201), `rejected` (no sender to answer; kept, 201) or
    `duplicate` (the same bytes or Message-ID were imported before; nothing
    stored, 200). Emails over CALMDESK_API_MAX_EMAIL_BYTES get 413.
    """
    user = request_user(request)
    raw = _email_raw_from(request)
    result = email_import(
        organisation=user.organisation,  # type: ignore[arg-type]
        raw=raw,
        source=f"api:{user.username}",
    )
    answer = EmailImportOut(
        conversation_id=result.conversation_id,
        message_id=result.message_id,
        outcome=result.outcome.value,
        detail=result.detail,
    )
    return Status(200 if result.outcome is ImportOutcome.DUPLICATE else 201, answer)


# Webhooks -------------------------------------------------------------------------


def _webhook_problem(exc: WebhookError) -> ApiError:
    return ApiError(422, "validation_error", str(exc))


@router.get(
    "/webhooks",
    response={200: WebhookSubscriptionListOut, **READ_ERRORS},
    summary="The organisation's webhook subscriptions (admins)",
    tags=["webhooks"],
)
def webhooks(request: HttpRequest) -> WebhookSubscriptionListOut:
    user = request_user(request)
    require_admin(user, what="manage webhooks")
    found = organisation_webhook_subscriptions(user.organisation).select_related("created_by")  # type: ignore[arg-type]
    return WebhookSubscriptionListOut(items=[WebhookSubscriptionOut.build(s) for s in found])


@router.post(
    "/webhooks",
    response={201: WebhookSubscriptionCreatedOut, **WRITE_ERRORS},
    summary="Subscribe a URL to events (admins); the signing secret is shown only here",
    tags=["webhooks"],
)
def webhook_create(
    request: HttpRequest, payload: WebhookSubscriptionIn
) -> Status[WebhookSubscriptionCreatedOut]:
    """Deliveries are POSTed as JSON, signed `Calmdesk-Signature: t=<unix time>,v1=<hex>`:
    HMAC-SHA256 with the secret over `<t>.<body>`. Keep the secret from this answer;
    it is never shown again."""
    user = request_user(request)
    require_admin(user, what="manage webhooks")
    try:
        subscription = webhook_subscription_create(
            organisation=user.organisation,  # type: ignore[arg-type]
            url=payload.url,
            events=list(payload.events),
            actor=user,
            description=payload.description,
        )
        if not payload.is_active:
            subscription = webhook_subscription_update(
                subscription=subscription, actor=user, is_active=False
            )
    except WebhookError as exc:
        raise _webhook_problem(exc) from exc
    return Status(201, WebhookSubscriptionCreatedOut.build_with_secret(subscription))


@router.get(
    "/webhooks/{subscription_id}",
    response={200: WebhookSubscriptionOut, **READ_ERRORS},
    summary="One webhook subscription (admins; without its secret)",
    tags=["webhooks"],
)
def webhook(request: HttpRequest, subscription_id: ObjectId) -> WebhookSubscriptionOut:
    user = request_user(request)
    require_admin(user, what="manage webhooks")
    return WebhookSubscriptionOut.build(access_webhook_subscription(user, subscription_id))


@router.patch(
    "/webhooks/{subscription_id}",
    response={200: WebhookSubscriptionOut, **WRITE_ERRORS},
    summary="Change a subscription's URL, events, description or whether it is active (admins)",
    tags=["webhooks"],
)
def webhook_update(
    request: HttpRequest, subscription_id: ObjectId, payload: WebhookSubscriptionPatchIn
) -> WebhookSubscriptionOut:
    """`"is_active": false` pauses deliveries and keeps the history; DELETE removes both."""
    user = request_user(request)
    require_admin(user, what="manage webhooks")
    subscription = access_webhook_subscription(user, subscription_id)
    try:
        updated = webhook_subscription_update(
            subscription=subscription,
            actor=user,
            url=payload.url,
            events=list(payload.events) if payload.events is not None else None,
            description=payload.description,
            is_active=payload.is_active,
        )
    except WebhookError as exc:
        raise _webhook_problem(exc) from exc
    return WebhookSubscriptionOut.build(updated)


@router.delete(
    "/webhooks/{subscription_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a subscription and its delivery history (admins)",
    tags=["webhooks"],
)
def webhook_delete(request: HttpRequest, subscription_id: ObjectId) -> Status[None]:
    user = request_user(request)
    require_admin(user, what="manage webhooks")
    webhook_subscription_delete(
        subscription=access_webhook_subscription(user, subscription_id), actor=user
    )
    return Status(204, None)


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response={200: WebhookDeliveryPageOut, **READ_ERRORS},
    summary="A subscription's deliveries, newest first, with each one's attempts (admins)",
    tags=["webhooks"],
)
def webhook_deliveries(
    request: HttpRequest, subscription_id: ObjectId, page: Query[PageQuery]
) -> WebhookDeliveryPageOut:
    user = request_user(request)
    require_admin(user, what="see webhook deliveries")
    subscription = access_webhook_subscription(user, subscription_id)
    rows = webhook_delivery_history(subscription, limit=page.limit, offset=page.offset)
    return WebhookDeliveryPageOut(
        total=webhook_delivery_count(subscription),
        limit=page.limit,
        offset=page.offset,
        items=[WebhookDeliveryOut.build(row) for row in rows],
    )


# Chat settings ---------------------------------------------------------------------


def _chat_settings_out(request: HttpRequest, chat: Any, slug: str) -> ChatSettingsOut:
    widget_url = request.build_absolute_uri(reverse("channels:chat-widget"))
    return ChatSettingsOut.build(chat, embed_code=chat_embed_code(widget_url=widget_url, slug=slug))


@router.get(
    "/chat/settings",
    response={200: ChatSettingsOut, **READ_ERRORS},
    summary="The organisation's web chat: on or off, title, the sites that may embed it (admins)",
    tags=["chat"],
)
def chat_settings(request: HttpRequest) -> ChatSettingsOut:
    user = request_user(request)
    require_admin(user, what="manage the chat settings")
    organisation = user.organisation
    assert organisation is not None  # BearerTokenAuth admits only members of one
    return _chat_settings_out(request, chat_settings_for(organisation), organisation.slug)


@router.put(
    "/chat/settings",
    response={200: ChatSettingsOut, **WRITE_ERRORS},
    summary="Replace the chat settings (admins): exact origins such as https://shop.example.com",
    tags=["chat"],
)
def chat_settings_put(request: HttpRequest, payload: ChatSettingsIn) -> ChatSettingsOut:
    """Origins are scheme, host and optional port, nothing more: the widget then works on
    every page of those sites and nowhere else. An empty list turns embedding off."""
    user = request_user(request)
    require_admin(user, what="manage the chat settings")
    organisation = user.organisation
    assert organisation is not None
    try:
        chat = chat_settings_update(
            organisation=organisation,
            allowed_origins=list(payload.allowed_origins),
            enabled=payload.enabled,
            title=payload.title or "",
            greeting=payload.greeting,
            actor=user,
        )
    except ChatError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    return _chat_settings_out(request, chat, organisation.slug)


# Attachments -----------------------------------------------------------------------

_DOWNLOAD_TYPES = sorted(PASSIVE_TYPES | {"application/octet-stream"})


@router.get(
    "/attachments/{attachment_id}",
    response={200: None, **READ_ERRORS},
    summary="Download an email attachment (for whoever may see its conversation)",
    tags=["conversations"],
    url_name="attachment-download",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The attachment, always as a download",
                "content": {
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in _DOWNLOAD_TYPES
                },
            }
        }
    },
)
def attachment_download(request: HttpRequest, attachment_id: ObjectId) -> HttpResponse:
    """Served as `Content-Disposition: attachment`, never rendered: types a browser could
    run (HTML, SVG, scripts) go out as application/octet-stream. 404 for attachments of
    conversations the token may not see and for ones refused for their size."""
    return attachment_response(access_attachment(request_user(request), attachment_id))


for _path, _allowed in (
    ("/email/raw", ("POST",)),
    ("/webhooks", ("GET", "POST")),
    ("/webhooks/{subscription_id}", ("GET", "PATCH", "DELETE")),
    ("/webhooks/{subscription_id}/deliveries", ("GET",)),
    ("/chat/settings", ("GET", "PUT")),
    ("/attachments/{attachment_id}", ("GET",)),
):
    refuse_other_methods(router, _path, _allowed)

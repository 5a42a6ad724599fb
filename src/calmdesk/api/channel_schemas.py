"""Request and response shapes of the channel endpoints: raw email, webhooks, chat settings.

The patterns are as strict as the services behind them, so that a request the
schema calls valid is one the service accepts (the fuzz test holds us to it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from calmdesk.api.schemas import TEXT, StaffOut, StrictInput, _storable
from calmdesk.channels.chat import MAX_ALLOWED_ORIGINS, MAX_GREETING_CHARS, MAX_TITLE_CHARS
from calmdesk.channels.models import ChatSettings, WebhookSubscription
from calmdesk.channels.selectors import WebhookDeliveryRow
from calmdesk.channels.webhooks import MAX_DESCRIPTION_CHARS, MAX_URL_CHARS

# Standard base64 (RFC 4648, section 4) without line breaks, padded.
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
# Host names and IPv4 addresses; no user name or password before the host.
_HOST = r"[A-Za-z0-9.-]+"
# No whitespace or control characters anywhere (\x85 and \x1c-\x1f spelled out, as in schemas.py).
WEBHOOK_URL = rf"^https?://{_HOST}{_PORT}(?:/[^\s\x00-\x1f\x7f\x85]*)?$"
ORIGIN = rf"^https?://{_HOST}{_PORT}/?$"

# The same names as calmdesk.channels.models.WebhookEvent (a test keeps them equal).
EventName = Literal[
    "message.received",
    "conversation.escalated",
    "incident.opened",
    "followup.overdue",
    "conversation.resolved",
]
ImportOutcomeName = Literal["new", "duplicate", "auto-reply", "bounce", "rejected"]

WebhookUrl = Annotated[str, Field(min_length=1, max_length=MAX_URL_CHARS, pattern=WEBHOOK_URL)]
Description = Annotated[
    str, Field(max_length=MAX_DESCRIPTION_CHARS, pattern=TEXT), AfterValidator(_storable)
]
Events = Annotated[list[EventName], Field(min_length=1, max_length=20)]


class EmailRawIn(StrictInput):
    """A raw RFC 822 message, base64-encoded, for clients that can only send JSON."""

    raw_base64: Annotated[str, Field(min_length=4, pattern=BASE64)]


class EmailImportOut(Schema):
    """What became of the email: the same outcome `calmdesk import-email` prints."""

    conversation_id: int | None
    message_id: int | None
    outcome: ImportOutcomeName
    detail: str


class WebhookSubscriptionIn(StrictInput):
    url: WebhookUrl
    events: Events
    description: Description = ""
    is_active: bool = True


class WebhookSubscriptionPatchIn(StrictInput):
    """Only the fields given change; the secret never does."""

    url: WebhookUrl | None = None
    events: Events | None = None
    description: Description | None = None
    is_active: bool | None = None


class WebhookSubscriptionOut(Schema):
    id: int
    url: str
    events: list[str]
    description: str
    is_active: bool
    created_by: StaffOut | None
    created_at: datetime

    @classmethod
    def fields_of(cls, subscription: WebhookSubscription) -> dict[str, Any]:
        return {
            "id": subscription.pk,
            "url": subscription.url,
            "events": list(subscription.events),
            "description": subscription.description,
            "is_active": subscription.is_active,
            "created_by": StaffOut.build(subscription.created_by),
            "created_at": subscription.created_at,
        }

    @classmethod
    def build(cls, subscription: WebhookSubscription) -> WebhookSubscriptionOut:
        return cls(**cls.fields_of(subscription))


class WebhookSubscriptionCreatedOut(WebhookSubscriptionOut):
    # Shown in this answer only: keep it to check the Calmdesk-Signature header.
    secret: str

    @classmethod
    def build_with_secret(cls, subscription: WebhookSubscription) -> WebhookSubscriptionCreatedOut:
        return cls(**cls.fields_of(subscription), secret=subscription.secret)


class WebhookSubscriptionListOut(Schema):
    items: list[WebhookSubscriptionOut]


class WebhookDeliveryOut(Schema):
    id: int
    event: str
    event_id: str
    status: Literal["pending", "retrying", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str
    response_excerpt: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def build(cls, row: WebhookDeliveryRow) -> WebhookDeliveryOut:
        return cls.model_validate(row, from_attributes=True)


class WebhookDeliveryPageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[WebhookDeliveryOut]


class PageQuery(Schema):
    limit: Annotated[int, Field(ge=1, le=100)] = 25
    offset: Annotated[int, Field(ge=0, le=10**12)] = 0


class ChatSettingsIn(StrictInput):
    """The whole set of sites that may embed the chat (it replaces the current one)."""

    allowed_origins: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=300, pattern=ORIGIN)]],
        Field(max_length=MAX_ALLOWED_ORIGINS),
    ]
    enabled: bool = True
    # Left out: the current title stays.
    title: (
        Annotated[str, Field(max_length=MAX_TITLE_CHARS, pattern=TEXT), AfterValidator(_storable)]
        | None
    ) = None
    # Left out: the current greeting stays; "" shows none.
    greeting: (
        Annotated[
            str, Field(max_length=MAX_GREETING_CHARS, pattern=TEXT), AfterValidator(_storable)
        ]
        | None
    ) = None


class ChatSettingsOut(Schema):
    enabled: bool
    allowed_origins: list[str]
    title: str
    greeting: str
    # The tag to paste into the organisation's site.
    embed_code: str

    @classmethod
    def build(cls, chat: ChatSettings, *, embed_code: str) -> ChatSettingsOut:
        return cls(
            enabled=chat.enabled,
            allowed_origins=list(chat.allowed_origins),
            title=chat.title,
            greeting=chat.greeting,
            embed_code=embed_code,
        )

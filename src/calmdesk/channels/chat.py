"""Web chat: visitors on an organisation's own site talk to its agents.

A visitor gets a signed token (no cookie, no account): it names the
organisation and a random visitor id, and every request carries it. Their
messages go through the same receive service as email (assessed, policy
applied); agents answer from the workspace as usual, and the widget polls.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.services import audit_record
from calmdesk.channels.models import ChatPresence, ChatSettings
from calmdesk.channels.parsing import storable_text
from calmdesk.conversations.models import (
    OPEN_STATUSES,
    Channel,
    Conversation,
    Direction,
    Message,
)
from calmdesk.conversations.services import ReceiveResult, inbound_message_receive
from calmdesk.customers.models import ContactIdentity, IdentityKind

TOKEN_SALT = "calmdesk.channels.chat"  # noqa: S105 - a signing namespace, not a secret
TOKEN_MAX_AGE = timedelta(days=30)
TYPING_SECONDS = 6
MAX_CHAT_TEXT = 5000
MAX_MESSAGES_PER_POLL = 100
# A person types a few messages a minute; a script flooding the queue is stopped here.
MAX_MESSAGES_PER_MINUTE = 20


class ChatError(ValueError):
    """A chat request that cannot be served; the message is safe to show the visitor."""


class ChatRateLimited(ChatError):
    """Too many messages in a short time."""


@dataclass(frozen=True)
class ChatVisitor:
    organisation_id: int
    visitor_id: str

    @property
    def handle(self) -> str:
        return f"chat-visitor:{self.visitor_id}"


@dataclass(frozen=True)
class ChatLine:
    id: int
    sender: str  # "visitor" or "agent"
    author: str
    text: str
    at: datetime


@dataclass(frozen=True)
class ChatUpdate:
    lines: tuple[ChatLine, ...]
    agent_typing: bool


def normalise_origin(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def origin_allowed(organisation: Organisation, origin: str) -> bool:
    chat = ChatSettings.objects.filter(organisation=organisation, enabled=True).first()
    if chat is None or not origin:
        return False
    allowed = {normalise_origin(item) for item in chat.allowed_origins}
    return normalise_origin(origin) in allowed - {""}


MAX_ALLOWED_ORIGINS = 50
MAX_ORIGIN_CHARS = 300
MAX_TITLE_CHARS = 100
MAX_GREETING_CHARS = 500


def origin_check(origin: str) -> str:
    """The normal form of an origin an admin typed, or ChatError saying what is wrong with it.

    Stricter than `normalise_origin` (which reads browsers' Origin headers): a
    path, query, fragment, user name or wildcard is refused rather than
    silently dropped, so an admin never believes a page-level rule exists.
    """
    shown = repr(origin[:80])
    problem = f"{shown} is not an origin such as https://shop.example.com"
    candidate = origin.strip()
    if not candidate or len(candidate) > MAX_ORIGIN_CHARS:
        raise ChatError(problem)
    if any(char.isspace() or ord(char) < 32 or char in "*\\" for char in candidate):
        raise ChatError(f"{problem} (no spaces, wildcards or backslashes)")
    try:
        parts = urlsplit(candidate)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ChatError(problem) from exc
    if parts.username is not None or parts.password is not None:
        raise ChatError(f"{problem} (no user name or password)")
    if parts.path not in ("", "/") or parts.query or parts.fragment or candidate.endswith("?"):
        raise ChatError(f"{problem} (an origin has no path; the widget works on every page)")
    normal = normalise_origin(candidate)
    if not normal:
        raise ChatError(problem)
    return normal


def chat_settings_for(organisation: Organisation) -> ChatSettings:
    """The organisation's chat settings; unsaved defaults (no origins) when never configured."""
    found = ChatSettings.objects.filter(organisation=organisation).first()
    return found if found is not None else ChatSettings(organisation=organisation)


def chat_settings_update(
    *,
    organisation: Organisation,
    allowed_origins: list[str],
    enabled: bool = True,
    title: str = "",
    greeting: str | None = None,
    actor: User | None = None,
) -> ChatSettings:
    """Replace the allowed origins (and set enabled; the title when one is given, the
    greeting when one is given: "" for none).

    A change is audited with what it was before, so "who let that site embed
    our chat?" has an answer.
    """
    if len(allowed_origins) > MAX_ALLOWED_ORIGINS:
        raise ChatError(f"at most {MAX_ALLOWED_ORIGINS} origins may embed the chat")
    cleaned = [origin_check(origin) for origin in allowed_origins]
    title = title.strip()
    if len(title) > MAX_TITLE_CHARS:
        raise ChatError(f"the title is at most {MAX_TITLE_CHARS} characters")
    if greeting is not None:
        greeting = greeting.strip()
        if len(greeting) > MAX_GREETING_CHARS:
            raise ChatError(f"the greeting is at most {MAX_GREETING_CHARS} characters")
    before = chat_settings_for(organisation)
    was = {
        "enabled": before.enabled,
        "title": before.title,
        "greeting": before.greeting,
        "origins": before.allowed_origins,
    }
    with transaction.atomic():
        chat, _ = ChatSettings.objects.update_or_create(
            organisation=organisation,
            defaults={
                "allowed_origins": sorted(set(cleaned)),
                "enabled": enabled,
                **({"title": title[:100]} if title else {}),
                **({"greeting": greeting} if greeting is not None else {}),
            },
        )
        now = {
            "enabled": chat.enabled,
            "title": chat.title,
            "greeting": chat.greeting,
            "origins": chat.allowed_origins,
        }
        if now != was:
            audit_record(
                organisation=organisation,
                actor=actor,
                action="chat.settings_updated",
                target_type="chat_settings",
                target_id=chat.pk,
                data={"before": was, "after": now},
            )
    return chat


def chat_embed_code(*, widget_url: str, slug: str, stream: bool = False) -> str:
    """The tag an organisation pastes into its site; `stream` asks for server-sent events."""
    transport = ' data-calmdesk-transport="sse"' if stream else ""
    return (
        f'<script src="{html.escape(widget_url)}" data-calmdesk-org="{html.escape(slug)}"'
        f"{transport} async></script>"
    )


def chat_token_issue(*, organisation: Organisation, origin: str) -> str:
    if not origin_allowed(organisation, origin):
        raise ChatError("chat is not enabled for this site")
    return signing.dumps({"o": organisation.pk, "v": uuid.uuid4().hex}, salt=TOKEN_SALT)


def chat_token_read(token: str) -> ChatVisitor:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature as exc:  # includes expiry
        raise ChatError("this chat session is not valid any more; reload the page") from exc
    if not isinstance(data, dict) or not isinstance(data.get("o"), int) or not data.get("v"):
        raise ChatError("this chat session is not valid any more; reload the page")
    return ChatVisitor(organisation_id=data["o"], visitor_id=str(data["v"]))


def _visitor_conversations(visitor: ChatVisitor) -> Q:
    customer_ids = ContactIdentity.objects.filter(
        organisation_id=visitor.organisation_id, kind=IdentityKind.HANDLE, value=visitor.handle
    ).values("customer_id")
    return Q(
        organisation_id=visitor.organisation_id,
        channel=Channel.CHAT,
        customer_id__in=customer_ids,
    )


def chat_message_send(
    *, visitor: ChatVisitor, text: str, client_id: str, name: str = ""
) -> ReceiveResult:
    """The visitor's message, stored once even if the widget sends it twice (same client_id)."""
    # JSON can carry NUL and lone surrogates, which no database stores.
    text = storable_text(text).strip()
    name = storable_text(name)
    client_id = storable_text(client_id)
    if not text:
        raise ChatError("write a message first")
    if len(text) > MAX_CHAT_TEXT:
        raise ChatError(f"messages are limited to {MAX_CHAT_TEXT} characters")
    if not client_id or len(client_id) > 64:
        raise ChatError("missing message id")
    recent = Message.objects.filter(
        conversation__in=Conversation.objects.filter(_visitor_conversations(visitor)),
        direction=Direction.INBOUND,
        created_at__gte=timezone.now() - timedelta(minutes=1),
    ).count()
    if recent >= MAX_MESSAGES_PER_MINUTE:
        raise ChatRateLimited("you are sending messages very fast; wait a moment and try again")
    organisation = Organisation.objects.get(pk=visitor.organisation_id)
    open_conversation = (
        Conversation.objects.filter(_visitor_conversations(visitor), status__in=OPEN_STATUSES)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    result = inbound_message_receive(
        organisation=organisation,
        channel=Channel.CHAT,
        external_id=f"{visitor.visitor_id}:{client_id}",
        body_text=text,
        customer_handle=visitor.handle,
        customer_name=name.strip()[:200],
        subject="Web chat",
        conversation_id=open_conversation,
    )
    ChatPresence.objects.filter(conversation=result.conversation).update(visitor_typing_until=None)
    return result


def chat_updates(*, visitor: ChatVisitor, after_id: int = 0) -> ChatUpdate:
    """Messages the visitor may see (theirs and agents' replies, never notes) after an id."""
    conversations = Conversation.objects.filter(_visitor_conversations(visitor))
    messages = (
        Message.objects.filter(
            conversation__in=conversations,
            direction__in=(Direction.INBOUND, Direction.OUTBOUND),
            pk__gt=after_id,
        )
        .select_related("author")
        .order_by("id")[:MAX_MESSAGES_PER_POLL]
    )
    lines = tuple(
        ChatLine(
            id=message.pk,
            sender="visitor" if message.direction == Direction.INBOUND else "agent",
            author=(
                ""
                if message.direction == Direction.INBOUND
                else (message.author.first_name if message.author else "") or "Support"
            ),
            text=message.body_text,
            at=message.created_at,
        )
        for message in messages
    )
    now = timezone.now()
    agent_typing = ChatPresence.objects.filter(
        conversation__in=conversations, agent_typing_until__gt=now
    ).exists()
    return ChatUpdate(lines=lines, agent_typing=agent_typing)


def chat_visitor_typing(*, visitor: ChatVisitor) -> None:
    conversation = (
        Conversation.objects.filter(_visitor_conversations(visitor), status__in=OPEN_STATUSES)
        .order_by("-id")
        .first()
    )
    if conversation is not None:
        _typing(conversation, field="visitor_typing_until")


def chat_agent_typing(*, conversation: Conversation) -> None:
    """Called while an agent types a reply in a chat conversation (the caller checked access)."""
    if conversation.channel != Channel.CHAT:
        raise ChatError("only chat conversations show typing")
    _typing(conversation, field="agent_typing_until")


def _typing(conversation: Conversation, *, field: str) -> None:
    until = timezone.now() + timedelta(seconds=TYPING_SECONDS)
    ChatPresence.objects.update_or_create(conversation=conversation, defaults={field: until})

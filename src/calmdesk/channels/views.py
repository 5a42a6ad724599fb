"""HTTP for the web chat widget: thin views over `calmdesk.channels.chat`.

The widget runs on the organisation's own site, so these endpoints answer
cross-origin requests, but only from origins the organisation allowed. They
use a bearer token, never cookies, so CSRF does not apply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels import conf
from calmdesk.channels.chat import (
    ChatError,
    ChatRateLimited,
    ChatUpdate,
    ChatVisitor,
    chat_agent_typing,
    chat_message_send,
    chat_settings_for,
    chat_token_issue,
    chat_token_read,
    chat_updates,
    chat_visitor_typing,
    origin_allowed,
)
from calmdesk.conversations.selectors import access_conversation
from calmdesk.conversations.services import ConversationError

R = TypeVar("R", HttpResponse, StreamingHttpResponse)

MAX_CHAT_BODY = 16 * 1024
STREAM_KEEPALIVE_SECONDS = 10.0
STREAM_RETRY_MS = 2000


def _cors(response: R, origin: str) -> R:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def _error(message: str, status: int, origin: str = "") -> HttpResponse:
    response = JsonResponse({"error": message}, status=status)
    return _cors(response, origin) if origin else response


def _visitor(request: HttpRequest) -> tuple[ChatVisitor, Organisation, str]:
    """The visitor behind the bearer token, checked against the request's Origin."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise ChatError("no chat session")
    visitor = chat_token_read(header.removeprefix("Bearer ").strip())
    organisation = Organisation.objects.filter(pk=visitor.organisation_id).first()
    origin = request.headers.get("Origin", "")
    if organisation is None or not origin_allowed(organisation, origin):
        raise PermissionError("chat is not enabled for this site")
    return visitor, organisation, origin


def _visitor_or_refusal(request: HttpRequest) -> tuple[ChatVisitor, str] | HttpResponse:
    """The visitor and their Origin, or the 401/403 answer for a request without one."""
    try:
        visitor, _, origin = _visitor(request)
    except ChatError as exc:
        return _error(str(exc), 401, request.headers.get("Origin", ""))
    except PermissionError as exc:
        return _error(str(exc), 403)
    return visitor, origin


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_CHAT_BODY:
        raise ChatError("the request is too large")
    try:
        data = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ChatError("the request is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ChatError("the request must be a JSON object")
    return data


def _preflight(request: HttpRequest, organisation: Organisation | None) -> HttpResponse | None:
    if request.method != "OPTIONS":
        return None
    origin = request.headers.get("Origin", "")
    if organisation is None:
        # Before the token is read the organisation is unknown; the real request is checked.
        return _cors(HttpResponse(status=204), origin) if origin else HttpResponse(status=204)
    if not origin_allowed(organisation, origin):
        return HttpResponse(status=403)
    return _cors(HttpResponse(status=204), origin)


@require_GET
def widget_script(request: HttpRequest) -> HttpResponse:
    script = resources.files("calmdesk.channels").joinpath("static/channels/widget.js").read_text()
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@csrf_exempt
def session_start(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(Organisation, slug=slug)
    preflight = _preflight(request, organisation)
    if preflight is not None:
        return preflight
    if request.method != "POST":
        return _error("use POST", 405)
    origin = request.headers.get("Origin", "")
    try:
        token = chat_token_issue(organisation=organisation, origin=origin)
    except ChatError as exc:
        return _error(str(exc), 403)
    chat = chat_settings_for(organisation)
    return _cors(
        JsonResponse({"token": token, "title": chat.title, "greeting": chat.greeting}, status=201),
        origin,
    )


def _after(request: HttpRequest) -> int | None:
    try:
        return max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return None


def _update_payload(update: ChatUpdate) -> dict[str, Any]:
    return {
        "messages": [
            {
                "id": line.id,
                "from": line.sender,
                "author": line.author,
                "text": line.text,
                "at": line.at.isoformat(),
            }
            for line in update.lines
        ],
        "agent_typing": update.agent_typing,
    }


@csrf_exempt
def messages(request: HttpRequest) -> HttpResponse:
    preflight = _preflight(request, None)
    if preflight is not None:
        return preflight
    found = _visitor_or_refusal(request)
    if isinstance(found, HttpResponse):
        return found
    visitor, origin = found
    try:
        if request.method == "GET":
            after = _after(request)
            if after is None:
                return _error("after must be a message id", 400, origin)
            update = chat_updates(visitor=visitor, after_id=after)
            return _cors(JsonResponse(_update_payload(update)), origin)
        if request.method == "POST":
            data = _json_body(request)
            result = chat_message_send(
                visitor=visitor,
                text=str(data.get("text", "")),
                client_id=str(data.get("client_id", "")),
                name=str(data.get("name", "")),
            )
            status = 201 if result.created else 200
            return _cors(JsonResponse({"id": result.message.pk}, status=status), origin)
    except ChatRateLimited as exc:
        return _error(str(exc), 429, origin)
    except (ChatError, ConversationError) as exc:
        return _error(str(exc), 400, origin)
    return _error("use GET or POST", 405, origin)


@csrf_exempt
def visitor_typing(request: HttpRequest) -> HttpResponse:
    preflight = _preflight(request, None)
    if preflight is not None:
        return preflight
    if request.method != "POST":
        return _error("use POST", 405)
    found = _visitor_or_refusal(request)
    if isinstance(found, HttpResponse):
        return found
    visitor, origin = found
    chat_visitor_typing(visitor=visitor)
    return _cors(HttpResponse(status=204), origin)


def _events(visitor: ChatVisitor, after_id: int) -> Iterator[str]:
    """Server-sent events: an `update` whenever there are new lines or typing is on or
    has just stopped, a comment now and then to keep proxies from closing the line,
    and the end after CALMDESK_CHAT_STREAM_SECONDS (the widget opens a new stream)."""
    interval = conf.chat_stream_interval()
    deadline = time.monotonic() + conf.chat_stream_seconds()
    last_typing = False
    last_sent = time.monotonic()
    yield f"retry: {STREAM_RETRY_MS}\n\n"
    while True:
        update = chat_updates(visitor=visitor, after_id=after_id)
        now = time.monotonic()
        # Typing is re-sent while it lasts: the widget clears it when nothing confirms it.
        if update.lines or update.agent_typing or last_typing:
            if update.lines:
                after_id = update.lines[-1].id
            data = json.dumps(_update_payload(update), separators=(",", ":"))
            yield f"id: {after_id}\nevent: update\ndata: {data}\n\n"
            last_typing = update.agent_typing
            last_sent = now
        elif now - last_sent >= STREAM_KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = now
        if now >= deadline:
            return
        time.sleep(interval)


@csrf_exempt
def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The visitor's updates as server-sent events (text/event-stream), beside polling.

    Read with fetch() rather than EventSource, so the token travels in the
    Authorization header and never in a URL. Each open stream holds a web
    thread until it ends, so a site enables it on the script tag
    (`data-calmdesk-transport="sse"`); CALMDESK_CHAT_STREAM_SECONDS=0 turns it off.
    """
    preflight = _preflight(request, None)
    if preflight is not None:
        return preflight
    if request.method != "GET":
        return _error("use GET", 405)
    found = _visitor_or_refusal(request)
    if isinstance(found, HttpResponse):
        return found
    visitor, origin = found
    if conf.chat_stream_seconds() <= 0:
        return _error("streaming is off here; poll api/messages", 404, origin)
    after = _after(request)
    if after is None:
        return _error("after must be a message id", 400, origin)
    response = StreamingHttpResponse(
        _events(visitor, after), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    # nginx would otherwise hold the events back until its buffer fills.
    response["X-Accel-Buffering"] = "no"
    return _cors(response, origin)


@require_POST
@login_required
def agent_typing(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The workspace calls this while an agent types a chat reply (same-origin, CSRF-checked)."""
    user = request.user
    assert isinstance(user, User)
    conversation = access_conversation(user, conversation_id)
    try:
        chat_agent_typing(conversation=conversation)
    except ChatError as exc:
        return _error(str(exc), 400)
    return HttpResponse(status=204)

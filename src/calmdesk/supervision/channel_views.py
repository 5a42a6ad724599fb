"""The admin's channel pages: web chat, webhook subscriptions, and the email settings in use.

Thin like the other supervision views: a form parses, one service changes (and
audits), a selector reads. Admins change everything here; other staff get 403
for every change and, on the overview, only the web chat's public settings
(webhook URLs can carry a receiver's own secret, so only admins see them).
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods, require_POST

from calmdesk.accounts.models import Organisation, Role, User
from calmdesk.channels import conf
from calmdesk.channels.chat import (
    ChatError,
    chat_embed_code,
    chat_settings_for,
    chat_settings_update,
)
from calmdesk.channels.selectors import (
    access_webhook_subscription,
    email_channel_overview,
    organisation_webhook_subscriptions,
    webhook_delivery_count,
    webhook_delivery_history,
    webhook_last_deliveries,
)
from calmdesk.channels.webhooks import (
    SIGNATURE_HEADER,
    WebhookError,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)
from calmdesk.supervision.forms import ChatSettingsForm, WebhookEditForm, WebhookForm
from calmdesk.workspace.views import HtmxHttpRequest, staff_view, wants_partial

DELIVERIES_PAGE_SIZE = 20
# The secret of a subscription just made waits here for the one page view that shows it.
NEW_SECRET_SESSION_KEY = "calmdesk.webhook_new_secret"  # noqa: S105 - a session key, not a secret


def _require_admin(user: User, what: str) -> None:
    if user.role != Role.ADMIN:
        raise PermissionDenied(f"Only admins can {what}.")


def _organisation(user: User) -> Organisation:
    organisation = user.organisation
    assert organisation is not None  # staff_view lets only members of an organisation in
    return organisation


def _chat_context(
    request: HtmxHttpRequest, user: User, form: ChatSettingsForm | None = None
) -> dict[str, Any]:
    organisation = _organisation(user)
    chat = chat_settings_for(organisation)
    widget_url = request.build_absolute_uri(reverse("channels:chat-widget"))
    if form is None:
        form = ChatSettingsForm(
            initial={
                "enabled": chat.enabled,
                "title": chat.title,
                "greeting": chat.greeting,
                "allowed_origins": "\n".join(chat.allowed_origins),
            }
        )
    return {
        "chat": chat,
        "chat_configured": chat.pk is not None,
        "chat_form": form,
        "embed_code": chat_embed_code(widget_url=widget_url, slug=organisation.slug),
        "embed_code_stream": chat_embed_code(
            widget_url=widget_url, slug=organisation.slug, stream=True
        ),
        "streaming_on": conf.chat_stream_seconds() > 0,
        "can_edit": user.role == Role.ADMIN,
    }


def _channels_context(
    request: HtmxHttpRequest,
    user: User,
    *,
    chat_form: ChatSettingsForm | None = None,
    webhook_form: WebhookForm | None = None,
) -> dict[str, Any]:
    context = _chat_context(request, user, chat_form)
    if user.role == Role.ADMIN:
        organisation = _organisation(user)
        subscriptions = list(organisation_webhook_subscriptions(organisation))
        last = webhook_last_deliveries(s.pk for s in subscriptions)
        context.update(
            webhooks=[(s, last.get(s.pk)) for s in subscriptions],
            webhook_form=webhook_form or WebhookForm(),
            email=email_channel_overview(organisation),
        )
    return context


@require_http_methods(["GET"])
@staff_view
def channels(request: HtmxHttpRequest, user: User) -> HttpResponse:
    return render(request, "supervision/channels.html", _channels_context(request, user))


@require_POST
@staff_view
def channels_chat(request: HtmxHttpRequest, user: User) -> HttpResponse:
    """Save the web chat settings; a rejected form comes back with every line's problem."""
    _require_admin(user, "change the web chat settings")
    form = ChatSettingsForm(request.POST)
    if form.is_valid():
        try:
            chat_settings_update(
                organisation=_organisation(user),
                allowed_origins=form.cleaned_data["allowed_origins"],
                enabled=form.cleaned_data["enabled"],
                title=form.cleaned_data["title"],
                greeting=form.cleaned_data["greeting"],
                actor=user,
            )
        except ChatError as error:
            form.add_error(None, f"{error}.")
        else:
            if wants_partial(request):
                context = {
                    **_chat_context(request, user),
                    "chat_notice": "Web chat settings saved.",
                }
                return render(request, "supervision/channels.html#chat-settings", context)
            flash.success(request, "Web chat settings saved.")
            return redirect("supervision:channels")
    if wants_partial(request):
        # HTMX swaps only 2xx answers; the errors are in the fragment.
        return render(
            request, "supervision/channels.html#chat-settings", _chat_context(request, user, form)
        )
    context = _channels_context(request, user, chat_form=form)
    return render(request, "supervision/channels.html", context, status=400)


@require_POST
@staff_view
def webhook_create(request: HtmxHttpRequest, user: User) -> HttpResponse:
    """Subscribe a URL; its page then shows the signing secret, once."""
    _require_admin(user, "manage webhooks")
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            subscription = webhook_subscription_create(
                organisation=_organisation(user),
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                actor=user,
            )
        except WebhookError as error:
            form.add_error(None, f"{error}.")
        else:
            request.session[NEW_SECRET_SESSION_KEY] = {
                "id": subscription.pk,
                "secret": subscription.secret,
            }
            return redirect("supervision:webhook", subscription_id=subscription.pk)
    context = _channels_context(request, user, webhook_form=form)
    return render(request, "supervision/channels.html", context, status=400)


def _take_new_secret(request: HtmxHttpRequest, subscription_id: int) -> str:
    """The secret of a subscription this session just made, the first time it is asked for."""
    waiting = request.session.get(NEW_SECRET_SESSION_KEY)
    if not isinstance(waiting, dict) or waiting.get("id") != subscription_id:
        return ""
    del request.session[NEW_SECRET_SESSION_KEY]
    return str(waiting.get("secret", ""))


def _page_number(raw: str | None, pages: int) -> int:
    number = int(raw) if raw and raw.isdigit() and len(raw) < 7 else 1
    return min(max(number, 1), pages)


@require_http_methods(["GET", "POST"])
@staff_view
def webhook_detail(request: HtmxHttpRequest, user: User, subscription_id: int) -> HttpResponse:
    """A subscription's settings and its deliveries, newest first (the table pages by HTMX)."""
    _require_admin(user, "manage webhooks")
    subscription = access_webhook_subscription(user, subscription_id)
    status = 200
    new_secret = ""
    if request.method == "POST":
        form = WebhookEditForm(request.POST)
        if form.is_valid():
            try:
                webhook_subscription_update(
                    subscription=subscription,
                    actor=user,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                    is_active=form.cleaned_data["is_active"],
                )
            except WebhookError as error:
                form.add_error(None, f"{error}.")
            else:
                flash.success(request, "Webhook saved.")
                return redirect("supervision:webhook", subscription_id=subscription.pk)
        status = 400
        subscription.refresh_from_db()
    else:
        new_secret = _take_new_secret(request, subscription.pk)
        form = WebhookEditForm(
            initial={
                "url": subscription.url,
                "events": subscription.events,
                "description": subscription.description,
                "is_active": subscription.is_active,
            }
        )
    total = webhook_delivery_count(subscription)
    pages = max(1, math.ceil(total / DELIVERIES_PAGE_SIZE))
    number = _page_number(request.GET.get("page"), pages)
    context = {
        "subscription": subscription,
        "form": form,
        "new_secret": new_secret,
        "signature_header": SIGNATURE_HEADER,
        "deliveries": webhook_delivery_history(
            subscription,
            limit=DELIVERIES_PAGE_SIZE,
            offset=(number - 1) * DELIVERIES_PAGE_SIZE,
        ),
        "total": total,
        "page_number": number,
        "pages": pages,
    }
    template = "supervision/webhook_detail.html"
    if request.method == "GET" and wants_partial(request):
        template += "#deliveries"
    response = render(request, template, context, status=status)
    if new_secret:
        # The one answer that carries the secret is kept by no cache, the browser's included.
        patch_cache_control(response, no_store=True, private=True)
    return response


@require_http_methods(["GET", "POST"])
@staff_view
def webhook_delete(request: HtmxHttpRequest, user: User, subscription_id: int) -> HttpResponse:
    """Asks first (GET), deletes on the confirming POST; pausing instead keeps the history."""
    _require_admin(user, "manage webhooks")
    subscription = access_webhook_subscription(user, subscription_id)
    if request.method == "POST":
        url = subscription.url
        webhook_subscription_delete(subscription=subscription, actor=user)
        flash.success(request, f"Webhook {url} deleted with its delivery history.")
        return redirect("supervision:channels")
    context = {"subscription": subscription, "total": webhook_delivery_count(subscription)}
    return render(request, "supervision/webhook_delete.html", context)

"""Webhooks out: telling an organisation's own systems about events, signed and retried.

Every delivery is signed the same way (HMAC-SHA256 with the subscription's
secret over "<timestamp>.<body>", sent as `Calmdesk-Signature: t=<ts>,v1=<hex>`),
so the receiver can check it came from us and is recent. A receiver that is
down is retried with backoff by the task worker; every attempt's outcome is
kept on the delivery for the organisation to see.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.services import audit_record
from calmdesk.channels.models import (
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEvent,
    WebhookSubscription,
)
from calmdesk.lean_reads import quoted, rows

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Calmdesk-Signature"
# Seconds before each retry: 30 s, 2 min, 10 min, 1 h, 4 h; a receiver down
# for a deploy or an afternoon still gets the event.
RETRY_DELAYS: tuple[int, ...] = (30, 120, 600, 3600, 14400)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT_SECONDS = 10
# Receivers reject signatures older than this (replay protection).
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_TEXT_IN_PAYLOAD = 10_000


class WebhookError(ValueError):
    """A webhook subscription that cannot be made as asked."""


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def signature_verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver runs: True only for our signature over this body, made recently."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


MAX_URL_CHARS = 500
MAX_DESCRIPTION_CHARS = 200


def _check_url(url: str) -> None:
    if len(url) > MAX_URL_CHARS:
        raise WebhookError(f"a webhook URL is at most {MAX_URL_CHARS} characters")
    if any(char.isspace() or ord(char) < 32 for char in url):
        raise WebhookError("a webhook URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise WebhookError(f"{url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookError("a webhook URL must start with https:// (or http://) and name a host")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would show in every delivery log; the signature authenticates us.
        raise WebhookError("a webhook URL must not contain a user name or password")


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown or not events:
        raise WebhookError(
            f"unknown events: {', '.join(unknown)}" if unknown else "choose at least one event"
        )
    return sorted(set(events))


def _check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise WebhookError(f"a description is at most {MAX_DESCRIPTION_CHARS} characters")
    return description.strip()


def webhook_url_check(url: str) -> str:
    """The URL as it would be stored, or WebhookError saying what is wrong with it.

    For forms that show the problem beside the field; the services check again.
    """
    _check_url(url)
    return url


def webhook_events_check(events: list[str]) -> list[str]:
    """The events as they would be stored (sorted, once each), or WebhookError."""
    return _check_events(events)


def webhook_subscription_create(
    *,
    organisation: Organisation,
    url: str,
    events: list[str],
    actor: User | None,
    description: str = "",
) -> WebhookSubscription:
    """Subscribe a URL to events; the new secret is on the returned object."""
    _check_url(url)
    subscription = WebhookSubscription.objects.create(
        organisation=organisation,
        url=url,
        events=_check_events(events),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        description=_check_description(description),
        created_by=actor,
    )
    audit_record(
        organisation=organisation,
        actor=actor,
        action="webhook.subscribed",
        target_type="webhook_subscription",
        target_id=subscription.pk,
        data={"url": url, "events": subscription.events},
    )
    return subscription


def webhook_subscription_deactivate(
    *, subscription: WebhookSubscription, actor: User | None
) -> WebhookSubscription:
    """Stop sending to a URL; its delivery history stays."""
    subscription.is_active = False
    subscription.save(update_fields=["is_active"])
    audit_record(
        organisation=subscription.organisation,
        actor=actor,
        action="webhook.unsubscribed",
        target_type="webhook_subscription",
        target_id=subscription.pk,
        data={"url": subscription.url},
    )
    return subscription


def webhook_subscription_update(
    *,
    subscription: WebhookSubscription,
    actor: User | None,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookSubscription:
    """Change what is given (None leaves a field as it is); the secret never changes here."""
    changed: dict[str, Any] = {}
    if url is not None and url != subscription.url:
        _check_url(url)
        changed["url"] = url
    if events is not None:
        cleaned = _check_events(events)
        if cleaned != subscription.events:
            changed["events"] = cleaned
    if description is not None:
        cleaned_description = _check_description(description)
        if cleaned_description != subscription.description:
            changed["description"] = cleaned_description
    if is_active is not None and is_active != subscription.is_active:
        changed["is_active"] = is_active
    if not changed:
        return subscription
    with transaction.atomic():
        for field, value in changed.items():
            setattr(subscription, field, value)
        subscription.save(update_fields=list(changed))
        audit_record(
            organisation=subscription.organisation,
            actor=actor,
            action="webhook.updated",
            target_type="webhook_subscription",
            target_id=subscription.pk,
            data={"changed": sorted(changed), "url": subscription.url},
        )
    return subscription


def webhook_subscription_delete(*, subscription: WebhookSubscription, actor: User | None) -> None:
    """Remove a subscription and its delivery history (deactivate it to keep the history)."""
    with transaction.atomic():
        audit_record(
            organisation=subscription.organisation,
            actor=actor,
            action="webhook.deleted",
            target_type="webhook_subscription",
            target_id=subscription.pk,
            data={"url": subscription.url, "events": list(subscription.events)},
        )
        subscription.delete()


def _subscriptions_wanting(organisation_id: int, event: str) -> list[int]:
    """Ids of the organisation's active subscriptions to `event`."""
    wanted = []
    for pk, stored in _active_subscriptions(organisation_id):
        # The driver hands JSON over as text on some backends and decoded on others.
        events = json.loads(stored) if isinstance(stored, str | bytes) else stored
        if isinstance(events, list) and event in events:
            wanted.append(pk)
    return wanted


def _active_subscriptions(organisation_id: int) -> list[tuple[Any, ...]]:
    """(id, events) of the organisation's active subscriptions, read once a transaction.

    Asked for every customer message, often twice (the message and its escalation), for an
    answer that is almost always "none": within one transaction the first answer is kept.
    Hand-written, because through the ORM the check cost ~0.4 ms of CPU (issue 2's ingest
    benchmark). A subscription written in this process drops the kept answers.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    # The outermost atomic block stands for the transaction while it lasts.
    transaction_marker = connection.atomic_blocks[0] if connection.atomic_blocks else None
    kept: tuple[object, dict[int, list[tuple[Any, ...]]]] | None = getattr(
        connection, _KEPT_SUBSCRIPTIONS, None
    )
    if transaction_marker is not None and kept is not None and kept[0] is transaction_marker:
        by_organisation = kept[1]
    else:
        by_organisation = {}
        if transaction_marker is not None:
            setattr(connection, _KEPT_SUBSCRIPTIONS, (transaction_marker, by_organisation))
    found = by_organisation.get(organisation_id)
    if found is None:
        table = quoted(WebhookSubscription)
        found = rows(
            f"SELECT {quoted(WebhookSubscription, 'id')}, "  # noqa: S608 - names from the model
            f"{quoted(WebhookSubscription, 'events')} "
            f"FROM {table} WHERE {quoted(WebhookSubscription, 'organisation')} = %s "
            f"AND {quoted(WebhookSubscription, 'is_active')} = %s",
            [organisation_id, True],
        )
        by_organisation[organisation_id] = found
    return found


_KEPT_SUBSCRIPTIONS = "_calmdesk_webhook_subscriptions"


def subscriptions_changed(**kwargs: Any) -> None:
    """Signal receiver: a subscription was written, so no kept answer is current."""
    for connection in connections.all(initialized_only=True):
        if hasattr(connection, _KEPT_SUBSCRIPTIONS):
            delattr(connection, _KEPT_SUBSCRIPTIONS)


def webhook_event_emit(
    *, organisation_id: int, event: str, data: Mapping[str, Any]
) -> list[WebhookDelivery]:
    """Record the event for every subscription that wants it; the worker sends after commit."""
    if event not in WebhookEvent.values:
        raise WebhookError(f"unknown event {event!r}")
    # Asked for every customer message, and most organisations subscribe to nothing:
    # two columns first, the whole rows only for subscriptions that want the event.
    wanted = _subscriptions_wanting(organisation_id, event)
    if not wanted:
        return []
    subscriptions = list(
        WebhookSubscription.objects.select_related("organisation")
        .filter(pk__in=wanted)
        .order_by("pk")
    )
    event_id = uuid.uuid4()
    deliveries = []
    for subscription in subscriptions:
        payload = {
            "id": str(event_id),
            "event": event,
            "created_at": timezone.now().isoformat(),
            "organisation": subscription.organisation.slug,
            "data": dict(data),
        }
        deliveries.append(
            WebhookDelivery.objects.create(
                subscription=subscription,
                event=event,
                event_id=event_id,
                payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
            )
        )
    delivery_ids = [delivery.pk for delivery in deliveries]

    def enqueue_all() -> None:
        for delivery_id in delivery_ids:
            _enqueue(delivery_id, run_after=None)

    transaction.on_commit(enqueue_all)
    return deliveries


def _enqueue(delivery_id: int, *, run_after: Any) -> None:
    from calmdesk.channels.tasks import deliver_webhook

    task = deliver_webhook
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # webhook_deliveries_retry_due() picks it up
        task = task.using(run_after=run_after)
    task.enqueue(delivery_id)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead to an address we would refuse; receivers must answer directly.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _address_allowed(host: str) -> str | None:
    """None when the host may be called; otherwise why not."""
    if getattr(settings, "CALMDESK_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False):
        return None
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"{host} resolves to a private or local address ({address})"
    return None


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, str]:
    """(status code, response excerpt, error) for one POST of the delivery."""
    subscription = delivery.subscription
    host = urlsplit(subscription.url).hostname or ""
    refused = _address_allowed(host)
    if refused:
        return None, "", refused
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s)
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "calmdesk-webhooks/1",
            "Calmdesk-Event": delivery.event,
            "Calmdesk-Delivery": str(delivery.event_id),
            SIGNATURE_HEADER: sign(secret=subscription.secret, timestamp=timestamp, body=body),
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            excerpt = response.read(500).decode("utf-8", "replace")
            return int(response.status), excerpt, ""
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        return int(exc.code), excerpt, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, "", f"{type(exc).__name__}: {exc}"


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery:
    """One POST; a 2xx answer delivers it, anything else is retried with backoff, then failed."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .get(pk=delivery_id)
        )
        if delivery.status in (WebhookDeliveryStatus.DELIVERED, WebhookDeliveryStatus.FAILED):
            return delivery
        delivery.attempts += 1
        delivery.next_attempt_at = None
        delivery.save(update_fields=["attempts", "next_attempt_at"])

    status_code, excerpt, error = _post(delivery)
    delivery.last_status_code = status_code
    delivery.response_excerpt = excerpt[:500]
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = WebhookDeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
    else:
        delivery.last_error = error[:2000]
        permanent = "private or local address" in error
        if permanent or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDeliveryStatus.FAILED
        else:
            delivery.status = WebhookDeliveryStatus.RETRYING
            delivery.next_attempt_at = timezone.now() + timedelta(
                seconds=RETRY_DELAYS[delivery.attempts - 1]
            )
        logger.warning(
            "webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error
        )
    delivery.save(
        update_fields=[
            "status",
            "last_status_code",
            "response_excerpt",
            "last_error",
            "next_attempt_at",
            "delivered_at",
        ]
    )
    if delivery.status == WebhookDeliveryStatus.RETRYING:
        run_after = delivery.next_attempt_at
        transaction.on_commit(lambda: _enqueue(delivery.pk, run_after=run_after))
    return delivery


def webhook_deliveries_retry_due(*, now: Any = None) -> int:
    moment = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.RETRYING, next_attempt_at__lte=moment
        ).values_list("pk", flat=True)
    )
    for delivery_id in due:
        webhook_delivery_attempt(delivery_id=delivery_id)
    return len(due)

"""Webhooks out, delivered to a real HTTP receiver on a loopback port."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.models import AuditEvent
from calmdesk.audit.services import audit_record
from calmdesk.channels.models import WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription
from calmdesk.channels.services import ImportResult
from calmdesk.channels.webhooks import (
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    WebhookError,
    sign,
    signature_verify,
    webhook_deliveries_retry_due,
    webhook_delivery_attempt,
    webhook_subscription_create,
)
from calmdesk.conversations.models import Conversation
from calmdesk.conversations.services import conversation_set_status

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class Receiver:
    """Records every POST; answers with queued status codes first, then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: deque[int] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver is down")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/calmdesk"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.CALMDESK_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback
    instance = Receiver()
    thread = threading.Thread(target=instance.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield instance
    finally:
        instance.server.shutdown()
        instance.server.server_close()


@pytest.mark.django_db
def test_a_customer_email_is_delivered_signed_to_the_subscriber(
    receiver: Receiver,
    org: Organisation,
    admin_user: User,
    import_fixture: Callable[..., ImportResult],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = IMMEDIATE_TASKS
    subscription = webhook_subscription_create(
        organisation=org, url=receiver.url, events=["message.received"], actor=admin_user
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = import_fixture("01_plain_new.eml")

    [(headers, body)] = receiver.requests
    assert signature_verify(
        secret=subscription.secret, header=headers[SIGNATURE_HEADER.lower()], body=body
    )
    assert not signature_verify(
        secret="whsec_wrong", header=headers[SIGNATURE_HEADER.lower()], body=body
    )
    payload = json.loads(body)
    assert payload["event"] == "message.received" and payload["organisation"] == "acme"
    assert payload["data"]["message_id"] == result.message_id
    assert payload["data"]["conversation_id"] == result.conversation_id
    assert "standing desk" in payload["data"]["text"]
    assert headers["calmdesk-event"] == "message.received"
    assert headers["calmdesk-delivery"] == payload["id"]
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        WebhookDeliveryStatus.DELIVERED,
        1,
        200,
    )


@pytest.mark.django_db
def test_a_failing_receiver_gets_retries_then_a_recorded_failure(
    receiver: Receiver,
    org: Organisation,
    admin_user: User,
    import_fixture: Callable[..., ImportResult],
) -> None:
    webhook_subscription_create(
        organisation=org, url=receiver.url, events=["message.received"], actor=admin_user
    )
    import_fixture("01_plain_new.eml")
    delivery = WebhookDelivery.objects.get()
    receiver.statuses.extend([500] * MAX_ATTEMPTS)

    first = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert first.status == WebhookDeliveryStatus.RETRYING and first.last_status_code == 500
    assert first.next_attempt_at is not None and first.next_attempt_at > timezone.now() + timedelta(
        seconds=25
    )
    assert first.response_excerpt == "receiver is down"
    assert webhook_deliveries_retry_due() == 0  # not due yet
    for _ in range(MAX_ATTEMPTS - 1):
        webhook_deliveries_retry_due(now=timezone.now() + timedelta(days=1))
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.attempts == MAX_ATTEMPTS == len(receiver.requests)
    assert delivery.last_error == "HTTP 500"
    # Every attempt carried the same event id and a valid signature.
    assert len({headers["calmdesk-delivery"] for headers, _ in receiver.requests}) == 1


@pytest.mark.django_db
def test_a_receiver_that_recovers_gets_the_event(
    receiver: Receiver,
    org: Organisation,
    admin_user: User,
    import_fixture: Callable[..., ImportResult],
) -> None:
    webhook_subscription_create(
        organisation=org, url=receiver.url, events=["message.received"], actor=admin_user
    )
    import_fixture("01_plain_new.eml")
    delivery = WebhookDelivery.objects.get()
    receiver.statuses.extend([503, 502])
    statuses = [webhook_delivery_attempt(delivery_id=delivery.pk).status for _ in range(3)]
    assert statuses == ["retrying", "retrying", "delivered"]


@pytest.mark.django_db
def test_only_subscribed_events_are_sent_and_audited_events_are_mapped(
    receiver: Receiver,
    org: Organisation,
    admin_user: User,
    import_fixture: Callable[..., ImportResult],
) -> None:
    subscription = webhook_subscription_create(
        organisation=org,
        url=receiver.url,
        events=["conversation.resolved", "incident.opened", "conversation.escalated"],
        actor=admin_user,
    )
    result = import_fixture("01_plain_new.eml")
    conversation = Conversation.objects.get(pk=result.conversation_id)
    assert not WebhookDelivery.objects.exists()  # message.received is not subscribed

    conversation_set_status(conversation=conversation, actor=admin_user, status="resolved")
    audit_record(
        organisation=org,
        actor=None,
        action="incident.opened",
        target_type="incident",
        target_id=42,
        data={"kind": "threat", "conversation_id": conversation.pk, "reason": "threat of violence"},
    )
    events = {
        d.event: d.payload["data"]
        for d in WebhookDelivery.objects.filter(subscription=subscription)
    }
    assert events == {
        "conversation.resolved": {"conversation_id": conversation.pk},
        "incident.opened": {
            "incident_id": 42,
            "kind": "threat",
            "conversation_id": conversation.pk,
            "reason": "threat of violence",
        },
    }


@pytest.mark.django_db
def test_private_addresses_are_refused_unless_allowed(
    org: Organisation, admin_user: User, import_fixture: Callable[..., ImportResult], settings: Any
) -> None:
    settings.CALMDESK_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    webhook_subscription_create(
        organisation=org,
        url="http://127.0.0.1:9/internal",
        events=["message.received"],
        actor=admin_user,
    )
    import_fixture("01_plain_new.eml")
    delivery = webhook_delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert "private or local address" in delivery.last_error


@pytest.mark.django_db
def test_bad_subscriptions_are_clear_errors(org: Organisation, admin_user: User) -> None:
    with pytest.raises(WebhookError, match="https://"):
        webhook_subscription_create(
            organisation=org, url="ftp://example.com", events=["message.received"], actor=admin_user
        )
    with pytest.raises(WebhookError, match=r"unknown events: message\.deleted"):
        webhook_subscription_create(
            organisation=org,
            url="https://example.com/h",
            events=["message.deleted"],
            actor=admin_user,
        )
    with pytest.raises(WebhookError, match="at least one"):
        webhook_subscription_create(
            organisation=org, url="https://example.com/h", events=[], actor=admin_user
        )
    assert not WebhookSubscription.objects.exists()


def test_signatures_reject_tampering_and_old_timestamps() -> None:
    body = b'{"event":"message.received"}'
    now = int(time.time())
    header = sign(secret="s3cret", timestamp=now, body=body)
    assert signature_verify(secret="s3cret", header=header, body=body)
    assert not signature_verify(secret="s3cret", header=header, body=body + b" ")
    old = sign(secret="s3cret", timestamp=now - 3600, body=body)
    assert not signature_verify(secret="s3cret", header=old, body=body)
    assert not signature_verify(secret="s3cret", header="garbage", body=body)


@pytest.mark.django_db
def test_history_is_listed_newest_first_and_a_deactivated_subscription_gets_nothing(
    receiver: Receiver,
    org: Organisation,
    admin_user: User,
    import_fixture: Callable[..., ImportResult],
) -> None:
    from calmdesk.channels.selectors import (
        organisation_webhook_subscriptions,
        webhook_delivery_history,
    )
    from calmdesk.channels.webhooks import webhook_subscription_deactivate

    subscription = webhook_subscription_create(
        organisation=org, url=receiver.url, events=["message.received"], actor=admin_user
    )
    import_fixture("01_plain_new.eml")
    import_fixture("08_multipart_alternative.eml")
    receiver.statuses.append(500)
    for delivery in WebhookDelivery.objects.order_by("id"):
        webhook_delivery_attempt(delivery_id=delivery.pk)
    newest, oldest = webhook_delivery_history(subscription)
    assert (oldest.status, oldest.last_status_code) == ("retrying", 500)
    assert (newest.status, newest.last_status_code) == ("delivered", 200)
    assert list(organisation_webhook_subscriptions(org)) == [subscription]

    webhook_subscription_deactivate(subscription=subscription, actor=admin_user)
    import_fixture("09_iso_8859_1.eml")
    assert len(webhook_delivery_history(subscription)) == 2


@pytest.mark.django_db
def test_updating_a_subscription_keeps_its_secret_and_audits_what_changed(
    receiver: Receiver, org: Organisation, admin_user: User
) -> None:
    from calmdesk.channels.webhooks import webhook_subscription_delete, webhook_subscription_update

    subscription = webhook_subscription_create(
        organisation=org, url=receiver.url, events=["message.received"], actor=admin_user
    )
    secret = subscription.secret
    webhook_subscription_update(
        subscription=subscription,
        actor=admin_user,
        events=["conversation.resolved", "conversation.resolved"],
        description="  CRM sync  ",
    )
    subscription.refresh_from_db()
    assert subscription.events == ["conversation.resolved"]
    assert subscription.description == "CRM sync" and subscription.secret == secret
    audit = AuditEvent.objects.get(action="webhook.updated")
    assert audit.data["changed"] == ["description", "events"]
    # Nothing to change: nothing audited.
    webhook_subscription_update(subscription=subscription, actor=admin_user, is_active=True)
    assert AuditEvent.objects.filter(action="webhook.updated").count() == 1
    for bad in (
        {"url": "https://user:secret@hooks.example.com/"},
        {"url": "https://hooks.example.com:port/"},
        {"url": "https://hooks.example.com/a b"},
        {"events": []},
        {"description": "x" * 201},
    ):
        with pytest.raises(WebhookError):
            webhook_subscription_update(subscription=subscription, actor=admin_user, **bad)
    subscription.refresh_from_db()
    assert subscription.url == receiver.url

    subscription_id = subscription.pk
    webhook_subscription_delete(subscription=subscription, actor=admin_user)
    assert not WebhookSubscription.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted", target_id=subscription_id).exists()


@pytest.mark.django_db(transaction=True)
def test_subscriptions_are_read_once_a_transaction_and_a_new_one_is_seen_at_once(
    org: Organisation, admin_user: User, settings: Any
) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from calmdesk.channels.webhooks import webhook_event_emit

    settings.CALMDESK_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True

    def subscription_reads(queries: CaptureQueriesContext) -> int:
        table = WebhookSubscription._meta.db_table
        return sum(
            q["sql"].startswith('SELECT "id", "events"') and table in q["sql"]
            for q in queries.captured_queries
        )

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert webhook_event_emit(organisation_id=org.pk, event="message.received", data={}) == []
        assert (
            webhook_event_emit(organisation_id=org.pk, event="conversation.escalated", data={})
            == []
        )
        assert subscription_reads(queries) == 1
        # Subscribing in the same transaction drops the kept answer: the next event is sent.
        webhook_subscription_create(
            organisation=org,
            url="http://127.0.0.1:9/hook",
            events=["message.received"],
            actor=admin_user,
        )
        sent = webhook_event_emit(organisation_id=org.pk, event="message.received", data={})
        assert len(sent) == 1
        assert subscription_reads(queries) == 2

    # A new transaction reads again: a change committed elsewhere in between is seen.
    WebhookSubscription.objects.filter(organisation=org).update(is_active=False)
    with transaction.atomic():
        assert webhook_event_emit(organisation_id=org.pk, event="message.received", data={}) == []

"""Reads for the email channel: what the agent UI and API show beside a message."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Substr
from django.http import Http404

from calmdesk.accounts.models import Organisation, User
from calmdesk.channels import conf
from calmdesk.channels.models import (
    EmailAttachment,
    EmailDelivery,
    ImapMailboxState,
    RawEmail,
    RawEmailKind,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from calmdesk.conversations.models import Conversation
from calmdesk.conversations.selectors import visible_conversations


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool
    refused: bool
    refused_reason: str


@dataclass(frozen=True)
class DeliveryRow:
    status: str
    status_label: str
    to_address: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True)
class EmailFacts:
    """What the email channel knows about one message."""

    message_id: int
    delivery: DeliveryRow | None
    attachments: tuple[AttachmentRow, ...]
    defects: tuple[str, ...]
    # What trimming removed from the text the engine read, and the untrimmed text.
    trimmed: tuple[str, ...]
    full_text: str


@dataclass(frozen=True)
class MachineMailRow:
    id: int
    kind: str
    reason: str
    from_address: str
    subject: str
    received_at: datetime
    # The line a person would look for: a bounce's SMTP status, an auto-reply's first words.
    excerpt: str = ""

    @property
    def is_bounce(self) -> bool:
        return self.kind == RawEmailKind.BOUNCE


def email_facts_for_messages(message_ids: Iterable[int]) -> dict[int, EmailFacts]:
    """Facts for the given messages (three queries however many); messages without any are absent.

    The caller has already checked the reader may see these messages.
    """
    ids = list(message_ids)
    raw_by_message = {
        raw.message_id: raw
        for raw in RawEmail.objects.filter(message_id__in=ids).only(
            "message_id", "defects", "trimmed", "full_text"
        )
    }
    deliveries = {d.message_id: d for d in EmailDelivery.objects.filter(message_id__in=ids)}
    attachments: dict[int, list[AttachmentRow]] = {}
    for attachment in (
        EmailAttachment.objects.filter(message_id__in=ids).defer("content").order_by("id")
    ):
        if attachment.message_id is None:
            continue
        attachments.setdefault(attachment.message_id, []).append(
            AttachmentRow(
                id=attachment.pk,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
                inline=attachment.inline,
                refused=attachment.refused,
                refused_reason=attachment.refused_reason,
            )
        )
    facts: dict[int, EmailFacts] = {}
    for message_id in ids:
        raw = raw_by_message.get(message_id)
        delivery = deliveries.get(message_id)
        if raw is None and delivery is None:
            continue
        facts[message_id] = EmailFacts(
            message_id=message_id,
            delivery=DeliveryRow(
                status=delivery.status,
                status_label=delivery.get_status_display(),
                to_address=delivery.to_address,
                attempts=delivery.attempts,
                last_error=delivery.last_error,
                next_attempt_at=delivery.next_attempt_at,
                sent_at=delivery.sent_at,
            )
            if delivery is not None
            else None,
            attachments=tuple(attachments.get(message_id, ())),
            defects=tuple(raw.defects) if raw is not None else (),
            trimmed=tuple(raw.trimmed) if raw is not None else (),
            full_text=raw.full_text if raw is not None else "",
        )
    return facts


def _signature(since_id: int, rows: Iterable[tuple[int, str, int]]) -> str:
    state = ";".join(f"{message_id}:{status}:{attempts}" for message_id, status, attempts in rows)
    digest = hashlib.sha256(state.encode()).hexdigest()[:16] if state else "none"
    return f"{since_id}.{digest}"


def delivery_signature(facts: dict[int, EmailFacts], *, since_id: int) -> str:
    """A short digest of how the email replies among `facts` stand.

    The conversation page polls with it: an answer is needed when a reply's
    delivery moved on (sent, retried, failed), not only when a message arrived.
    `since_id` is the oldest message the page shows (a long thread shows only
    its newest part); it travels in the signature, so the poll compares the
    same messages without being told which.
    """
    return _signature(
        since_id,
        (
            (message_id, fact.delivery.status, fact.delivery.attempts)
            for message_id, fact in sorted(facts.items())
            if fact.delivery is not None and message_id >= since_id
        ),
    )


def signature_since(signature: str) -> int:
    """The oldest shown message named in a signature from a page (0 when unreadable)."""
    head = signature.split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) < 19 else 0


def conversation_delivery_signature(conversation: Conversation, *, since_id: int = 0) -> str:
    """`delivery_signature` of the conversation's messages from `since_id` on, in one query."""
    rows = (
        EmailDelivery.objects.filter(message__conversation=conversation, message_id__gte=since_id)
        .order_by("message_id")
        .values_list("message_id", "status", "attempts")
    )
    return _signature(since_id, rows)


# Enough of a machine's text to find its one telling line; the rest stays on the raw email.
MACHINE_TEXT_SCANNED = 2000
MACHINE_EXCERPT_CHARS = 200
# "550 5.1.1", "5.2.2", "452": what a mail server says when it refuses (RFC 3463, RFC 5321).
_SMTP_STATUS = re.compile(r"\b(?:[245]\.\d{1,3}\.\d{1,3}|[45]\d\d)\b")


def machine_mail_excerpt(text: str, *, bounce: bool) -> str:
    """One line of a machine's mail: for a bounce the line with the server's status, if any."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if bounce:
        lines = [line for line in lines if _SMTP_STATUS.search(line)] or lines
    if not lines:
        return ""
    line = lines[0]
    return line if len(line) <= MACHINE_EXCERPT_CHARS else line[: MACHINE_EXCERPT_CHARS - 1] + "…"


def conversation_machine_mail(
    conversation: Conversation, *, since: datetime | None = None, limit: int | None = None
) -> list[MachineMailRow]:
    """Auto-replies and bounces filed to a conversation (they are not messages), oldest first,
    in one query.

    `since` leaves out those older than the oldest message a page shows, `limit`
    keeps the newest so many. The raw bytes are never loaded, and only the start
    of the text.
    """
    rows = RawEmail.objects.filter(
        conversation=conversation, kind__in=(RawEmailKind.AUTO_REPLY, RawEmailKind.BOUNCE)
    )
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    found = (
        rows.order_by("-received_at", "-id")
        .annotate(text_start=Substr("full_text", 1, MACHINE_TEXT_SCANNED))
        .values_list(
            "pk", "kind", "kind_reason", "from_address", "subject", "received_at", "text_start"
        )
    )
    newest = list(found[:limit] if limit is not None else found)
    return [
        MachineMailRow(
            id=pk,
            kind=kind,
            reason=reason,
            from_address=from_address,
            subject=subject,
            received_at=received_at,
            excerpt=machine_mail_excerpt(text or "", bounce=kind == RawEmailKind.BOUNCE),
        )
        for pk, kind, reason, from_address, subject, received_at, text in reversed(newest)
    ]


def access_attachment(user: User, attachment_id: int) -> EmailAttachment:
    """An attachment the user may download, or Http404 (same answer for not-found and not-allowed)."""
    attachment = (
        EmailAttachment.objects.filter(
            pk=attachment_id,
            refused=False,
            message__conversation__in=visible_conversations(user),
        )
        .select_related("message")
        .first()
    )
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


@dataclass(frozen=True)
class WebhookDeliveryRow:
    id: int
    event: str
    event_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    response_excerpt: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @property
    def status_label(self) -> str:
        return str(WebhookDeliveryStatus(self.status).label)


def organisation_webhook_subscriptions(organisation: Organisation) -> QuerySet[WebhookSubscription]:
    """An organisation's subscriptions; the secret is on them, so show it only to admins."""
    return WebhookSubscription.objects.filter(organisation=organisation).order_by("id")


def access_webhook_subscription(user: User, subscription_id: int) -> WebhookSubscription:
    """A subscription of the user's organisation, or Http404 (also for other organisations').

    Whether the user may manage webhooks at all (admins only) is the caller's check.
    """
    if user.organisation_id is None:
        raise Http404("No such webhook subscription.")
    found = (
        WebhookSubscription.objects.filter(pk=subscription_id, organisation_id=user.organisation_id)
        .select_related("organisation", "created_by")
        .first()
    )
    if found is None:
        raise Http404("No such webhook subscription.")
    return found


def webhook_delivery_count(subscription: WebhookSubscription) -> int:
    return subscription.deliveries.count()


def _delivery_row(row: WebhookDelivery) -> WebhookDeliveryRow:
    return WebhookDeliveryRow(
        id=row.pk,
        event=row.event,
        event_id=str(row.event_id),
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        response_excerpt=row.response_excerpt,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )


def webhook_delivery_history(
    subscription: WebhookSubscription, *, limit: int = 100, offset: int = 0
) -> list[WebhookDeliveryRow]:
    """A subscription's newest deliveries first, with how each attempt went."""
    return [
        _delivery_row(row)
        for row in subscription.deliveries.order_by("-created_at", "-id")[offset : offset + limit]
    ]


def webhook_last_deliveries(subscription_ids: Iterable[int]) -> dict[int, WebhookDeliveryRow]:
    """Each subscription's newest delivery, in one query; those never sent to are absent."""
    newest = (
        WebhookDelivery.objects.filter(subscription_id=OuterRef("subscription_id"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    rows = WebhookDelivery.objects.filter(
        subscription_id__in=list(subscription_ids), pk=Subquery(newest)
    ).defer("payload")
    return {row.subscription_id: _delivery_row(row) for row in rows}


# Email settings, as an admin may see them: never a password, nor where one is kept
# beyond the variable's name.


@dataclass(frozen=True)
class MailboxRow:
    name: str
    host: str
    port: int
    security: str
    username: str
    folder: str
    address: str
    organisation: str
    password_env: str
    password_set: bool
    last_polled_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class SmtpRow:
    sends_email: bool
    backend: str
    host: str
    port: int
    security: str
    authenticated: bool
    from_address: str


@dataclass(frozen=True)
class EmailOverview:
    mailboxes: tuple[MailboxRow, ...]
    # Why the mailbox configuration cannot be read, when it cannot.
    mailbox_problem: str
    smtp: SmtpRow


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _smtp_overview(organisation: Organisation) -> SmtpRow:
    if getattr(settings, "EMAIL_USE_SSL", False):
        security = "implicit TLS"
    elif getattr(settings, "EMAIL_USE_TLS", False):
        security = "STARTTLS"
    else:
        security = "none"
    backend = str(settings.EMAIL_BACKEND)
    return SmtpRow(
        sends_email=backend == SMTP_BACKEND,
        backend=backend,
        host=str(getattr(settings, "EMAIL_HOST", "")),
        port=int(getattr(settings, "EMAIL_PORT", 0) or 0),
        security=security,
        authenticated=bool(getattr(settings, "EMAIL_HOST_USER", "")),
        from_address=_from_address_or_problem(organisation),
    )


def _from_address_or_problem(organisation: Organisation) -> str:
    try:
        return conf.from_address(organisation)
    except ImproperlyConfigured as exc:
        return f"(not readable: {exc})"


def email_channel_overview(organisation: Organisation) -> EmailOverview:
    """The IMAP mailboxes that feed this organisation and how their last poll went, and SMTP.

    A mailbox that names no organisation is shown to every organisation: it is
    only polled while there is exactly one.
    """
    problem = ""
    try:
        mailboxes = [
            mailbox
            for mailbox in conf.imap_mailboxes()
            if mailbox.organisation in ("", organisation.slug)
        ]
    except ImproperlyConfigured as exc:
        mailboxes, problem = [], str(exc)
    states = {
        state.name: state
        for state in ImapMailboxState.objects.filter(name__in=[m.name for m in mailboxes])
    }
    rows = []
    for mailbox in mailboxes:
        state = states.get(mailbox.name)
        rows.append(
            MailboxRow(
                name=mailbox.name,
                host=mailbox.host,
                port=mailbox.port,
                security=mailbox.security,
                username=mailbox.username,
                folder=mailbox.folder,
                address=mailbox.address,
                organisation=mailbox.organisation,
                password_env=mailbox.password_env,
                # Whether it is there, never what it is.
                password_set=bool(os.environ.get(mailbox.password_env)),
                last_polled_at=state.last_polled_at if state else None,
                last_error=state.last_error if state else "",
            )
        )
    return EmailOverview(
        mailboxes=tuple(rows), mailbox_problem=problem, smtp=_smtp_overview(organisation)
    )

"""Every write for the email channel: importing mail, sending replies, recording outcomes."""

from __future__ import annotations

import hashlib
import html
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid
from enum import StrEnum

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from calmdesk.accounts.models import Organisation
from calmdesk.channels import conf
from calmdesk.channels.autoreply import Classification, EmailKind, classify
from calmdesk.channels.models import (
    DeliveryStatus,
    EmailAttachment,
    EmailDelivery,
    RawEmail,
    RawEmailKind,
)
from calmdesk.channels.parsing import (
    MISSING_ID_DOMAIN,
    ParsedEmail,
    derived_message_id,
    parse_email,
    raw_digest,
)
from calmdesk.channels.threading import (
    subject_token,
    subject_without_token,
    thread_conversation_id,
)
from calmdesk.channels.trimming import trim_reply
from calmdesk.conversations.models import Channel, Conversation, Direction, Message
from calmdesk.conversations.services import (
    MAX_BODY_CHARS,
    ConversationMismatch,
    ReceiveResult,
    inbound_message_receive,
)
from calmdesk.customers.models import ContactIdentity, IdentityKind

logger = logging.getLogger(__name__)

# Seconds to wait before each retry of a failed send: 1 min, 5 min, 30 min,
# 2 h, 6 h. Covers a mail server restart or a greylisting delay (typically
# 5-15 minutes) without holding a reply for more than about nine hours.
RETRY_DELAYS: tuple[int, ...] = (60, 300, 1800, 7200, 21600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
MAX_REFERENCES_OUT = 20


class ImportOutcome(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    AUTO_REPLY = "auto-reply"
    BOUNCE = "bounce"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ImportResult:
    conversation_id: int | None
    message_id: int | None
    outcome: ImportOutcome
    raw_email_id: int | None = None
    detail: str = ""


def _headers_only(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        position = raw.find(separator)
        if position != -1:
            return raw[: position + len(separator)]
    return raw[:65536]


def _duplicate_of(
    organisation: Organisation, *, sha256: str, external_id: str
) -> ImportResult | None:
    stored = (
        RawEmail.objects.filter(
            Q(sha256=sha256) | Q(external_id=external_id), organisation=organisation
        )
        .order_by("id")
        .first()
    )
    if stored is not None:
        return ImportResult(
            conversation_id=stored.conversation_id,
            message_id=stored.message_id,
            outcome=ImportOutcome.DUPLICATE,
            raw_email_id=stored.pk,
        )
    message = Message.objects.filter(
        organisation=organisation, channel=Channel.EMAIL, external_id=external_id
    ).first()
    if message is None:
        # Our own reply coming back to us (a loop, or a copy to the support address).
        delivery = (
            EmailDelivery.objects.filter(
                message__organisation=organisation, message_id_header=external_id
            )
            .select_related("message")
            .first()
        )
        message = delivery.message if delivery is not None else None
    if message is not None:
        return ImportResult(
            conversation_id=message.conversation_id,
            message_id=message.pk,
            outcome=ImportOutcome.DUPLICATE,
        )
    return None


def email_import(*, organisation: Organisation, raw: bytes, source: str = "") -> ImportResult:
    """Store one raw RFC 822 email once, and file it where it belongs.

    A person's email becomes a customer message (threaded into its conversation,
    trimmed for the engine, assessed). Auto-replies and bounces are recorded but
    never become messages, so nothing answers them. Importing the same email
    again, by the same bytes or the same Message-ID, stores nothing.
    """
    sha256 = raw_digest(raw)
    truncated = len(raw) > conf.max_raw_bytes()
    parsed = parse_email(_headers_only(raw) if truncated else raw)
    external_id = parsed.message_id or derived_message_id(raw)

    duplicate = _duplicate_of(organisation, sha256=sha256, external_id=external_id)
    if duplicate is not None:
        return duplicate

    classification = classify(parsed, own_addresses=conf.own_addresses(organisation))
    try:
        with transaction.atomic():
            if classification.kind is not EmailKind.MESSAGE:
                return _record_machine_mail(
                    organisation=organisation,
                    raw=raw,
                    sha256=sha256,
                    truncated=truncated,
                    parsed=parsed,
                    external_id=external_id,
                    classification=classification,
                    source=source,
                )
            return _import_person_mail(
                organisation=organisation,
                raw=raw,
                sha256=sha256,
                truncated=truncated,
                parsed=parsed,
                external_id=external_id,
                source=source,
            )
    except IntegrityError:
        # A concurrent import of the same email won the race.
        duplicate = _duplicate_of(organisation, sha256=sha256, external_id=external_id)
        if duplicate is None:
            raise
        return duplicate


def _new_raw_email(
    *,
    organisation: Organisation,
    raw: bytes,
    sha256: str,
    truncated: bool,
    parsed: ParsedEmail,
    external_id: str,
    kind: str,
    kind_reason: str,
    source: str,
    extra_defects: tuple[str, ...] = (),
) -> RawEmail:
    defects = list(parsed.defects) + list(extra_defects)
    if truncated:
        defects.append(f"TooLarge({len(raw)} bytes; headers kept)")
    return RawEmail.objects.create(
        organisation=organisation,
        kind=kind,
        kind_reason=kind_reason[:200],
        external_id=external_id[:300],
        sha256=sha256,
        raw=_headers_only(raw) if truncated else raw,
        size=len(raw),
        truncated=truncated,
        defects=defects,
        from_address=(parsed.from_address or "")[:320],
        reply_to_address=(parsed.reply_to_address or "")[:320],
        subject=parsed.subject[:1000],
        references=list(parsed.references[-MAX_REFERENCES_OUT:]),
        full_text=parsed.text[:MAX_BODY_CHARS],
        source=source[:200],
    )


def _record_machine_mail(
    *,
    organisation: Organisation,
    raw: bytes,
    sha256: str,
    truncated: bool,
    parsed: ParsedEmail,
    external_id: str,
    classification: Classification,
    source: str,
) -> ImportResult:
    conversation_id = thread_conversation_id(organisation=organisation, parsed=parsed)
    bounced_delivery: EmailDelivery | None = None
    if classification.kind is EmailKind.BOUNCE:
        bounced_delivery = _record_bounce(organisation=organisation, parsed=parsed)
        if bounced_delivery is not None:
            conversation_id = bounced_delivery.message.conversation_id
    kind = (
        RawEmailKind.BOUNCE if classification.kind is EmailKind.BOUNCE else RawEmailKind.AUTO_REPLY
    )
    stored = _new_raw_email(
        organisation=organisation,
        raw=raw,
        sha256=sha256,
        truncated=truncated,
        parsed=parsed,
        external_id=external_id,
        kind=kind,
        kind_reason=classification.reason,
        source=source,
    )
    if conversation_id is not None:
        stored.conversation_id = conversation_id
        stored.save(update_fields=["conversation"])
    return ImportResult(
        conversation_id=conversation_id,
        message_id=bounced_delivery.message_id if bounced_delivery is not None else None,
        outcome=ImportOutcome.BOUNCE if kind == RawEmailKind.BOUNCE else ImportOutcome.AUTO_REPLY,
        raw_email_id=stored.pk,
        detail=classification.reason,
    )


def _record_bounce(*, organisation: Organisation, parsed: ParsedEmail) -> EmailDelivery | None:
    """Mark the reply a bounce is about as bounced, so the agent sees it failed."""
    failed = [report for report in parsed.delivery_reports if report.action in ("failed", "")]
    ids = [report.original_message_id for report in failed if report.original_message_id]
    ids.extend(parsed.in_reply_to)
    if not ids:
        return None
    delivery = (
        EmailDelivery.objects.select_for_update(of=("self",))
        .select_related("message")
        .filter(message__organisation=organisation, message_id_header__in=ids)
        .first()
    )
    if delivery is None:
        return None
    detail = "; ".join(
        f"{report.recipient}: {report.status} {report.diagnostic}".strip() for report in failed
    )
    delivery.status = DeliveryStatus.BOUNCED
    delivery.last_error = (detail or "the recipient's mail server returned the message")[:2000]
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
    return delivery


def _import_person_mail(
    *,
    organisation: Organisation,
    raw: bytes,
    sha256: str,
    truncated: bool,
    parsed: ParsedEmail,
    external_id: str,
    source: str,
) -> ImportResult:
    sender = parsed.from_address
    if sender is None:
        stored = _new_raw_email(
            organisation=organisation,
            raw=raw,
            sha256=sha256,
            truncated=truncated,
            parsed=parsed,
            external_id=external_id,
            kind=RawEmailKind.REJECTED,
            kind_reason="no sender address to answer",
            source=source,
        )
        return ImportResult(
            conversation_id=None,
            message_id=None,
            outcome=ImportOutcome.REJECTED,
            raw_email_id=stored.pk,
            detail="no sender address",
        )

    trimmed = trim_reply(parsed.text)
    body_text = trimmed.text
    extra_defects: list[str] = []
    if len(body_text) > MAX_BODY_CHARS:
        body_text = body_text[:MAX_BODY_CHARS]
        extra_defects.append(f"BodyCut({MAX_BODY_CHARS} characters kept)")
    if not body_text.strip() and not parsed.html.strip():
        names = ", ".join(attachment.filename for attachment in parsed.attachments)
        body_text = f"(No text in this email. Attachments: {names})" if names else "(Empty email.)"

    conversation_id = thread_conversation_id(organisation=organisation, parsed=parsed)
    subject = subject_without_token(parsed.subject)

    def receive(conversation_id: int | None) -> ReceiveResult:
        return inbound_message_receive(
            organisation=organisation,
            channel=Channel.EMAIL,
            external_id=external_id[:300],
            body_text=body_text,
            body_html=parsed.html[: MAX_BODY_CHARS * 2],
            customer_email=sender,
            customer_name=parsed.from_name,
            subject=subject,
            conversation_id=conversation_id,
        )

    try:
        with transaction.atomic():
            received = receive(conversation_id)
    except ConversationMismatch:
        # Someone else answered in the thread (a colleague on copy, a forwarded
        # chain): they are not this conversation's customer, so they get their own.
        received = receive(None)
    if not received.created:
        return ImportResult(
            conversation_id=received.conversation.pk,
            message_id=received.message.pk,
            outcome=ImportOutcome.DUPLICATE,
        )

    stored = _new_raw_email(
        organisation=organisation,
        raw=raw,
        sha256=sha256,
        truncated=truncated,
        parsed=parsed,
        external_id=external_id,
        kind=RawEmailKind.NEW,
        kind_reason="written by a person",
        source=source,
        extra_defects=tuple(extra_defects),
    )
    stored.message = received.message
    stored.conversation = received.conversation
    stored.trimmed = list(trimmed.removed)
    stored.save(update_fields=["message", "conversation", "trimmed"])
    _store_attachments(stored, message=received.message, parsed=parsed, truncated=truncated)
    return ImportResult(
        conversation_id=received.conversation.pk,
        message_id=received.message.pk,
        outcome=ImportOutcome.NEW,
        raw_email_id=stored.pk,
    )


def _store_attachments(
    stored: RawEmail, *, message: Message, parsed: ParsedEmail, truncated: bool
) -> None:
    limit = conf.max_attachment_bytes()
    rows = []
    for attachment in parsed.attachments:
        too_big = attachment.size > limit
        rows.append(
            EmailAttachment(
                raw_email=stored,
                message=message,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
                sha256=hashlib.sha256(attachment.payload).hexdigest(),
                inline=attachment.inline,
                content=None if too_big else attachment.payload,
                refused=too_big,
                refused_reason=f"larger than the {limit} byte limit" if too_big else "",
            )
        )
    if truncated:
        rows.append(
            EmailAttachment(
                raw_email=stored,
                message=message,
                filename="(message body)",
                content_type="application/octet-stream",
                size=stored.size,
                sha256=stored.sha256,
                refused=True,
                refused_reason="the whole email was larger than the size limit",
            )
        )
    EmailAttachment.objects.bulk_create(rows)


# Outbound -------------------------------------------------------------------


def _recipient_for(conversation: Conversation) -> str:
    latest = (
        RawEmail.objects.filter(conversation=conversation, kind=RawEmailKind.NEW)
        .order_by("-received_at", "-id")
        .first()
    )
    if latest is not None and (latest.reply_to_address or latest.from_address):
        return latest.reply_to_address or latest.from_address
    identity = (
        ContactIdentity.objects.filter(customer=conversation.customer, kind=IdentityKind.EMAIL)
        .order_by("id")
        .first()
    )
    return identity.value if identity is not None else ""


def email_reply_queue(*, message: Message) -> EmailDelivery | None:
    """Prepare an agent's email reply for sending; the worker sends it after commit.

    None when the message is not an email reply, or its conversation never came
    in as email (nothing to answer by email).
    """
    if message.direction != Direction.OUTBOUND or message.channel != Channel.EMAIL:
        return None
    if not RawEmail.objects.filter(
        conversation_id=message.conversation_id, kind=RawEmailKind.NEW
    ).exists():
        # Only conversations that reached us as real email are answered by email;
        # ones recorded through the API or the demo belong to whoever recorded them.
        return None
    domain = conf.from_address(message.organisation).rsplit("@", 1)[-1]
    delivery, created = EmailDelivery.objects.get_or_create(
        message=message,
        defaults={
            "message_id_header": make_msgid(
                idstring=f"cd{message.conversation_id}", domain=domain
            ).strip("<>")[:300],
            "to_address": _recipient_for(message.conversation)[:320],
        },
    )
    if created:
        if not delivery.to_address:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "the customer has no email address"
            delivery.save(update_fields=["status", "last_error", "updated_at"])
        else:
            transaction.on_commit(lambda: _enqueue_delivery(delivery.pk, run_after=None))
    return delivery


def _enqueue_delivery(delivery_id: int, *, run_after: datetime | None) -> None:
    from calmdesk.channels.tasks import deliver_email_reply

    task = deliver_email_reply
    if run_after is not None:
        if not task.get_backend().supports_defer:
            # email_deliveries_retry_due() picks it up instead.
            return
        task = task.using(run_after=run_after)
    task.enqueue(delivery_id)


def build_reply_email(*, message: Message, delivery: EmailDelivery) -> EmailMultiAlternatives:
    """The email for an agent's reply: threading headers, the agent's name, text and HTML."""
    conversation = message.conversation
    organisation = message.organisation
    address = conf.from_address(organisation)
    author_name = message.author.display_name if message.author is not None else ""
    sender_name = f"{author_name} at {organisation.name}" if author_name else organisation.name
    subject = conversation.subject or "Your message"
    token = subject_token(conversation.pk)
    if token not in subject:
        subject = f"Re: {subject} {token}"

    headers = {"Message-ID": f"<{delivery.message_id_header}>"}
    answered = (
        RawEmail.objects.filter(conversation=conversation, kind=RawEmailKind.NEW)
        .exclude(external_id__endswith=MISSING_ID_DOMAIN)
        .order_by("-received_at", "-id")
        .first()
    )
    if answered is not None:
        chain = [*answered.references, answered.external_id][-MAX_REFERENCES_OUT:]
        headers["In-Reply-To"] = f"<{answered.external_id}>"
        headers["References"] = " ".join(f"<{item}>" for item in chain)

    paragraphs = [chunk.strip() for chunk in message.body_text.split("\n\n") if chunk.strip()]
    body_html = "".join(
        "<p>{}</p>".format(html.escape(paragraph).replace("\n", "<br>\n"))
        for paragraph in paragraphs
    )
    email = EmailMultiAlternatives(
        subject=subject,
        body=message.body_text,
        from_email=formataddr((sender_name, address)),
        to=[delivery.to_address],
        reply_to=[address],
        headers=headers,
    )
    email.attach_alternative(f"<!doctype html><html><body>{body_html}</body></html>", "text/html")
    return email


def email_send_reply(*, message: Message, delivery: EmailDelivery) -> None:
    """Hand one reply to the configured mail backend. Raises what the backend raises."""
    build_reply_email(message=message, delivery=delivery).send(fail_silently=False)


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def email_delivery_attempt(*, delivery_id: int) -> EmailDelivery:
    """One attempt to send; on a temporary failure, the next attempt is scheduled with backoff."""
    with transaction.atomic():
        delivery = (
            EmailDelivery.objects.select_for_update(of=("self",))
            .select_related(
                "message__conversation__customer", "message__organisation", "message__author"
            )
            .get(pk=delivery_id)
        )
        if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.BOUNCED):
            return delivery
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.next_attempt_at = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])

    try:
        email_send_reply(message=delivery.message, delivery=delivery)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        now = timezone.now()
        if _is_permanent(exc) or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS[delivery.attempts - 1])
        delivery.last_error = error
        delivery.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
        logger.warning(
            "email delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error
        )
        if delivery.status == DeliveryStatus.RETRYING:
            run_after = delivery.next_attempt_at
            transaction.on_commit(lambda: _enqueue_delivery(delivery.pk, run_after=run_after))
        return delivery

    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = timezone.now()
    delivery.last_error = ""
    delivery.save(update_fields=["status", "sent_at", "last_error", "updated_at"])
    return delivery


def email_deliveries_retry_due(*, now: datetime | None = None) -> int:
    """Attempt every delivery whose retry time has come (for backends that cannot defer)."""
    moment = now or timezone.now()
    due = list(
        EmailDelivery.objects.filter(
            status=DeliveryStatus.RETRYING, next_attempt_at__lte=moment
        ).values_list("pk", flat=True)
    )
    for delivery_id in due:
        email_delivery_attempt(delivery_id=delivery_id)
    return len(due)

"""Stored raw email, attachments, outbound delivery state and IMAP polling state."""

from __future__ import annotations

from django.db import models


class RawEmailKind(models.TextChoices):
    NEW = "new", "New customer message"
    AUTO_REPLY = "auto-reply", "Automatic reply"
    BOUNCE = "bounce", "Bounce"
    REJECTED = "rejected", "Not usable (no sender)"


class RawEmail(models.Model):
    """Every email we accepted, byte for byte, whatever became of it.

    Duplicates (the same bytes or the same Message-ID again) are not stored a
    second time. The customer's message text is trimmed for the engine; the
    untrimmed text and the raw bytes stay here.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="raw_emails"
    )
    # SET_NULL: deleting a message must not delete the evidence of what was sent to us.
    message = models.OneToOneField(
        "conversations.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raw_email",
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raw_emails",
    )
    kind = models.CharField(max_length=16, choices=RawEmailKind.choices)
    kind_reason = models.CharField(max_length=200, blank=True)
    # The Message-ID, or a hash of the bytes when the email had none.
    external_id = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    # True when the email was larger than the limit and only its headers were kept.
    truncated = models.BooleanField(default=False)
    defects = models.JSONField(default=list, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    reply_to_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    # Message-ID chain to put in References when we answer this email.
    references = models.JSONField(default=list, blank=True)
    full_text = models.TextField(blank=True)
    trimmed = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "sha256"], name="rawemail_unique_bytes"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "external_id"], name="rawemail_org_extid")]

    def __str__(self) -> str:
        return f"{self.kind} email {self.external_id}"


class EmailAttachment(models.Model):
    raw_email = models.ForeignKey(RawEmail, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        "conversations.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="email_attachments",
    )
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    inline = models.BooleanField(default=False)
    # Kept in the database so every worker and web process sees it; NULL when refused.
    content = models.BinaryField(null=True, blank=True)
    refused = models.BooleanField(default=False)
    refused_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.filename


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Failed, will retry"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"


class EmailDelivery(models.Model):
    """Sending one agent reply by email: its headers, its attempts and how it went."""

    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="email_delivery"
    )
    # Our own Message-ID (without angle brackets): customers' replies point at it.
    message_id_header = models.CharField(max_length=300, unique=True)
    to_address = models.CharField(max_length=320, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"delivery of message #{self.message_id}: {self.status}"


class ImapMailboxState(models.Model):
    """Where polling of one configured mailbox got to (RFC 3501 UIDs)."""

    name = models.CharField(max_length=100, unique=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class WebhookEvent(models.TextChoices):
    MESSAGE_RECEIVED = "message.received", "A customer message arrived"
    CONVERSATION_ESCALATED = "conversation.escalated", "A conversation was escalated"
    INCIDENT_OPENED = "incident.opened", "An incident was opened"
    FOLLOWUP_OVERDUE = "followup.overdue", "A promised follow-up is overdue"
    CONVERSATION_RESOLVED = "conversation.resolved", "A conversation was resolved"


class WebhookSubscription(models.Model):
    """An organisation's URL that is told about events, signed with its own secret."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    # Shared with the receiver to check signatures; shown once when created.
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Failed, will retry"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one subscription: the payload as sent, and every attempt's outcome."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    event_id = models.UUIDField()
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event} to subscription #{self.subscription_id}: {self.status}"


class ChatSettings(models.Model):
    """An organisation's web chat: on or off, and which sites may embed it."""

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="chat_settings"
    )
    enabled = models.BooleanField(default=True)
    # Exact origins ("https://shop.example.com"); the widget works on no other site.
    allowed_origins = models.JSONField(default=list, blank=True)
    title = models.CharField(max_length=100, default="Chat with us")
    # Shown to the visitor when the chat opens, before anyone has written; blank for none.
    greeting = models.TextField(
        max_length=500,
        blank=True,
        default="Hi! Write your question here and someone from our team will answer in this window.",
    )

    def __str__(self) -> str:
        return f"chat settings of {self.organisation}"


class ChatPresence(models.Model):
    """Who is typing in a chat conversation, until when. In the database so every process sees it."""

    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="chat_presence"
    )
    agent_typing_until = models.DateTimeField(null=True, blank=True)
    visitor_typing_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"chat presence in conversation #{self.conversation_id}"


class PollSchedule(models.Model):
    """The one queued task that keeps a periodic job going (so the worker alone runs it).

    Each run enqueues the next and records its id here; a run whose id is not
    the recorded one is a stray duplicate and stops, so there is one chain.
    """

    name = models.CharField(max_length=50, unique=True)
    task_id = models.CharField(max_length=64, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name

"""Conversations with customers and the messages in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Web chat"
    API = "api", "API"


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING_CUSTOMER = "pending_customer", "Pending customer"
    PENDING_US = "pending_us", "Pending us"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_US)


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class Trajectory(models.TextChoices):
    RISING = "rising", "Rising"
    STEADY = "steady", "Steady"
    FALLING = "falling", "Falling"


class Conversation(models.Model):
    # organisation, team and assignee lead composite indexes below (Meta.indexes): their
    # own single-column indexes would only cost every insert and update of a conversation.
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.CASCADE,
        related_name="conversations",
        db_index=False,
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="conversations"
    )
    subject = models.CharField(max_length=300, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Set while the customer waits for us (their message is the newest); cleared by a reply.
    waiting_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The engine's reading of the conversation so far, kept here so the inbox can sort on it.
    risk = models.FloatField(default=0.0)
    current_anger = models.FloatField(default=0.0)
    peak_anger = models.FloatField(default=0.0)
    trajectory = models.CharField(max_length=16, choices=Trajectory.choices, blank=True)
    topic = models.CharField(max_length=40, blank=True)
    customer_type = models.CharField(max_length=40, blank=True)
    # Promises detected in sent replies, until follow-ups get their own model.
    promises = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "status", "-risk"], name="conv_org_status_risk"),
            models.Index(
                fields=["organisation", "status", "waiting_since"], name="conv_org_status_wait"
            ),
            models.Index(
                fields=["organisation", "-last_message_at", "-id"], name="conv_org_updated"
            ),
            # The inbox's default views: open work by risk, and by waiting time.
            models.Index(
                fields=["organisation", "-risk", "waiting_since", "-id"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="conv_open_org_risk",
            ),
            models.Index(
                fields=["organisation", "waiting_since", "-risk", "-id"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="conv_open_org_waiting",
            ),
            models.Index(
                fields=["organisation", "status", "-priority", "-risk", "-id"],
                name="conv_org_status_priority",
            ),
            models.Index(fields=["team", "status"], name="conv_team_status"),
            models.Index(fields=["assignee", "status"], name="conv_assignee_status"),
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Direction(models.TextChoices):
    INBOUND = "inbound", "From the customer"
    OUTBOUND = "outbound", "To the customer"
    NOTE = "note", "Internal note"


class Message(models.Model):
    # Both lead an index already (message_unique_external_id, msg_conv_created).
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=16, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # The channel's own id (email Message-ID, chat message id, API idempotency key).
    # NULL, not "", for messages we write ourselves: NULLs never collide in the
    # unique constraint, empty strings would.
    external_id = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001
    # Which of the customer's addresses or handles sent an inbound message: a customer
    # may write from several, and a block applies to the one that crossed the line.
    sender = models.ForeignKey(
        "customers.ContactIdentity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    body_text = models.TextField()
    # Already sanitised when stored; templates may mark it safe.
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The engine's reading of an inbound message / coaching of an outbound one.
    assessment = models.JSONField(null=True, blank=True)
    coaching = models.JSONField(null=True, blank=True)
    anger = models.FloatField(default=0.0)
    risk = models.FloatField(default=0.0)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "channel", "external_id"],
                name="message_unique_external_id",
            )
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="msg_conv_created")]

    def __str__(self) -> str:
        return f"{self.direction} message #{self.pk}"

"""An organisation's policy (boundaries and escalation rules) and where each conversation stands."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Policy(models.Model):
    """The organisation's policy document, validated by `calmdesk.policies.document`.

    Stored as JSON so admins can change it without a deploy; an organisation without a
    row uses the default policy shipped in the package.
    """

    organisation = models.OneToOneField(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="policy"
    )
    document = models.JSONField()
    revision = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"Policy of {self.organisation_id} (revision {self.revision})"


class BoundaryStep(models.TextChoices):
    NONE = "none", "No boundary needed"
    WARNED = "warned", "Boundary set"
    FINAL_WARNING = "final_warning", "Final warning"
    ENDED = "ended", "Ended and handed to a supervisor"
    THREAT = "threat", "Threat: escalated at once"


class ConversationState(models.Model):
    """What the policy has done to one conversation so far.

    Kept beside the conversation (one-to-one) so the boundary ladder and escalation
    survive across messages and can be shown and queried without re-reading every message.
    """

    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="policy_state"
    )
    boundary_step = models.CharField(
        max_length=20, choices=BoundaryStep.choices, default=BoundaryStep.NONE
    )
    # Insults aimed at staff so far; each one moves the ladder up a rung.
    abuse_strikes = models.PositiveSmallIntegerField(default=0)
    escalated = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_reasons = models.JSONField(default=list, blank=True)
    fired_rules = models.JSONField(default=list, blank=True)
    in_supervisor_queue = models.BooleanField(default=False)
    # The reply the policy suggests the agent send next (a boundary or a rule's reply).
    suggested_reply = models.TextField(blank=True)
    suggested_reply_reason = models.CharField(max_length=120, blank=True)
    # Everything a supervisor needs to pick the case up without asking the customer again:
    # reasons, the customer's words, what was tried, scores and the playbook's next step.
    handover = models.JSONField(default=dict, blank=True)
    taken_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["in_supervisor_queue", "escalated"], name="convstate_queue"),
        ]

    def __str__(self) -> str:
        return f"Policy state of conversation {self.conversation_id}"


class IdentityBlock(models.Model):
    """A contact identity the organisation no longer answers through.

    Nothing is deleted: messages from a blocked identity are still stored and marked
    (`BlockedMessage`), get an automatic reply saying how else to reach the organisation,
    and a supervisor reviews every block. Unblocking keeps the row as history.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="identity_blocks"
    )
    identity = models.ForeignKey(
        "customers.ContactIdentity", on_delete=models.CASCADE, related_name="blocks"
    )
    reason = models.TextField()
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    blocked_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    unblocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    unblocked_at = models.DateTimeField(null=True, blank=True)
    unblock_reason = models.TextField(blank=True)
    last_auto_reply_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-blocked_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity"],
                condition=models.Q(unblocked_at__isnull=True),
                name="identity_one_active_block",
            )
        ]

    def __str__(self) -> str:
        return f"Block of identity {self.identity_id}"

    @property
    def is_active(self) -> bool:
        return self.unblocked_at is None


class BlockedMessage(models.Model):
    """Marks a stored customer message that arrived from a blocked identity."""

    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="blocked_mark"
    )
    block = models.ForeignKey(IdentityBlock, on_delete=models.CASCADE, related_name="messages")
    auto_reply = models.ForeignKey(
        "conversations.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Blocked message {self.message_id}"

"""Follow-ups: commitments to get back to a customer by a given time."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FollowUpSource(models.TextChoices):
    MANUAL = "manual", "Added by hand"
    PROMISE = "promise", "Promised in a reply"


class FollowUpState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class FollowUp(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="followups"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="followups"
    )
    due_at = models.DateTimeField()
    description = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source = models.CharField(max_length=16, choices=FollowUpSource.choices)
    # The reply the promise was made in; a later outbound message means the customer heard back.
    promise_message = models.ForeignKey(
        "conversations.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="followups",
    )
    promised_at = models.DateTimeField()
    state = models.CharField(
        max_length=16, choices=FollowUpState.choices, default=FollowUpState.OPEN
    )
    # Each is set once, by a conditional UPDATE, so concurrent checks never double-send.
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_raised_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["state", "due_at"], name="followup_state_due")]

    def __str__(self) -> str:
        return self.description

"""Incidents: the record-and-report step for abusive, unsafe, legal or unresolved cases."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IncidentKind(models.TextChoices):
    SAFETY = "safety", "Safety (threat of violence)"
    ABUSE = "abuse", "Abuse of staff"
    LEGAL = "legal", "Legal threat"
    PUBLIC = "public", "Public complaint threat"
    COMPLAINT = "complaint", "Complaint"
    CHURN = "churn", "Churn risk"
    OTHER = "other", "Other"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ACTION_TAKEN = "action_taken", "Action taken"
    CLOSED = "closed", "Closed"


class Incident(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="incidents"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    # Copied from the conversation when opened: supervisors see their teams' incidents.
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    kind = models.CharField(max_length=16, choices=IncidentKind.choices)
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    title = models.CharField(max_length=200)
    reason = models.CharField(max_length=200, blank=True)
    topic = models.CharField(max_length=40, blank=True)
    # The drafted record: a readable summary plus the structured parts it was built from.
    summary = models.TextField(blank=True)
    customer_quotes = models.JSONField(default=list, blank=True)
    agent_attempts = models.JSONField(default=list, blank=True)
    outcome = models.TextField(blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status", "kind"], name="incident_org_status"),
            models.Index(fields=["team", "status"], name="incident_team_status"),
        ]

    def __str__(self) -> str:
        return self.title


class IncidentNote(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on incident {self.incident_id}"


class IncidentAction(models.Model):
    """A follow-up action a supervisor decides on (e.g. 'call the customer', 'review policy')."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.description

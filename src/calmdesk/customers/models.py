"""Customers (the people who write in) and the identities they write from."""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="customers"
    )
    name = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    # Lifetime value drives escalation of churn risk for valuable customers.
    value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or f"Customer #{self.pk}"


class IdentityKind(models.TextChoices):
    EMAIL = "email", "Email address"
    HANDLE = "handle", "Chat handle"
    PHONE = "phone", "Phone number"


class ContactIdentity(models.Model):
    """One way a customer reaches us. Values are stored normalised (emails lower-cased)."""

    # Leads the unique (organisation, kind, value) index already.
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "value"], name="identity_unique_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

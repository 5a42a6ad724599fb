"""API tokens: long random secrets of which only a SHA-256 hash is kept."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A bearer token acting as one staff user.

    The full token is shown once, when it is created. We keep its public
    `prefix` (to find the row without scanning) and the SHA-256 hash of the
    whole token (to check it); a stolen database does not yield usable tokens.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name or 'token'} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

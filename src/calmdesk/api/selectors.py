"""Reads for the API app."""

from __future__ import annotations

from django.db.models import QuerySet

from calmdesk.api.models import ApiToken


def api_tokens(*, username: str | None = None) -> QuerySet[ApiToken]:
    """Tokens, newest first, optionally only those of one user."""
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if username is not None:
        tokens = tokens.filter(user__username=username)
    return tokens


def find_token(reference: str) -> ApiToken | None:
    """A token by its public prefix (or a whole token) or else by its numeric id."""
    reference = reference.strip().lower()
    if reference.startswith("cdk_"):
        reference = reference.split("_")[1]
    if not reference:
        return None
    by_prefix = ApiToken.objects.select_related("user").filter(prefix=reference).first()
    # A prefix may happen to be all digits, so it is tried before the id.
    if by_prefix is not None or not reference.isdigit():
        return by_prefix
    return ApiToken.objects.select_related("user").filter(pk=int(reference)).first()

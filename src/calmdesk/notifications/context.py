"""The unread-notification count every full page shows in its top bar."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from calmdesk.notifications.selectors import user_notifications


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    """`unread_notifications`, counted only when a template shows it: the fragments the
    live coach renders as the agent types never pay for the query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notifications": SimpleLazyObject(
            lambda: user_notifications(user, unread_only=True).count()
        )
    }

"""Organisations' time zones, read safely: a zone name stored wrong must not break a page."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_or_none(name: str) -> ZoneInfo | None:
    """The zone called `name`, or None when there is no such zone (callers fall back)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None

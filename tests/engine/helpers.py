"""Shared by the engine's tests."""

from __future__ import annotations

from calmdesk.engine import Assessment


def present(result: Assessment, key: str) -> bool:
    """Whether the score reads as present (the engine's threshold)."""
    return result.scores[key] >= 0.5

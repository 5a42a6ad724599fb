"""Template filters and tags of the agent workspace; the logic lives in `rendering`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from calmdesk.conversations.models import Direction, Message
from calmdesk.workspace import rendering

register = template.Library()


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """`{{ facts|lookup:message.pk }}`: a value from a dict built by the view, or None."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def highlight_flags(text: str, assessment: Any) -> SafeString:
    """`{{ message.body_text|highlight_flags:message.assessment }}`: escaped, flags marked."""
    return rendering.highlight_flags(str(text), assessment)


@register.filter
def highlight_findings(text: str, findings: Any) -> SafeString:
    """A draft, escaped, with the coach's findings marked."""
    return rendering.highlight_spans(str(text), rendering.finding_spans(findings))


@register.filter
def emotion_chips(assessment: Any) -> list[rendering.EmotionChip]:
    return rendering.emotion_chips(assessment)


@register.filter
def flag_kinds(assessment: Any) -> list[str]:
    return rendering.flag_kinds(assessment)


@register.filter
def risk_level(risk: Any) -> str:
    try:
        return rendering.risk_level(float(risk))
    except (TypeError, ValueError):
        return "low"


@register.filter
def percent(value: Any) -> int:
    try:
        return round(float(value) * 100)
    except (TypeError, ValueError):
        return 0


@register.filter
def css_token(value: Any) -> str:
    return rendering.css_token(value)


@register.filter
def humanise(value: Any) -> str:
    """An engine id for people: `repeat_contact` -> `repeat contact`."""
    return str(value or "").replace("_", " ")


TRAJECTORY_ARROWS = {"rising": "↗", "falling": "↘", "steady": "→"}


@register.filter
def trajectory_arrow(trajectory: Any) -> str:
    return TRAJECTORY_ARROWS.get(str(trajectory), "")


@register.simple_tag
def emotion_timeline(thread: Iterable[Message]) -> SafeString:
    """`{% emotion_timeline thread %}`: the SVG chart of the customer's messages."""
    points = [
        rendering.TimelinePoint(
            at=timezone.localtime(message.created_at), anger=message.anger, risk=message.risk
        )
        for message in thread
        if message.direction == Direction.INBOUND
    ]
    return rendering.timeline_svg(points)

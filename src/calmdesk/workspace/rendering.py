"""Turning stored engine results into safe HTML for the agent's screen.

Everything here builds markup from untrusted customer or agent text, so every
piece of text passes through `escape` before it is joined; only the tags we
write ourselves are left unescaped. The functions are pure (no database, no
request) and are unit-tested with hostile input.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

_CSS_TOKEN = re.compile(r"[^a-z0-9_-]")


def css_token(value: object, *, fallback: str = "other") -> str:
    """A value made safe to use inside a class attribute (lower-case, [a-z0-9_-] only)."""
    token = _CSS_TOKEN.sub("", str(value).lower())[:40]
    return token or fallback


@dataclass(frozen=True)
class Span:
    """A stretch of text to mark: [start, end) in characters, with how to show it."""

    start: int
    end: int
    css_class: str
    title: str


def _as_index(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def highlight_spans(text: str, spans: Iterable[Span]) -> SafeString:
    """`text` escaped, with each span wrapped in a <mark>.

    Spans may overlap or point outside the text (stored results outlive the text
    they were computed on); the text is cut at every span boundary and each
    piece is marked with all the spans that cover it, so marks never nest and
    the output is always well-formed.
    """
    length = len(text)
    usable = [
        Span(max(0, s.start), min(length, s.end), s.css_class, s.title)
        for s in spans
        if s.end > s.start and s.start < length and s.end > 0
    ]
    if not usable:
        return mark_safe(escape(text))  # noqa: S308 - the whole text is escaped
    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for number, span in enumerate(usable):
        opening.setdefault(span.start, []).append(number)
        closing.setdefault(span.end, []).append(number)
    cuts = sorted({0, length, *opening, *closing})
    active: dict[int, None] = {}  # insertion-ordered set of the spans covering the piece
    pieces: list[str] = []
    for left, right in itertools.pairwise(cuts):
        for number in closing.get(left, ()):
            active.pop(number, None)
        for number in opening.get(left, ()):
            active[number] = None
        segment = escape(text[left:right])
        if not active:
            pieces.append(segment)
            continue
        covering = [usable[number] for number in active]
        classes = " ".join(dict.fromkeys(s.css_class for s in covering))
        title = "\n".join(dict.fromkeys(s.title for s in covering))
        pieces.append(f'<mark class="{escape(classes)}" title="{escape(title)}">{segment}</mark>')
    return mark_safe("".join(pieces))  # noqa: S308 - every piece of text above is escaped


def flag_spans(flags: object) -> list[Span]:
    """The engine's risk flags (dicts with start, end, kind, evidence) as spans.

    Anything malformed is skipped rather than trusted: the assessment is stored
    JSON and may come from an older engine.
    """
    if not isinstance(flags, list):
        return []
    spans: list[Span] = []
    for flag in flags:
        if not isinstance(flag, Mapping):
            continue
        start, end = _as_index(flag.get("start")), _as_index(flag.get("end"))
        if start is None or end is None:
            span = flag.get("span")
            if isinstance(span, Sequence) and not isinstance(span, str) and len(span) == 2:
                start, end = _as_index(span[0]), _as_index(span[1])
        if start is None or end is None:
            continue
        kind = str(flag.get("kind") or "flag")
        evidence = str(flag.get("evidence") or "")
        title = f"{kind.replace('_', ' ')}: {evidence}" if evidence else kind.replace("_", " ")
        spans.append(Span(start, end, f"flag flag-{css_token(kind)}", title))
    return spans


def highlight_flags(text: str, assessment: object) -> SafeString:
    """A customer message with the engine's flags marked, everything else escaped."""
    flags = assessment.get("flags") if isinstance(assessment, Mapping) else None
    return highlight_spans(text, flag_spans(flags))


# The flag kinds worth a chip, most serious first. Other kinds (capitals,
# punctuation, frustration cues) are still highlighted in the text itself.
RISK_FLAG_KINDS: tuple[str, ...] = (
    "threat",
    "abuse",
    "legal",
    "public",
    "churn",
    "refund",
    "repeat_contact",
    "urgency",
)


def risk_chips(kinds: Iterable[str]) -> list[str]:
    """The risk kinds among `kinds`, most serious first, each once."""
    present = set(kinds)
    return [kind for kind in RISK_FLAG_KINDS if kind in present]


def flag_kinds(assessment: object) -> list[str]:
    """The risk kinds flagged in an assessment, most serious first."""
    if not isinstance(assessment, Mapping):
        return []
    flags = assessment.get("flags")
    if not isinstance(flags, list):
        return []
    return risk_chips(str(f.get("kind")) for f in flags if isinstance(f, Mapping))


@dataclass(frozen=True)
class EmotionChip:
    name: str
    share: float

    @property
    def percent(self) -> int:
        return round(self.share * 100)


# Below this share an emotion is noise, not something the agent should react to.
EMOTION_CHIP_MIN = 0.3
EMOTION_CHIP_MAX = 3
# Pleasant emotions the emotion model half-reads in a complaint written politely (a formal
# letter scored "approval 42%"); on a message that reads negative they mislead the agent.
PLEASANT_EMOTIONS = frozenset(
    {
        "admiration", "amusement", "approval", "caring", "desire", "excitement",
        "gratitude", "joy", "love", "optimism", "pride", "relief",
    }
)  # fmt: skip


NEGATIVE_MESSAGE = 0.5


def emotion_chips(assessment: object) -> list[EmotionChip]:
    """The strongest few emotions of a message, strongest first (neutral left out, and
    pleasant ones on a message that reads negative)."""
    if not isinstance(assessment, Mapping):
        return []
    emotions = assessment.get("emotions")
    if not isinstance(emotions, Mapping):
        return []
    scores = assessment.get("scores")
    negative = scores.get("negative") if isinstance(scores, Mapping) else None
    unpleasant = isinstance(negative, int | float) and negative >= NEGATIVE_MESSAGE
    chips = [
        EmotionChip(str(name), float(share))
        for name, share in emotions.items()
        if isinstance(share, int | float)
        and not isinstance(share, bool)
        and name != "neutral"
        and share >= EMOTION_CHIP_MIN
        and not (unpleasant and name in PLEASANT_EMOTIONS)
    ]
    chips.sort(key=lambda chip: (-chip.share, chip.name))
    return chips[:EMOTION_CHIP_MAX]


RISK_LEVELS: tuple[tuple[float, str], ...] = (
    (0.75, "critical"),
    (0.5, "high"),
    (0.25, "elevated"),
)


def risk_level(risk: float) -> str:
    """A word for a risk in [0, 1] that the inbox colours by."""
    for floor, name in RISK_LEVELS:
        if risk >= floor:
            return name
    return "low"


@dataclass(frozen=True)
class TimelinePoint:
    at: datetime
    anger: float
    risk: float


_CHART_WIDTH = 640
_CHART_HEIGHT = 150
_PAD_LEFT = 34
_PAD_RIGHT = 12
_PAD_TOP = 10
_PAD_BOTTOM = 24


def timeline_svg(
    points: Sequence[TimelinePoint], *, time_format: str = "%d %b %H:%M"
) -> SafeString:
    """An inline SVG line chart of anger and risk per customer message.

    Messages are spaced evenly (a chat and a week-long email thread both stay
    readable); the time of each one is on its tooltip and the first and last
    are labelled on the axis.
    """
    if not points:
        return SafeString("")
    inner_w = _CHART_WIDTH - _PAD_LEFT - _PAD_RIGHT
    inner_h = _CHART_HEIGHT - _PAD_TOP - _PAD_BOTTOM

    # Coordinates are formatted here: format_html escapes its arguments to strings first.
    def x_at(index: int) -> str:
        if len(points) == 1:
            return f"{_PAD_LEFT + inner_w / 2:.1f}"
        return f"{_PAD_LEFT + inner_w * index / (len(points) - 1):.1f}"

    def y_at(value: float) -> str:
        return f"{_PAD_TOP + inner_h * (1.0 - min(1.0, max(0.0, value))):.1f}"

    grid = format_html_join(
        "",
        '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (
                _PAD_LEFT,
                y_at(v),
                _CHART_WIDTH - _PAD_RIGHT,
                y_at(v),
                _PAD_LEFT - 6,
                f"{float(y_at(v)) + 4:.1f}",
                label,
            )
            for v, label in ((0.0, "0"), (0.5, "50"), (1.0, "100"))
        ),
    )

    def line(series: str, values: list[float]) -> SafeString:
        coords = " ".join(f"{x_at(i)},{y_at(v)}" for i, v in enumerate(values))
        return format_html('<polyline class="series series-{}" points="{}"/>', series, coords)

    dots = format_html_join(
        "",
        '<g class="point"><title>{}: anger {}%, risk {}%</title>'
        '<circle class="dot dot-risk" cx="{}" cy="{}" r="3.5"/>'
        '<circle class="dot dot-anger" cx="{}" cy="{}" r="4"/></g>',
        (
            (
                p.at.strftime(time_format),
                round(p.anger * 100),
                round(p.risk * 100),
                x_at(i),
                y_at(p.risk),
                x_at(i),
                y_at(p.anger),
            )
            for i, p in enumerate(points)
        ),
    )
    first, last = points[0], points[-1]
    axis_y = _CHART_HEIGHT - 6
    labels = format_html(
        '<text class="axis" x="{}" y="{}" text-anchor="start">{}</text>',
        _PAD_LEFT,
        axis_y,
        first.at.strftime(time_format),
    )
    if len(points) > 1:
        labels = format_html(
            '{}<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
            labels,
            _CHART_WIDTH - _PAD_RIGHT,
            axis_y,
            last.at.strftime(time_format),
        )
    return format_html(
        '<svg class="timeline" viewBox="0 0 {} {}" role="img" '
        'aria-label="Anger and risk of each customer message, oldest first">'
        "{}{}{}{}{}</svg>",
        _CHART_WIDTH,
        _CHART_HEIGHT,
        grid,
        line("risk", [p.risk for p in points]),
        line("anger", [p.anger for p in points]),
        dots,
        labels,
    )


def finding_spans(findings: object) -> list[Span]:
    """The coach's findings on a draft (dicts with span, rule, kind, explanation) as spans."""
    if not isinstance(findings, list):
        return []
    spans: list[Span] = []
    for finding in findings:
        if not isinstance(finding, Mapping):
            continue
        span = finding.get("span")
        start = end = None
        if isinstance(span, Sequence) and not isinstance(span, str) and len(span) == 2:
            start, end = _as_index(span[0]), _as_index(span[1])
        if start is None or end is None:
            start, end = _as_index(finding.get("start")), _as_index(finding.get("end"))
        if start is None or end is None:
            continue
        rule = str(finding.get("rule") or "finding")
        kind = "good" if finding.get("kind") == "good" else "avoid"
        severity = (
            "blocking"
            if finding.get("blocking")
            else css_token(finding.get("severity") or "", fallback="normal")
        )
        explanation = str(finding.get("explanation") or finding.get("message") or "")
        title = f"{rule.replace('_', ' ')}: {explanation}" if explanation else rule
        spans.append(Span(start, end, f"finding finding-{kind} severity-{severity}", title))
    return spans


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}

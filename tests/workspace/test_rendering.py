"""The HTML built from customer text and engine results: escaped, well-formed, tolerant."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from calmdesk.workspace.rendering import (
    TimelinePoint,
    css_token,
    emotion_chips,
    finding_spans,
    flag_kinds,
    highlight_flags,
    highlight_spans,
    risk_level,
    timeline_svg,
)

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


class TagCollector(HTMLParser):
    """Every start tag and its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.depth = 0
        self.max_depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.depth += 1
        self.max_depth = max(self.max_depth, self.depth)

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector


def flag(kind: str, start: int, end: int, evidence: str = "") -> dict[str, object]:
    return {"kind": kind, "start": start, "end": end, "evidence": evidence, "rule": "r"}


def test_hostile_text_without_flags_is_fully_escaped() -> None:
    html = highlight_flags(HOSTILE, {"flags": []})
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert parse(html).tags == []


def test_flag_inside_hostile_text_marks_only_the_span_and_escapes_the_rest() -> None:
    text = f"I will find you {HOSTILE} and you will regret it"
    start = text.index("find you")
    html = highlight_flags(text, {"flags": [flag("threat", start, start + 8, "find you")]})

    tags = parse(html).tags
    assert [tag for tag, _ in tags] == ["mark"]
    assert tags[0][1]["class"] == "flag flag-threat"
    assert "<script" not in html and "<img" not in html
    assert "<mark" in html and "find you</mark>" in html
    # What a reader sees is exactly the customer's text.
    assert "".join(parse(html).text) == text


def test_flag_span_covering_the_hostile_markup_escapes_it_inside_the_mark() -> None:
    text = f"abc {HOSTILE} def"
    start = text.index("<script>")
    end = start + len(HOSTILE)
    html = highlight_flags(text, {"flags": [flag("abuse", start, end, HOSTILE)]})

    parsed = parse(html)
    assert [tag for tag, _ in parsed.tags] == ["mark"]
    assert "".join(parsed.text) == text
    # The evidence in the title attribute is escaped too: no quote can end the attribute.
    assert parsed.tags[0][1]["title"] == f"abuse: {HOSTILE}"


def test_hostile_kind_and_evidence_cannot_break_out_of_attributes() -> None:
    evil_kind = '" onmouseover="alert(3)'
    html = highlight_flags(
        "hello there", {"flags": [flag(evil_kind, 0, 5, '"><script>x</script>')]}
    )
    parsed = parse(html)
    assert len(parsed.tags) == 1
    tag, attrs = parsed.tags[0]
    assert tag == "mark"
    assert set(attrs) == {"class", "title"}
    assert re.fullmatch(r"flag flag-[a-z0-9_-]+", attrs["class"] or "")


def test_overlapping_flags_never_nest_marks_and_keep_the_text() -> None:
    text = "you idiot, I will sue you and post it everywhere"
    flags = [
        flag("abuse", 0, 9, "you idiot"),
        flag("legal", 11, 24, "I will sue you"),
        flag("public", 18, 48, "sue you and post it everywhere"),
    ]
    html = highlight_flags(text, {"flags": flags})
    parsed = parse(html)
    assert parsed.max_depth == 1
    assert "".join(parsed.text) == text
    classes = [attrs["class"] for _, attrs in parsed.tags]
    assert "flag flag-legal flag flag-public" in classes  # the overlap carries both


@pytest.mark.parametrize(
    "bad_flags",
    [
        [flag("threat", -5, 3)],
        [flag("threat", 3, 999)],
        [flag("threat", 50, 60)],
        [flag("threat", 4, 2)],
        [{"kind": "threat", "start": "1", "end": None}],
        [{"kind": "threat", "start": True, "end": 3}],
        ["not a dict", 7, None],
        "not a list",
    ],
)
def test_malformed_or_stale_flags_never_break_rendering(bad_flags: object) -> None:
    text = "short <b>text</b>"
    html = highlight_flags(text, {"flags": bad_flags})
    parsed = parse(html)
    assert "".join(parsed.text) == text
    assert all(tag == "mark" for tag, _ in parsed.tags)


def test_no_assessment_at_all_is_plain_escaped_text() -> None:
    assert highlight_flags("<b>hi</b>", None) == "&lt;b&gt;hi&lt;/b&gt;"


def test_findings_use_span_lists_and_mark_blocking_ones() -> None:
    draft = "Calm down, you idiot. I will refund you today."
    findings = [
        {
            "rule": "dismissing_emotion",
            "kind": "avoid",
            "span": [0, 9],
            "explanation": "It tells them their feeling is wrong.",
        },
        {
            "rule": "insult",
            "kind": "avoid",
            "span": [11, 20],
            "blocking": True,
            "explanation": "An insult.",
        },
        {"rule": "ownership", "kind": "good", "span": [22, 46], "explanation": "You take it on."},
    ]
    html = highlight_spans(draft, finding_spans(findings))
    parsed = parse(html)
    marks = [(attrs["class"], attrs["title"]) for _, attrs in parsed.tags]
    assert marks == [
        (
            "finding finding-avoid severity-normal",
            "dismissing emotion: It tells them their feeling is wrong.",
        ),
        ("finding finding-avoid severity-blocking", "insult: An insult."),
        ("finding finding-good severity-normal", "ownership: You take it on."),
    ]
    assert "".join(parsed.text) == draft


def test_emotion_chips_are_the_strongest_few_without_neutral() -> None:
    chips = emotion_chips(
        {
            "emotions": {
                "neutral": 0.9,
                "anger": 0.7,
                "annoyance": 0.5,
                "sadness": 0.25,
                "fear": 0.3,
                "joy": 0.1,
            }
        }
    )
    assert [(c.name, c.percent) for c in chips] == [("anger", 70), ("annoyance", 50), ("fear", 30)]
    assert emotion_chips({"emotions": "nope"}) == []
    assert emotion_chips(None) == []


def test_pleasant_emotion_chips_are_left_off_a_message_that_reads_negative() -> None:
    emotions = {"disapproval": 0.62, "annoyance": 0.48, "approval": 0.42}
    complaint = emotion_chips({"emotions": emotions, "scores": {"negative": 0.8}})
    assert [c.name for c in complaint] == ["disapproval", "annoyance"]
    # On a message that does not read negative they are shown as before.
    pleased = emotion_chips({"emotions": emotions, "scores": {"negative": 0.2}})
    assert [c.name for c in pleased] == ["disapproval", "annoyance", "approval"]
    assert [c.name for c in emotion_chips({"emotions": emotions})] == [
        "disapproval",
        "annoyance",
        "approval",
    ]


def test_flag_kinds_are_the_distinct_risk_kinds_most_serious_first() -> None:
    assessment = {
        "flags": [
            flag("legal", 0, 1),
            flag("punctuation", 1, 2),
            flag("abuse", 2, 3),
            flag("legal", 3, 4),
            flag("threat", 4, 5),
        ]
    }
    assert flag_kinds(assessment) == ["threat", "abuse", "legal"]
    assert flag_kinds({"flags": None}) == []


@pytest.mark.parametrize(
    ("risk", "level"),
    [
        (0.0, "low"),
        (0.24, "low"),
        (0.25, "elevated"),
        (0.5, "high"),
        (0.74, "high"),
        (0.75, "critical"),
        (1.0, "critical"),
    ],
)
def test_risk_levels(risk: float, level: str) -> None:
    assert risk_level(risk) == level


def test_css_token_strips_everything_but_safe_characters() -> None:
    assert css_token('Threat" onclick=x') == "threatonclickx"
    assert css_token("!!!") == "other"


def test_timeline_svg_has_one_point_per_message_and_clamps_values() -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    points = [
        TimelinePoint(start, 0.2, 0.1),
        TimelinePoint(start + timedelta(minutes=5), 0.9, 0.95),
        TimelinePoint(start + timedelta(minutes=30), 1.7, -0.2),  # out of range: clamped
    ]
    svg = timeline_svg(points)
    parsed = parse(svg)
    assert parsed.tags[0][0] == "svg"
    polylines = [attrs for tag, attrs in parsed.tags if tag == "polyline"]
    assert len(polylines) == 2
    for attrs in polylines:
        coords = [tuple(map(float, pair.split(","))) for pair in (attrs["points"] or "").split()]
        assert len(coords) == 3
        assert all(0 <= x <= 640 and 0 <= y <= 150 for x, y in coords)
        xs = [x for x, _ in coords]
        assert xs == sorted(xs)
    anger = next(a for a in polylines if "series-anger" in (a["class"] or ""))
    ys = [float(pair.split(",")[1]) for pair in (anger["points"] or "").split()]
    assert ys[1] < ys[0]  # angrier is higher on the chart
    assert "anger 90%, risk 95%" in svg
    assert "01 Mar 09:00" in svg


def test_timeline_of_nothing_is_empty_and_of_one_point_is_centred() -> None:
    assert timeline_svg([]) == ""
    svg = timeline_svg([TimelinePoint(datetime(2026, 1, 1, tzinfo=UTC), 0.5, 0.5)])
    assert 'cx="331.0"' in svg  # centre of the plot area

"""The bridge between a conversation's stored thread and the engine's coach and playbook.

The engine knows nothing of Django: this module turns the stored thread into the
engine's (role, text) turns and the engine's results into what the reply box
shows, what the API returns and what `reply_send` stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from calmdesk.conversations.models import Message
from calmdesk.conversations.reading import history_for
from calmdesk.engine import coach, playbook

TECHNIQUE_LABELS: tuple[tuple[str, str], ...] = (
    ("apology", "Apology"),
    ("empathy", "Names the feeling"),
    ("paraphrase", "Paraphrase"),
    ("question", "Clarifying question"),
    ("ownership", "Ownership"),
    ("next_step", "Next step"),
    ("thanks", "Thanks"),
)
# A technique counts as present from here; below it the checklist leaves it open.
TECHNIQUE_PRESENT = 0.5
STAGE_LABELS: Mapping[str, str] = {
    "composure": "Stay composed",
    "vent": "Let them vent",
    "acknowledge": "Acknowledge and apologise",
    "paraphrase": "Paraphrase the problem",
    "resolve": "Resolve with options",
    "record": "Record and report",
    "follow_up": "Keep informed, follow up",
}


@dataclass(frozen=True)
class Technique:
    key: str
    label: str
    probability: float

    @property
    def present(self) -> bool:
        return self.probability >= TECHNIQUE_PRESENT


@dataclass(frozen=True)
class DraftReview:
    """What the coach made of a draft, ready for the template and for storage."""

    draft: str
    stored: dict[str, Any]

    @property
    def score(self) -> int:
        return int(self.stored.get("score") or 0)

    @property
    def score_level(self) -> str:
        return "good" if self.score >= 70 else "fair" if self.score >= 40 else "poor"

    @property
    def findings(self) -> list[dict[str, Any]]:
        findings = self.stored.get("findings")
        return [f for f in findings if isinstance(f, dict)] if isinstance(findings, list) else []

    @property
    def avoid(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f.get("kind") == "avoid"]

    @property
    def good(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f.get("kind") == "good"]

    @property
    def blocking(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f.get("severity") == "blocking"]

    @property
    def techniques(self) -> list[Technique]:
        raw = self.stored.get("techniques")
        values = raw if isinstance(raw, Mapping) else {}
        return [
            Technique(key, label, float(values.get(key) or 0.0)) for key, label in TECHNIQUE_LABELS
        ]

    @property
    def promises(self) -> list[PromiseView]:
        promises = self.stored.get("promises")
        if not isinstance(promises, list):
            return []
        return [
            PromiseView(text=str(p.get("text") or ""), due=_parse_time(p.get("due")))
            for p in promises
            if isinstance(p, dict)
        ]


@dataclass(frozen=True)
class PromiseView:
    text: str
    due: datetime | None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def review_draft(draft: str, thread: Iterable[Message], *, time_zone: str) -> DraftReview:
    """The coach's review of `draft` as the next reply in `thread`."""
    try:
        result = coach(
            draft, conversation=history_for(thread), now=timezone.now(), timezone=time_zone
        )
    except ValueError:
        # An organisation with a time zone the engine does not know: coach in UTC
        # rather than leaving the agent without a coach.
        result = coach(draft, conversation=history_for(thread), now=timezone.now())
    stored: dict[str, Any] = result.to_dict()
    return DraftReview(draft=draft, stored=stored)


@dataclass(frozen=True)
class StageView:
    name: str
    label: str
    status: str
    advice: str
    evidence: list[str]
    is_next: bool


@dataclass(frozen=True)
class PlaybookView:
    stages: list[StageView]
    next_action: str
    next_label: str


def playbook_for(thread: Iterable[Message], *, incident_recorded: bool = False) -> PlaybookView:
    """The playbook panel; `incident_recorded` when the case already has an incident."""
    state: dict[str, Any] = playbook(
        history_for(thread), incident_recorded=incident_recorded
    ).to_dict()
    next_stage = state.get("next_stage")
    stages = [
        StageView(
            name=str(stage.get("name")),
            label=STAGE_LABELS.get(str(stage.get("name")), str(stage.get("name"))),
            status=str(stage.get("status")),
            advice=str(stage.get("advice") or ""),
            evidence=[
                str(item.get("phrase"))
                for item in stage.get("evidence") or []
                if isinstance(item, Mapping) and item.get("phrase")
            ],
            is_next=stage.get("name") == next_stage,
        )
        for stage in state.get("stages") or []
        if isinstance(stage, Mapping)
    ]
    return PlaybookView(
        stages=stages,
        next_action=str(state.get("next_action") or ""),
        next_label=STAGE_LABELS.get(str(next_stage), "") if next_stage else "",
    )

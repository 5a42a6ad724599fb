"""Result types of `coach` and `playbook`: frozen, typed, JSON-ready through `to_dict()`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Literal

TECHNIQUES: Final[tuple[str, ...]] = (
    "apology",
    "empathy",
    "paraphrase",
    "question",
    "ownership",
    "next_step",
    "thanks",
)

AVOID_RULES: Final[tuple[str, ...]] = (
    "blame",
    "policy_hiding",
    "refusing_ownership",
    "command",
    "dismissing_emotion",
    "hollow_sympathy",
    "arguing",
    "condescension",
    "sarcasm",
    "jargon",
    "long_sentences",
    "mirroring_hostility",
    "solution_before_acknowledgement",
    "no_next_step",
    "insult",
    "threat_back",
    "other_customer_data",
)
BLOCKING_RULES: Final[frozenset[str]] = frozenset({"insult", "threat_back", "other_customer_data"})
GOOD_RULES: Final[tuple[str, ...]] = (
    "apology",
    "empathy",
    "paraphrase",
    "clarifying_question",
    "ownership",
    "next_step",
    "thanks",
)
RULE_IDS: Final[tuple[str, ...]] = AVOID_RULES + GOOD_RULES

Kind = Literal["avoid", "good"]
# What a finding rests on: a rule's phrasing, or the learned tone model (`coaching.tone`).
FindingEvidence = Literal["rule", "model"]
Severity = Literal["info", "low", "medium", "high", "blocking"]
SEVERITIES: Final[tuple[str, ...]] = ("info", "low", "medium", "high", "blocking")

PLAYBOOK_STAGES: Final[tuple[str, ...]] = (
    "composure",
    "vent",
    "acknowledge",
    "paraphrase",
    "resolve",
    "record",
    "follow_up",
)
StageStatus = Literal["done", "todo", "missed", "not_needed"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the coach noticed in the draft: `draft[start:end] == text`."""

    rule: str
    kind: Kind
    severity: Severity
    start: int
    end: int
    text: str
    explanation: str
    rewrites: tuple[str, ...] = ()
    evidence: FindingEvidence = "rule"

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "span": [self.start, self.end],
            "text": self.text,
            "explanation": self.explanation,
            "rewrites": list(self.rewrites),
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Promise:
    """A commitment in the draft, with its due time resolved in the organisation's zone."""

    start: int
    end: int
    text: str
    action: str
    due: datetime | None
    due_phrase: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": [self.start, self.end],
            "text": self.text,
            "action": self.action,
            "due": self.due.isoformat() if self.due is not None else None,
            "due_phrase": self.due_phrase,
        }


@dataclass(frozen=True, slots=True)
class ScoreReason:
    points: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"points": self.points, "reason": self.reason}


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Coaching:
    """Everything the coach has to say about one draft reply."""

    findings: tuple[Finding, ...]
    techniques: Mapping[str, float]
    score: int
    reasons: tuple[ScoreReason, ...]
    promises: tuple[Promise, ...]
    customer_anger: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "techniques", _frozen(self.techniques))

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.blocking)

    @property
    def avoid(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.kind == "avoid")

    @property
    def good(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.kind == "good")

    def findings_of(self, rule: str) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.rule == rule)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "findings": [finding.to_dict() for finding in self.findings],
            "blocking": [finding.to_dict() for finding in self.blocking],
            "techniques": {key: round(value, 4) for key, value in self.techniques.items()},
            "promises": [promise.to_dict() for promise in self.promises],
            "customer_anger": round(self.customer_anger, 4),
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a playbook stage shows: message index in the conversation and the phrase."""

    message: int
    phrase: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "phrase": self.phrase, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    status: StageStatus
    evidence: tuple[Evidence, ...]
    advice: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "evidence": [item.to_dict() for item in self.evidence],
            "advice": self.advice,
        }


@dataclass(frozen=True, slots=True)
class PlaybookState:
    """Where the de-escalation of one conversation stands, and what the agent does next."""

    stages: tuple[Stage, ...]
    next_stage: str | None
    next_action: str
    customer_anger: float
    anger_trend: Literal["rising", "steady", "falling"] | None

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def done(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages if stage.status == "done")

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": [stage.to_dict() for stage in self.stages],
            "next_stage": self.next_stage,
            "next_action": self.next_action,
            "customer_anger": round(self.customer_anger, 4),
            "anger_trend": self.anger_trend,
        }

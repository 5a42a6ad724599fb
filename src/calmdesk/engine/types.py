"""Result types of `assess`: frozen, typed, JSON-ready through `to_dict()`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from calmdesk.engine.risk import risk_from_scores

SCORE_KEYS: Final[tuple[str, ...]] = (
    "anger",
    "frustration",
    "abuse",
    "threat",
    "legal",
    "public",
    "churn",
    "refund",
    "repeat_contact",
    "urgency",
    "negative",
    "confusion",
    "gratitude",
)

CUSTOMER_TYPES: Final[tuple[str, ...]] = (
    "angry_venter",
    "demanding",
    "abusive",
    "chronic_complainer",
    "know_it_all",
    "indecisive",
    "impatient",
    "confused",
    "potentially_violent",
    "none",
)

TOPICS: Final[tuple[str, ...]] = (
    "billing",
    "refund",
    "delivery",
    "defect",
    "account",
    "cancellation",
    "policy_misunderstanding",
    "technical",
    "other",
)

Trajectory = Literal["rising", "steady", "falling"]
# What followed the agent's last reply: the customer got calmer, angrier, or stayed the same.
ReplyEffect = Literal["helped", "hurt", "neutral"]


@dataclass(frozen=True, slots=True)
class Flag:
    """One piece of evidence in the text: `text[start:end] == evidence`."""

    kind: str
    start: int
    end: int
    evidence: str
    rule: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "evidence": self.evidence,
            "rule": self.rule,
            "weight": round(self.weight, 4),
        }


# The slot setters of `Flag`, in field order, for `new_flag`.
_FLAG_SETTERS: Final = tuple(
    getattr(Flag, name).__set__ for name in ("kind", "start", "end", "evidence", "rule", "weight")
)


def new_flag(kind: str, start: int, end: int, evidence: str, rule: str, weight: float) -> Flag:
    """`Flag(kind, start, end, evidence, rule, weight)` for the engine's hot paths: the frozen
    dataclass `__init__` sets each field through `object.__setattr__` by name, which costs
    about twice what setting the slots directly does (a message makes several flags)."""
    flag = object.__new__(Flag)
    set_kind, set_start, set_end, set_evidence, set_rule, set_weight = _FLAG_SETTERS
    set_kind(flag, kind)
    set_start(flag, start)
    set_end(flag, end)
    set_evidence(flag, evidence)
    set_rule(flag, rule)
    set_weight(flag, weight)
    return flag


@dataclass(frozen=True, slots=True)
class CustomerType:
    """The difficult-customer type that best fits the message, and why."""

    type: str
    confidence: float
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "confidence": round(self.confidence, 4),
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Escalation:
    recommended: bool
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"recommended": self.recommended, "reasons": list(self.reasons)}


# Sets a field of a frozen dataclass, as its generated `__init__` does.
_set: Final = object.__setattr__


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the engine reads in one customer message (and its conversation)."""

    scores: Mapping[str, float]
    emotions: Mapping[str, float]
    intensity: float
    flags: tuple[Flag, ...]
    customer_type: CustomerType
    topic: str
    trajectory: Trajectory | None = None
    last_reply_effect: ReplyEffect | None = None
    escalate: Escalation = field(default_factory=lambda: Escalation(False))

    def __post_init__(self) -> None:
        # Read-only views, so a shared Assessment cannot be changed by a caller.
        object.__setattr__(self, "scores", _frozen(self.scores))
        object.__setattr__(self, "emotions", _frozen(self.emotions))

    @classmethod
    def _owning(
        cls,
        scores: dict[str, float],
        emotions: dict[str, float],
        intensity: float,
        flags: tuple[Flag, ...],
        customer_type: CustomerType,
        topic: str,
        trajectory: Trajectory | None,
        last_reply_effect: ReplyEffect | None,
        escalate: Escalation,
    ) -> Assessment:
        """The engine's own constructor, for dicts that nothing else holds: they are
        wrapped as they are, not copied first (the copy and the dataclass `__init__` cost
        about 4 us of the ~100 us an assessment takes)."""
        result = object.__new__(cls)
        _set(result, "scores", MappingProxyType(scores))
        _set(result, "emotions", MappingProxyType(emotions))
        _set(result, "intensity", intensity)
        _set(result, "flags", flags)
        _set(result, "customer_type", customer_type)
        _set(result, "topic", topic)
        _set(result, "trajectory", trajectory)
        _set(result, "last_reply_effect", last_reply_effect)
        _set(result, "escalate", escalate)
        return result

    @property
    def risk(self) -> float:
        """One number for ordering an inbox (see `calmdesk.engine.risk`)."""
        return risk_from_scores(self.scores)

    def flags_of(self, kind: str) -> tuple[Flag, ...]:
        return tuple(flag for flag in self.flags if flag.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": {key: round(value, 4) for key, value in self.scores.items()},
            "emotions": {key: round(value, 4) for key, value in self.emotions.items()},
            "intensity": round(self.intensity, 4),
            "flags": [flag.to_dict() for flag in self.flags],
            "customer_type": self.customer_type.to_dict(),
            "topic": self.topic,
            "trajectory": self.trajectory,
            "last_reply_effect": self.last_reply_effect,
            "escalate": self.escalate.to_dict(),
            "risk": round(self.risk, 4),
        }

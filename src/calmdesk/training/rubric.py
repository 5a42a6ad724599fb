"""The end-of-session report: a rubric built from the playbook stages.

Each item is scored 0-100 from what the trainee's replies did across the whole
conversation, and `overall` combines them with the outcome: a pleasant
conversation that still lost the customer, or missed a threat, cannot score high.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from calmdesk.training.customer import SUCCESS_OUTCOMES, Outcome
from calmdesk.training.scenario import Scenario

if TYPE_CHECKING:
    from calmdesk.training.session import Turn

RUBRIC_ITEMS: Final[tuple[str, ...]] = (
    "composure",
    "vent",
    "acknowledgement",
    "paraphrase",
    "resolution",
    "follow_up",
    "boundaries",
)
# How much each item counts towards `overall`. Composure and acknowledgement
# carry most: the playbook puts the emotion before the problem.
WEIGHTS: Final[Mapping[str, float]] = MappingProxyType(
    {
        "composure": 0.20,
        "vent": 0.10,
        "acknowledgement": 0.20,
        "paraphrase": 0.10,
        "resolution": 0.15,
        "follow_up": 0.10,
        "boundaries": 0.15,
    }
)
# Points off per occurrence, by the rubric item they count against.
COMPOSURE_PENALTY: Final[Mapping[str, int]] = MappingProxyType(
    {
        "insult": 60,
        "threat_back": 60,
        "mirroring_hostility": 30,
        "sarcasm": 30,
        "condescension": 25,
        "arguing": 20,
        "blame": 20,
    }
)
VENT_PENALTY: Final[Mapping[str, int]] = MappingProxyType(
    {
        "dismissing_emotion": 35,
        "solution_too_soon": 30,
        "solution_before_acknowledgement": 30,
        "command": 15,
    }
)
ACKNOWLEDGEMENT_PENALTY: Final[Mapping[str, int]] = MappingProxyType(
    {"hollow_sympathy": 15, "policy_hiding": 15, "refusing_ownership": 15}
)
# An unfinished session keeps part of its rubric score; a lost one is capped.
UNFINISHED_FACTOR: Final = 0.7
FAILURE_CAP: Final = 40.0
LATE_LIMIT_FLOOR: Final = 60

SUGGESTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "composure": "Keep your tone level whatever theirs is: no sarcasm, no blame, no "
        "contradicting. Their anger is about the situation, not about you.",
        "vent": "Let them get it out first. Short replies that show you are listening work "
        "better than a fix offered while they are still upset.",
        "acknowledgement": "Open with a sincere apology for what went wrong and name how they "
        "feel, e.g. 'I'm sorry, I can see how frustrating this has been.'",
        "paraphrase": "Restate their problem in your own words and ask one clarifying question, "
        "so they know you have understood it.",
        "resolution": "Offer something concrete the organisation can actually do, and say "
        "'I will' rather than 'we might'.",
        "follow_up": "Give a next step with a time: 'I'll call you back before 4pm tomorrow.'",
        "boundaries": "When a customer insults you, name the behaviour and the consequence "
        "calmly while staying willing to help; when someone threatens harm, hand it to your "
        "supervisor or security straight away.",
    }
)


@dataclass(frozen=True, slots=True)
class Moment:
    turn: int
    quote: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "quote": self.quote, "why": self.why}


@dataclass(frozen=True, slots=True)
class Report:
    scores: Mapping[str, int]
    overall: int
    outcome: str
    best: Moment | None
    worst: Moment | None
    suggestions: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", MappingProxyType(dict(self.scores)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": dict(self.scores),
            "overall": self.overall,
            "outcome": self.outcome,
            "best": self.best.to_dict() if self.best else None,
            "worst": self.worst.to_dict() if self.worst else None,
            "suggestions": list(self.suggestions),
        }


def _count(turns: Sequence[Turn], causes: Mapping[str, int]) -> int:
    """Points off for every effect with a penalised cause, counted once per turn and cause."""
    total = 0
    for turn in turns:
        seen = {effect.cause for effect in turn.effects}
        if "solution_too_soon" in seen:
            seen.discard("solution_before_acknowledgement")
        total += sum(points for cause, points in causes.items() if cause in seen)
    return total


def _best(turns: Sequence[Turn], key: str) -> float:
    return max((turn.reading.techniques.get(key, 0.0) for turn in turns), default=0.0)


def _first_turn(turns: Sequence[Turn], cause: str) -> int | None:
    for turn in turns:
        if any(effect.cause == cause for effect in turn.effects):
            return turn.number
    return None


def _clip(value: float) -> int:
    return round(max(0.0, min(100.0, value)))


def _quote(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _moment_value(turn: Turn) -> float:
    delta = turn.delta
    return -delta["anger"] + delta["trust"] + 0.3 * delta["patience"]


def build_report(scenario: Scenario, turns: Sequence[Turn], outcome: Outcome | None) -> Report:
    scores: dict[str, int] = {}
    scores["composure"] = _clip(100 - _count(turns, COMPOSURE_PENALTY))
    scores["vent"] = _clip(100 - _count(turns, VENT_PENALTY))

    acknowledged_at = next(
        (t.number for t in turns if t.reading.acknowledges and not t.reading.hostile), None
    )
    earliness = {1: 20, 2: 10}.get(acknowledged_at or 0, 0)
    scores["acknowledgement"] = _clip(
        40 * _best(turns, "apology")
        + 40 * _best(turns, "empathy")
        + earliness
        - _count(turns, ACKNOWLEDGEMENT_PENALTY)
    )
    scores["paraphrase"] = _clip(75 * _best(turns, "paraphrase") + 25 * _best(turns, "question"))

    offered = _first_turn(turns, "offer") is not None
    timed = _first_turn(turns, "timed_next_step") is not None
    stepped = timed or _first_turn(turns, "next_step") is not None
    escalated = any(t.reading.escalation and not t.reading.hostile for t in turns)
    overpromised = _first_turn(turns, "overpromise") is not None
    if scenario.goal == "escalate":
        resolution = 70 * escalated + 30 * _best(turns, "ownership")
        follow_up = (100 if timed else 70) if escalated else (40 if timed else 0)
    else:
        resolution = 50 * offered + 25 * _best(turns, "ownership") + 25 * stepped
        follow_up = 100 if timed else 50 if stepped else 0
    scores["resolution"] = _clip(resolution - 30 * overpromised)
    scores["follow_up"] = _clip(follow_up)

    # A boundary or an escalation scores full marks in the first reply and loses
    # points for every reply it came later, down to LATE_LIMIT_FLOOR.
    if scenario.goal in ("boundary", "escalate"):
        if scenario.goal == "boundary":
            at = _first_turn(turns, "boundary")
        else:
            at = next((t.number for t in turns if t.reading.escalation), None)
        boundaries = 0 if at is None else max(LATE_LIMIT_FLOOR, 100 - 15 * (at - 1))
    else:
        boundaries = 100 - 40 * (_first_turn(turns, "boundary_unneeded") is not None)
    scores["boundaries"] = _clip(boundaries)

    rubric = sum(WEIGHTS[item] * scores[item] for item in RUBRIC_ITEMS)
    if outcome is None:
        overall = rubric * UNFINISHED_FACTOR
    elif outcome in SUCCESS_OUTCOMES:
        overall = rubric
    else:
        overall = min(rubric * 0.5, FAILURE_CAP)

    best = worst = None
    if turns:
        top = max(turns, key=_moment_value)
        if _moment_value(top) > 0:
            helped = sorted(
                (e for e in top.effects if e.kind == "helped"), key=lambda e: e.anger - e.trust
            )
            why = helped[0].note if helped else "The customer's state improved after this reply."
            best = Moment(top.number, _quote(top.reply), why)
        low = min(turns, key=_moment_value)
        if _moment_value(low) < 0 and any(e.kind == "hurt" for e in low.effects):
            hurt = sorted(
                (e for e in low.effects if e.kind == "hurt"), key=lambda e: -e.anger + e.trust
            )
            worst = Moment(low.number, _quote(hurt[0].quote or low.reply), hurt[0].note)

    suggestions: list[str] = [
        SUGGESTIONS[item]
        for item in sorted(RUBRIC_ITEMS, key=lambda item: scores[item])
        if scores[item] < 70
    ]
    if overpromised:
        suggestions.append(
            "Promise only what the organisation can deliver; offer the real alternatives instead."
        )
    if outcome is None:
        suggestions.append("The conversation did not reach an end; keep going until it is settled.")
    return Report(
        scores=scores,
        overall=_clip(overall),
        outcome=outcome or "unfinished",
        best=best,
        worst=worst,
        suggestions=tuple(suggestions[:5]),
    )

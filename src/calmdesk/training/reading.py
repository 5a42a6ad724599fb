"""What a trainee's reply does, as the simulated customer experiences it.

The engine's reply coach does the reading of phrasing (its findings, technique
probabilities and promises). On top of it this module adds the three things only
a scenario can judge: whether the reply offers something the organisation can (or
cannot) give, whether it sets a boundary on abuse, and whether it hands a threat
to the people whose job is safety.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from calmdesk.engine.coaching.types import TECHNIQUES, Coaching
from calmdesk.training.scenario import Offer, Scenario

# A technique counts as used when the coach is at least this sure of it.
TECHNIQUE_PRESENT: Final = 0.5

Conversation = Sequence[tuple[str, str]]
Coach = Callable[[str, Conversation], Coaching]


@dataclass(frozen=True, slots=True)
class Harm:
    """An avoid-finding of the coach, kept with the words that caused it."""

    rule: str
    text: str
    explanation: str
    blocking: bool


@dataclass(frozen=True, slots=True)
class ReplyReading:
    text: str
    techniques: Mapping[str, float]
    harms: tuple[Harm, ...]
    coach_score: int
    # A commitment with a time ("I'll call you before 5pm today").
    timed_commitment: str | None
    offers: tuple[Offer, ...]
    overpromises: tuple[Offer, ...]
    boundary: str | None
    escalation: str | None
    safety_escalation: bool
    explanations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "techniques", MappingProxyType(dict(self.techniques)))
        object.__setattr__(self, "explanations", MappingProxyType(dict(self.explanations)))

    def uses(self, technique: str) -> bool:
        return self.techniques.get(technique, 0.0) >= TECHNIQUE_PRESENT

    def harmed_by(self, rule: str) -> bool:
        return any(harm.rule == rule for harm in self.harms)

    @property
    def hostile(self) -> bool:
        """Something a customer hears as an attack, not just a clumsy phrase."""
        return any(harm.blocking or harm.rule in HOSTILE_RULES for harm in self.harms)

    @property
    def acknowledges(self) -> bool:
        return self.uses("apology") or self.uses("empathy") or self.uses("paraphrase")

    @property
    def proposes(self) -> bool:
        """The reply moves to solving: an offer, a next step or a committed time."""
        return bool(self.offers) or self.uses("next_step") or self.timed_commitment is not None


HOSTILE_RULES: Final[frozenset[str]] = frozenset(
    {"mirroring_hostility", "sarcasm", "insult", "threat_back"}
)

# Setting a boundary: naming the behaviour that has to stop, and what happens if
# it does not, while staying in the conversation. Kept as patterns over the kinds
# of wording trainees use; a bare "stop swearing" is a command, not a boundary.
_BEHAVIOUR = (
    r"(?:language|insults?|swearing|abuse|abusive|name[- ]calling|shouting|personal remarks|"
    r"spoken to|talked to|speak(?:s|ing)? to me|talk(?:s|ing)? to me|threats?|that tone|words like that)"
)
_BOUNDARY_PATTERNS: Final[tuple[re.Pattern[str], ...]] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b(?:won't|will not|can't|cannot|can not|am not able to|i'm not able to|not going to)\s+"
        rf"(?:continue|carry on|keep|stay|accept|tolerate|allow|go on)\b[^.!?]{{0,60}}{_BEHAVIOUR}",
        rf"\bif (?:the |this |that )?{_BEHAVIOUR}[^.!?]{{0,40}}\b(?:continues?|carries on|goes on|doesn't stop|does not stop)",
        r"\b(?:I'll|I will|I'm going to|I am going to|I'd have to|I would have to|I'll have to)\s+"
        r"(?:have to\s+)?(?:end|close|pause|stop)\s+(?:this|the|our)\s+(?:chat|call|conversation)\b",
        rf"\b{_BEHAVIOUR}\b[^.!?]{{0,30}}\b(?:isn't|is not|aren't|are not)\s+(?:ok|okay|acceptable|something I can accept)",
    )
)

_HAND_OVER = r"(?:pass(?:ing)?|hand(?:ing)?|escalat\w*|refer(?:ring)?|report(?:ing)?|bring(?:ing)? in|involv\w*|transfer\w*|flag(?:ging)?|put you through|connect(?:ing)? you)"
_SENIOR = r"(?:supervisor|manager|team lead(?:er)?|senior colleague|duty manager|complaints team)"
_SAFETY = r"(?:security(?: team)?|safety team|police|emergency services|999|911|112)"
_ESCALATION = re.compile(
    rf"\b{_HAND_OVER}\b[^.!?]{{0,60}}\b(?:{_SENIOR}|{_SAFETY})\b|\b(?:{_SENIOR}|{_SAFETY})\b[^.!?]{{0,40}}\b(?:will|is going to|to)\s+(?:take over|call|contact|look into|join|handle)",
    re.IGNORECASE,
)
_SAFETY_WORDS = re.compile(rf"\b{_SAFETY}\b", re.IGNORECASE)

# A time the trainee commits to, when the coach did not resolve a promise itself.
_TIME = re.compile(
    r"\b(?:today|tonight|tomorrow|this (?:morning|afternoon|evening|week)|by (?:the end of )?(?:the day|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|noon|midday|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)|"
    r"within (?:the next )?(?:\d+|one|two|three|24|48) (?:hours?|working days?|days?|minutes?)|"
    r"before (?:\d{1,2}(?::\d{2})?\s*(?:am|pm)|noon|midday|the end of))",
    re.IGNORECASE,
)


def _matches(text: str, offers: Sequence[Offer]) -> tuple[Offer, ...]:
    lowered = text.lower()
    return tuple(offer for offer in offers if any(cue in lowered for cue in offer.cues))


_NEGATION = re.compile(
    r"\b(?:can't|cannot|can not|won't|unable|not able|no way|isn't possible|not possible|"
    r"don't|do not|not)\b[^.!?,;]*$"
)


def _negated(text: str, offer: Offer) -> bool:
    """'We can't refund it' names the refund but does not offer it.

    Only a negation in the same clause counts: in "we can't refund it, but I will
    arrange a repair" the repair is offered.
    """
    lowered = text.lower()
    for cue in offer.cues:
        index = lowered.find(cue)
        while index >= 0:
            clause = re.split(
                r"\bbut\b|\bhowever\b|\binstead\b", lowered[max(0, index - 60) : index]
            )[-1]
            if not _NEGATION.search(clause):
                return False
            index = lowered.find(cue, index + 1)
    return True


def _boundary(text: str) -> str | None:
    for pattern in _BOUNDARY_PATTERNS:
        found = pattern.search(text)
        if found:
            return found.group(0)
    return None


def default_coach(draft: str, conversation: Conversation) -> Coaching:
    from calmdesk.engine.coaching import coach

    result: Coaching = coach(draft, conversation=tuple(conversation))
    return result


def read_reply(
    text: str,
    *,
    scenario: Scenario,
    conversation: Conversation,
    coach: Coach = default_coach,
) -> ReplyReading:
    """Coach the reply against the conversation so far and add the scenario's own checks."""
    coaching = coach(text, conversation)
    harms = tuple(
        Harm(
            rule=finding.rule,
            text=finding.text,
            explanation=finding.explanation,
            blocking=finding.blocking,
        )
        for finding in coaching.findings
        if finding.kind == "avoid"
    )
    explanations = {
        finding.rule: finding.explanation for finding in coaching.findings if finding.kind == "good"
    }
    techniques = {key: float(coaching.techniques.get(key, 0.0)) for key in TECHNIQUES}
    timed: str | None = None
    for promise in coaching.promises:
        if promise.due is not None or promise.due_phrase:
            timed = promise.text
            break
    if timed is None and techniques["next_step"] >= TECHNIQUE_PRESENT:
        found = _TIME.search(text)
        if found:
            timed = found.group(0)
    offers = tuple(o for o in _matches(text, scenario.facts.can_offer) if not _negated(text, o))
    overpromises = tuple(
        o for o in _matches(text, scenario.facts.cannot_offer) if not _negated(text, o)
    )
    escalation_match = _ESCALATION.search(text)
    escalation = escalation_match.group(0) if escalation_match else None
    return ReplyReading(
        text=text,
        techniques=techniques,
        harms=harms,
        coach_score=int(coaching.score),
        timed_commitment=timed,
        offers=offers,
        overpromises=overpromises,
        boundary=_boundary(text),
        escalation=escalation,
        safety_escalation=bool(escalation and _SAFETY_WORDS.search(text)),
        explanations=explanations,
    )

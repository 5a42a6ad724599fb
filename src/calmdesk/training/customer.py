"""The simulated customer's hidden state and how a trainee's reply moves it.

The state is three numbers from 0 to 100: anger, trust (that this agent will
sort it out) and patience (how long they will keep talking). Each trainee reply
is read (`reading.read_reply`) and turned into named effects; the effects are
what the trainee sees as feedback, so every change of state has a stated cause.

The weights encode the playbook in domain.md: acknowledging the feeling calms,
being lectured, blamed or told to calm down inflames, a fix offered before the
customer feels heard does not land, and a concrete step with a time builds trust.
They are hand-set, tuned so a reply that does one thing well moves the customer
noticeably and a model conversation settles in three or four replies.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from types import MappingProxyType
from typing import Final, Literal

from calmdesk.training.reading import ReplyReading
from calmdesk.training.scenario import REACTION_BANKS, Scenario, ScenarioError

Outcome = Literal[
    "satisfied",
    "boundary_set",
    "escalated_correctly",
    "escalated",
    "gave_up",
    "missed_escalation",
]
SUCCESS_OUTCOMES: Final[frozenset[str]] = frozenset(
    {"satisfied", "boundary_set", "escalated_correctly"}
)
SUCCESS_FOR_GOAL: Final[Mapping[str, Outcome]] = MappingProxyType(
    {"satisfy": "satisfied", "boundary": "boundary_set", "escalate": "escalated_correctly"}
)

# The customer is content when anger is at or below this and trust at or above the next.
CALM_ENOUGH: Final = 35.0
TRUSTING_ENOUGH: Final = 60.0
# While anger is above this, a fix offered in the same breath as the first
# acknowledgement still reads as brushing the feeling aside.
STILL_HEATED: Final = 60.0
# An abusive customer stays at least this angry until a boundary is set.
ABUSE_FLOOR: Final = 45.0

# (anger, trust, patience) per technique, for its first use. Repeating an
# apology or a named feeling turn after turn wears thin, so later uses count half.
CALMING: Final[Mapping[str, tuple[float, float, float]]] = MappingProxyType(
    {
        "apology": (-8.0, 3.0, 0.0),
        "empathy": (-10.0, 4.0, 0.0),
        "paraphrase": (-6.0, 8.0, 2.0),
        "ownership": (-4.0, 8.0, 0.0),
        "question": (0.0, 3.0, 0.0),
        "thanks": (-2.0, 1.0, 0.0),
    }
)
WEARS_THIN: Final[frozenset[str]] = frozenset({"apology", "empathy", "thanks"})
ACKNOWLEDGING: Final[tuple[str, ...]] = ("apology", "empathy", "paraphrase")
OFFER_LANDS: Final = (-6.0, 10.0, 5.0)
TIMED_STEP_LANDS: Final = (-8.0, 15.0, 10.0)
UNTIMED_STEP: Final = (-2.0, 4.0, 0.0)
SOLUTION_TOO_SOON: Final = (3.0, 2.0, -5.0)
BOUNDARY_ON_ABUSE: Final = (-12.0, 6.0, 5.0)
BOUNDARY_UNNEEDED: Final = (6.0, -6.0, -5.0)

# (anger, trust, patience) per coach rule that hurts.
INFLAMING: Final[Mapping[str, tuple[float, float, float]]] = MappingProxyType(
    {
        "blame": (12.0, -8.0, -5.0),
        "policy_hiding": (10.0, -10.0, -5.0),
        "refusing_ownership": (10.0, -12.0, -8.0),
        "command": (8.0, -4.0, -3.0),
        "dismissing_emotion": (16.0, -8.0, -8.0),
        "hollow_sympathy": (3.0, -3.0, 0.0),
        "arguing": (12.0, -8.0, -5.0),
        "condescension": (10.0, -8.0, -5.0),
        "sarcasm": (12.0, -10.0, -5.0),
        "jargon": (2.0, -2.0, -2.0),
        "long_sentences": (1.0, 0.0, -3.0),
        "mirroring_hostility": (12.0, -10.0, -5.0),
        "solution_before_acknowledgement": (3.0, 0.0, -3.0),
        "no_next_step": (0.0, -2.0, -2.0),
        "insult": (30.0, -25.0, -20.0),
        "threat_back": (35.0, -30.0, -20.0),
        "other_customer_data": (5.0, -20.0, 0.0),
    }
)

Number = float


@dataclass(frozen=True, slots=True)
class PersonaProfile:
    """How one type of difficult customer reacts, and what they tend to say."""

    type: str
    calm: float
    inflame: float
    trust: float
    drain: float
    # The persona's own lines, said first; then the reactions every persona shares.
    lines: Mapping[str, tuple[str, ...]]
    common: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", MappingProxyType(dict(self.lines)))
        object.__setattr__(self, "common", MappingProxyType(dict(self.common)))


def load_profiles() -> Mapping[str, PersonaProfile]:
    """The persona profiles shipped with the simulator, validated like scenarios."""
    source = "personas.toml"
    raw = (resources.files("calmdesk.training") / source).read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    problems: list[str] = []
    common = data.get("common", {}).get("lines", {})
    for bank in REACTION_BANKS:
        if not isinstance(common.get(bank), list) or not common[bank]:
            problems.append(f"common.lines.{bank} must be a non-empty list of strings")
    profiles: dict[str, PersonaProfile] = {}
    from calmdesk.engine.types import CUSTOMER_TYPES

    for persona_type in (t for t in CUSTOMER_TYPES if t != "none"):
        entry = data.get(persona_type)
        if not isinstance(entry, Mapping):
            problems.append(f"[{persona_type}] is missing")
            continue
        numbers: dict[str, float] = {}
        for key in ("calm", "inflame", "trust", "drain"):
            value = entry.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                problems.append(f"{persona_type}.{key} must be a number of 0 or more")
                value = 1.0
            numbers[key] = float(value)
        lines: dict[str, tuple[str, ...]] = {}
        for bank, value in entry.get("lines", {}).items():
            if bank not in REACTION_BANKS:
                problems.append(f"{persona_type}.lines.{bank} is not a reaction bank")
            elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{persona_type}.lines.{bank} must be a list of strings")
            else:
                lines[bank] = tuple(value)
        shared = {bank: tuple(common.get(bank, ())) for bank in REACTION_BANKS}
        profiles[persona_type] = PersonaProfile(
            type=persona_type, lines=lines, common=shared, **numbers
        )
    if problems:
        raise ScenarioError(source, problems)
    return MappingProxyType(profiles)


@dataclass(frozen=True, slots=True)
class CustomerState:
    anger: float
    trust: float
    patience: float

    def to_dict(self) -> dict[str, int]:
        return {
            "anger": round(self.anger),
            "trust": round(self.trust),
            "patience": round(self.patience),
        }

    @property
    def mood(self) -> str:
        if self.anger >= 75:
            return "furious"
        if self.anger >= 50:
            return "angry"
        if self.anger > CALM_ENOUGH or self.trust < 45:
            return "wary"
        return "softening"


@dataclass(frozen=True, slots=True)
class Progress:
    """What the trainee has achieved so far, which decides what lands next."""

    acknowledged: bool = False
    offered: frozenset[str] = frozenset()
    committed: bool = False
    boundary_set: bool = False
    escalated: bool = False
    used: frozenset[str] = frozenset()


EffectKind = Literal["helped", "hurt", "neutral"]


@dataclass(frozen=True, slots=True)
class Effect:
    """One cause of a change in the customer's state, phrased for the trainee."""

    cause: str
    kind: EffectKind
    note: str
    anger: float = 0.0
    trust: float = 0.0
    patience: float = 0.0
    quote: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "cause": self.cause,
            "kind": self.kind,
            "note": self.note,
            "delta": {
                "anger": round(self.anger, 1),
                "trust": round(self.trust, 1),
                "patience": round(self.patience, 1),
            },
            "quote": self.quote,
        }


@dataclass(frozen=True, slots=True)
class Reaction:
    state: CustomerState
    progress: Progress
    effects: tuple[Effect, ...]
    outcome: Outcome | None
    # Which reaction bank the customer's next line should open with, if any.
    reaction: str | None = None


TECHNIQUE_NOTES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "apology": "You apologised for what went wrong.",
        "empathy": "You named how they feel.",
        "paraphrase": "You put their problem in your own words, so they know you listened.",
        "ownership": "You took it on yourself to sort this out.",
        "question": "You asked a question that moves the case forward.",
        "thanks": "You thanked them.",
    }
)
HARM_NOTES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "blame": "This puts the fault on the customer; they will defend themselves instead of listening.",
        "policy_hiding": "Pointing at a policy without the reason behind it sounds like a wall.",
        "refusing_ownership": "Saying it is not yours to solve tells them they will be passed around.",
        "command": "Telling an upset customer what they must do reads as an order.",
        "dismissing_emotion": "Telling someone to calm down makes them feel unheard, and angrier.",
        "hollow_sympathy": "A bare 'I understand' sounds scripted; show it by restating their problem.",
        "arguing": "Contradicting them turns the conversation into a contest you cannot win.",
        "condescension": "This talks down to them.",
        "sarcasm": "Sarcasm is heard as contempt.",
        "jargon": "Internal terms confuse and distance an upset customer.",
        "long_sentences": "Long sentences are hard to take in when someone is upset.",
        "mirroring_hostility": "Matching their tone escalates it.",
        "solution_before_acknowledgement": "You went to the fix before they felt heard.",
        "no_next_step": "Nothing in the reply says what happens next.",
        "insult": "An insult back is never acceptable and ends any chance of recovery.",
        "threat_back": "Threatening a customer is never acceptable.",
        "other_customer_data": "This shares another customer's data.",
    }
)
REACTION_FOR_RULE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "dismissing_emotion": "dismissed",
        "policy_hiding": "policy",
        "blame": "blamed",
        "arguing": "argued",
        "command": "commanded",
        "condescension": "mocked",
        "sarcasm": "mocked",
        "refusing_ownership": "passed_around",
        "hollow_sympathy": "hollow",
        "mirroring_hostility": "hostile",
        "insult": "hostile",
        "threat_back": "hostile",
        "solution_before_acknowledgement": "too_soon",
        "jargon": "jargon",
    }
)


def _weakened(
    technique: str, delta: tuple[float, float, float], progress: Progress
) -> tuple[float, float, float]:
    if technique in WEARS_THIN and technique in progress.used:
        return (delta[0] / 2, delta[1] / 2, delta[2] / 2)
    return delta


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def react(
    *,
    scenario: Scenario,
    profile: PersonaProfile,
    state: CustomerState,
    progress: Progress,
    reading: ReplyReading,
    turn: int,
) -> Reaction:
    """The customer's new state after one trainee reply, with every cause named."""
    effects: list[Effect] = []
    hostile = reading.hostile
    boundary_now = reading.boundary is not None and not hostile
    abusive_unchecked = (
        scenario.goal == "boundary" and not progress.boundary_set and not boundary_now
    )
    # Handing a threat to a supervisor or security is the right move, not a fix
    # offered too early.
    escalating = scenario.goal == "escalate" and reading.escalation is not None

    def calm(cause: str, note: str, delta: tuple[float, float, float], quote: str = "") -> None:
        anger, trust, patience = delta
        # An abusive customer who has not been given a limit takes kindness as weakness.
        damp = 0.5 if abusive_unchecked and cause != "boundary" else 1.0
        effects.append(
            Effect(
                cause,
                "helped",
                note,
                anger * profile.calm * damp,
                trust * profile.trust * damp,
                patience,
                quote,
            )
        )

    # Acknowledgement comes first: whether a fix lands depends on how heard the
    # customer feels after this reply's apology, named feeling and paraphrase.
    heard_before = progress.acknowledged
    heard_now = reading.acknowledges and not hostile
    acknowledging = [t for t in ACKNOWLEDGING if reading.uses(t)] if not hostile else []
    anger_after_ack = state.anger + sum(
        _weakened(t, CALMING[t], progress)[0] * profile.calm for t in acknowledging
    )
    lands = heard_before or (heard_now and anger_after_ack < STILL_HEATED)
    too_soon = reading.proposes and not hostile and not lands and not escalating

    # Warmth in a reply that also attacks is not heard; ownership in a fix that
    # comes too soon is part of the fix and does not land either.
    if not hostile:
        for technique, delta in CALMING.items():
            if not reading.uses(technique):
                continue
            if technique == "question" and not (heard_before or heard_now):
                continue
            if technique == "ownership" and too_soon:
                continue
            calm(technique, TECHNIQUE_NOTES[technique], _weakened(technique, delta, progress))

    offered = progress.offered
    committed = progress.committed
    if too_soon:
        anger, trust, patience = SOLUTION_TOO_SOON
        effects.append(
            Effect(
                "solution_too_soon",
                "hurt",
                "You offered a fix before they felt heard, so it did not land. "
                "Acknowledge the feeling first.",
                anger * profile.inflame,
                trust,
                patience,
            )
        )
    elif reading.proposes and not hostile:
        for offer in reading.offers:
            if offer.id not in offered:
                calm("offer", f"You offered something real: {offer.text}.", OFFER_LANDS, offer.text)
        offered = offered | {offer.id for offer in reading.offers}
        if reading.timed_commitment is not None and not committed:
            calm(
                "timed_next_step",
                "You committed to a concrete next step with a time.",
                TIMED_STEP_LANDS,
                reading.timed_commitment,
            )
            committed = True
        elif reading.timed_commitment is None and reading.uses("next_step"):
            calm("next_step", "You said what happens next, but not when.", UNTIMED_STEP)

    boundary_set = progress.boundary_set
    if reading.boundary is not None and not hostile and not progress.boundary_set:
        if scenario.goal in ("boundary", "escalate"):
            calm(
                "boundary",
                "You named the behaviour that has to stop and stayed willing to help.",
                BOUNDARY_ON_ABUSE,
                reading.boundary,
            )
            boundary_set = True
        else:
            anger, trust, patience = BOUNDARY_UNNEEDED
            effects.append(
                Effect(
                    "boundary_unneeded",
                    "hurt",
                    "This customer is upset, not abusive; a warning about their language "
                    "sounds like a telling-off.",
                    anger,
                    trust,
                    patience,
                    reading.boundary,
                )
            )

    counted: set[str] = set()
    for harm in reading.harms:
        # One rule counts once per reply, however many phrases show it.
        if harm.rule in counted:
            continue
        counted.add(harm.rule)
        if (too_soon or escalating) and harm.rule == "solution_before_acknowledgement":
            continue  # counted above with the simulator's own reason, or not a fault here
        if harm.rule == "no_next_step" and heard_now and state.anger >= STILL_HEATED:
            continue  # letting a heated customer feel heard first is the playbook, not a gap
        delta = INFLAMING.get(harm.rule, (4.0, -3.0, -2.0))
        effects.append(
            Effect(
                harm.rule,
                "hurt",
                HARM_NOTES.get(harm.rule, harm.explanation),
                delta[0] * profile.inflame,
                delta[1],
                delta[2],
                harm.text,
            )
        )

    if reading.overpromises:
        promised = reading.overpromises[0]
        effects.append(
            Effect(
                "overpromise",
                "hurt",
                f"You promised something the organisation cannot give ({promised.text}); "
                "the customer will hold you to it.",
                0.0,
                -5.0,
                0.0,
                promised.text,
            )
        )

    effects.append(
        Effect("time", "neutral", "Every reply costs some patience.", 0.0, 0.0, -profile.drain)
    )

    anger = _clamp(state.anger + sum(e.anger for e in effects))
    if scenario.goal == "boundary" and not boundary_set:
        anger = max(anger, ABUSE_FLOOR)
    new_state = CustomerState(
        anger=anger,
        trust=_clamp(state.trust + sum(e.trust for e in effects)),
        patience=_clamp(state.patience + sum(e.patience for e in effects)),
    )
    escalated = progress.escalated or (reading.escalation is not None and not hostile)
    new_progress = replace(
        progress,
        acknowledged=progress.acknowledged or heard_now,
        offered=offered,
        committed=committed,
        boundary_set=boundary_set,
        escalated=escalated,
        used=progress.used | {t for t in CALMING if reading.uses(t)},
    )
    outcome = _outcome(scenario, new_state, new_progress, reading, turn)
    return Reaction(
        state=new_state,
        progress=new_progress,
        effects=tuple(effects),
        outcome=outcome,
        reaction=_reaction_bank(reading, too_soon, heard_now and not heard_before, boundary_set),
    )


def _reaction_bank(
    reading: ReplyReading, too_soon: bool, first_heard: bool, boundary_now: bool
) -> str | None:
    worst: tuple[float, str] | None = None
    for harm in reading.harms:
        bank = REACTION_FOR_RULE.get(harm.rule)
        if bank is None:
            continue
        weight = INFLAMING.get(harm.rule, (0.0, 0.0, 0.0))[0]
        if worst is None or weight > worst[0]:
            worst = (weight, bank)
    if worst is not None:
        return worst[1]
    if too_soon:
        return "too_soon"
    if first_heard:
        return "heard"
    if (
        not reading.harms
        and not any(reading.uses(t) for t in TECHNIQUE_NOTES)
        and not reading.proposes
    ):
        return "stalled"
    return None


def _outcome(
    scenario: Scenario,
    state: CustomerState,
    progress: Progress,
    reading: ReplyReading,
    turn: int,
) -> Outcome | None:
    if scenario.goal == "escalate" and progress.escalated and not reading.hostile:
        return "escalated_correctly"
    if any(harm.blocking for harm in reading.harms) or state.anger >= 100:
        return "escalated"
    if state.patience <= 0:
        return "gave_up"
    gate = {
        "satisfy": True,
        "boundary": progress.boundary_set,
        "escalate": progress.escalated,
    }[scenario.goal]
    resolved = bool(progress.offered) and progress.committed
    if gate and resolved and state.anger <= CALM_ENOUGH and state.trust >= TRUSTING_ENOUGH:
        return SUCCESS_FOR_GOAL[scenario.goal]
    if turn >= scenario.max_turns:
        return "missed_escalation" if scenario.goal == "escalate" else "gave_up"
    return None

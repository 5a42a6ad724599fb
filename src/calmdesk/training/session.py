"""A practice session: a scenario, a seed, and the trainee's replies one at a time."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from calmdesk.training.composer import Composer
from calmdesk.training.customer import (
    CustomerState,
    Effect,
    Outcome,
    PersonaProfile,
    Progress,
    load_profiles,
    react,
)
from calmdesk.training.reading import Coach, ReplyReading, default_coach, read_reply
from calmdesk.training.rubric import Report, build_report
from calmdesk.training.scenario import Scenario

if TYPE_CHECKING:
    from calmdesk.training.voice import ChatVoice

# A trainee reply longer than this is not a chat message; refuse it with a reason.
MAX_REPLY_CHARS: Final = 4000


class PracticeError(ValueError):
    """A reply the session cannot take: empty, too long, or after the end."""


@dataclass(frozen=True, slots=True)
class Turn:
    number: int
    reply: str
    reading: ReplyReading
    effects: tuple[Effect, ...]
    before: CustomerState
    after: CustomerState
    customer: str
    outcome: Outcome | None

    @property
    def delta(self) -> dict[str, float]:
        return {
            "anger": round(self.after.anger - self.before.anger, 1),
            "trust": round(self.after.trust - self.before.trust, 1),
            "patience": round(self.after.patience - self.before.patience, 1),
        }

    @property
    def helped(self) -> tuple[Effect, ...]:
        return tuple(effect for effect in self.effects if effect.kind == "helped")

    @property
    def hurt(self) -> tuple[Effect, ...]:
        return tuple(effect for effect in self.effects if effect.kind == "hurt")

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.number,
            "trainee": self.reply,
            "customer": self.customer,
            "state": self.after.to_dict(),
            "delta": self.delta,
            "coach_score": self.reading.coach_score,
            "techniques": {k: round(v, 3) for k, v in self.reading.techniques.items()},
            "helped": [effect.to_dict() for effect in self.helped],
            "hurt": [effect.to_dict() for effect in self.hurt],
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class PracticeResult:
    scenario: Scenario
    seed: int
    opening: str
    start: CustomerState
    turns: tuple[Turn, ...]
    outcome: Outcome | None
    report: Report

    @property
    def transcript(self) -> tuple[tuple[str, str], ...]:
        lines: list[tuple[str, str]] = [("customer", self.opening)]
        for turn in self.turns:
            lines.append(("trainee", turn.reply))
            lines.append(("customer", turn.customer))
        return tuple(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.summary(),
            "seed": self.seed,
            "start": self.start.to_dict(),
            "transcript": [{"role": role, "text": text} for role, text in self.transcript],
            "turns": [turn.to_dict() for turn in self.turns],
            "outcome": self.outcome or "unfinished",
            "report": self.report.to_dict(),
        }


class PracticeSession:
    """The live conversation with one simulated customer.

    Mutable on purpose: it is the driver a terminal or web page feeds one reply
    at a time. Everything it hands out (turns, results) is frozen.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int = 0,
        coach: Coach = default_coach,
        profiles: Mapping[str, PersonaProfile] | None = None,
        voice: ChatVoice | None = None,
    ) -> None:
        self.scenario = scenario
        self._voice = voice
        self.seed = seed
        self._coach = coach
        self._profile = (profiles or load_profiles())[scenario.persona.type]
        self._composer = Composer(scenario, self._profile, random.Random(seed))
        self.start = CustomerState(
            anger=float(scenario.start.anger),
            trust=float(scenario.start.trust),
            patience=float(scenario.start.patience),
        )
        self.state = self.start
        self.progress = Progress()
        self.opening = self._composer.opening()
        self.turns: list[Turn] = []
        self.outcome: Outcome | None = None

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def conversation(self) -> list[tuple[str, str]]:
        """The dialogue so far in the engine's (role, text) form."""
        history = [("customer", self.opening)]
        for turn in self.turns:
            history.append(("agent", turn.reply))
            history.append(("customer", turn.customer))
        return history

    def reply(self, text: str) -> Turn:
        if self.finished:
            raise PracticeError("the conversation is over; start a new session to practise again")
        reply = text.strip()
        if not reply:
            raise PracticeError("the reply is empty")
        if len(reply) > MAX_REPLY_CHARS:
            raise PracticeError(
                f"the reply is {len(reply)} characters; keep it under {MAX_REPLY_CHARS}"
            )
        reading = read_reply(
            reply, scenario=self.scenario, conversation=self.conversation, coach=self._coach
        )
        number = len(self.turns) + 1
        reaction = react(
            scenario=self.scenario,
            profile=self._profile,
            state=self.state,
            progress=self.progress,
            reading=reading,
            turn=number,
        )
        customer = self._composer.next_line(
            reaction=reaction, reading=reading, before=self.progress
        )
        if self._voice is not None:
            customer = self._voice.speak(
                scenario=self.scenario,
                state=reaction.state,
                outcome=reaction.outcome,
                conversation=[*self.conversation, ("agent", reply)],
                planned=customer,
            )
        turn = Turn(
            number=number,
            reply=reply,
            reading=reading,
            effects=reaction.effects,
            before=self.state,
            after=reaction.state,
            customer=customer,
            outcome=reaction.outcome,
        )
        self.turns.append(turn)
        self.state = reaction.state
        self.progress = reaction.progress
        self.outcome = reaction.outcome
        return turn

    def result(self) -> PracticeResult:
        turns = tuple(self.turns)
        return PracticeResult(
            scenario=self.scenario,
            seed=self.seed,
            opening=self.opening,
            start=self.start,
            turns=turns,
            outcome=self.outcome,
            report=build_report(self.scenario, turns, self.outcome),
        )


def play_script(
    scenario: Scenario,
    replies: Iterable[str],
    *,
    seed: int = 0,
    coach: Coach = default_coach,
    voice: ChatVoice | None = None,
) -> PracticeResult:
    """Play the trainee's replies in order until they run out or the conversation ends.

    Blank lines are skipped, so a script file can space its replies out.
    """
    session = PracticeSession(scenario, seed=seed, coach=coach, voice=voice)
    for line in replies:
        if session.finished:
            break
        if line.strip():
            session.reply(line)
    return session.result()

"""Composes the simulated customer's next message from state, facts and a seed.

Deterministic: the only randomness is the session's `random.Random(seed)`, used to
pick among equally fitting lines, so the same seed and the same replies give the
same conversation. Lines come from the scenario first (its own facts and voice)
and from the persona profile second (how this type of customer reacts).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from calmdesk.training.customer import (
    CustomerState,
    Outcome,
    PersonaProfile,
    Progress,
    Reaction,
)
from calmdesk.training.reading import ReplyReading
from calmdesk.training.scenario import Scenario

ENDING_BANK: dict[str, str] = {
    "satisfied": "satisfied",
    "boundary_set": "satisfied",
    "escalated_correctly": "handed_over",
    "escalated": "escalate",
    "gave_up": "gave_up",
    "missed_escalation": "gave_up",
}


# Where a mood's lines are exhausted, the customer draws on the moods next to it.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "furious": ("angry", "stalled"),
    "angry": ("furious", "wants", "stalled"),
    "wary": ("wants", "angry", "stalled"),
    "softening": ("wants", "wary", "stalled"),
}


@dataclass
class Composer:
    scenario: Scenario
    profile: PersonaProfile
    rng: random.Random
    used: set[str] = field(default_factory=set)

    def _tiers(self, name: str) -> tuple[Sequence[str], ...]:
        """The bank's lines from the most specific source to the most general."""
        return (
            self.scenario.lines.get(name, ()),
            self.profile.lines.get(name, ()),
            self.profile.common.get(name, ()),
        )

    def _fresh(self, name: str) -> list[str]:
        for tier in self._tiers(name):
            fresh = [line for line in tier if line not in self.used]
            if fresh:
                return fresh
        return []

    def pick(self, name: str, *fallbacks: str, in_order: bool = False) -> str | None:
        """A line from the bank, preferring ones not said yet in this session.

        The scenario's own lines come first, then the persona's, then the shared
        ones. When every line of the bank has been said, a fresh line from the
        first fallback bank that still has one is used, and only then a repeat.
        """
        pool = self._fresh(name)
        for fallback in fallbacks:
            if pool:
                break
            pool = self._fresh(fallback)
        if not pool:
            pool = [line for tier in self._tiers(name) for line in tier]
        if not pool:
            return None
        line = pool[0] if in_order else self.rng.choice(pool)
        self.used.add(line)
        return self.scenario.fill(line)

    def opening(self) -> str:
        self.used.add(self.scenario.opening)
        return self.scenario.fill(self.scenario.opening)

    def next_line(
        self,
        *,
        reaction: Reaction,
        reading: ReplyReading,
        before: Progress,
    ) -> str:
        if reaction.outcome is not None:
            return self._ending(reaction.outcome, reaction)
        parts: list[str | None] = []
        if reaction.reaction is not None:
            parts.append(self.pick(reaction.reaction, "stalled"))
        state: CustomerState = reaction.state
        progress = reaction.progress
        if progress.boundary_set and not before.boundary_set and self.scenario.goal == "boundary":
            parts.append(self.pick("backs_down"))
        elif reading.uses("question") and not reading.hostile:
            parts.append(self.pick("answers", "wants", "stalled", in_order=True))
        elif progress.offered and not progress.committed:
            parts.append(self.pick("when", "wants"))
        elif state.mood == "softening" and not progress.offered:
            parts.append(self.pick("wants", "softening"))
        else:
            parts.append(self.pick(state.mood, *NEIGHBOURS[state.mood]))
        text = " ".join(part for part in parts if part)
        return text or self.scenario.fill(self.scenario.lines["wants"][0])

    def _ending(self, outcome: Outcome, reaction: Reaction) -> str:
        parts: list[str | None] = []
        if outcome == "escalated" and reaction.reaction is not None:
            parts.append(self.pick(reaction.reaction))
        parts.append(self.pick(ENDING_BANK[outcome]))
        return " ".join(part for part in parts if part)

"""Scenarios as data: one TOML file per scenario, validated on load.

A scenario is everything the simulated customer knows: who they are (a persona of
one of the engine's difficult-customer types), what really happened, what they
want, what the organisation can and cannot offer, how they open, the hidden state
they start in, and the material their lines are composed from. Loading never
half-succeeds: a file with any problem raises `ScenarioError` naming the file
and every problem found in it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from calmdesk.engine.types import CUSTOMER_TYPES, TOPICS

PROBLEM_KINDS: Final[tuple[str, ...]] = (
    "refund_refused",
    "late_delivery",
    "defect",
    "billing_error",
    "misread_rule",
    "repeat_contact",
    "abuse_boundary",
    "threat_escalation",
    "other",
)

# What counts as handling the scenario well. Most customers can be won back; an
# abusive one must first be given a boundary; a threat must be handed to people
# whose job is safety, whatever else the trainee does.
GOALS: Final[tuple[str, ...]] = ("satisfy", "boundary", "escalate")

# Line banks every scenario must fill, one per mood of the simulated customer.
MOOD_BANKS: Final[tuple[str, ...]] = ("furious", "angry", "wary", "softening")
# Line banks for the endings and for answering a clarifying question.
REQUIRED_BANKS: Final[tuple[str, ...]] = (
    *MOOD_BANKS,
    "answers",
    "wants",
    "satisfied",
    "gave_up",
    "escalate",
)
# Banks a goal adds: the customer's reply to a boundary, or to being handed on.
GOAL_BANKS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"satisfy": (), "boundary": ("backs_down",), "escalate": ("handed_over",)}
)

# How a customer reacts to what the trainee just did (personas.toml); a scenario
# may add any of them to its lines to override the persona's reaction.
REACTION_BANKS: Final[tuple[str, ...]] = (
    "heard",
    "dismissed",
    "policy",
    "blamed",
    "argued",
    "commanded",
    "mocked",
    "passed_around",
    "hollow",
    "hostile",
    "too_soon",
    "jargon",
    "when",
    "stalled",
)
GOAL_ONLY_BANKS: Final[frozenset[str]] = frozenset({"backs_down", "handed_over"})

STATE_KEYS: Final[tuple[str, ...]] = ("anger", "trust", "patience")
# Drafts made from real conversations mark what a person must still write.
UNFINISHED: Final = "TODO"


class ScenarioError(ValueError):
    """A scenario file (or mapping) that does not describe a playable scenario."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid scenario {source}:\n{listed}")


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    type: str
    description: str


@dataclass(frozen=True, slots=True)
class Offer:
    """Something the trainee might offer, and the words that show they offered it."""

    id: str
    text: str
    cues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Facts:
    what_happened: str
    customer_wants: str
    can_offer: tuple[Offer, ...]
    cannot_offer: tuple[Offer, ...]
    # Names and numbers the lines refer to as {placeholders}: {item}, {order} ...
    details: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))


@dataclass(frozen=True, slots=True)
class StartState:
    anger: int
    trust: int
    patience: int


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    problem: str
    topic: str
    goal: str
    persona: Persona
    situation: str
    facts: Facts
    opening: str
    start: StartState
    lines: Mapping[str, tuple[str, ...]]
    max_turns: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", MappingProxyType(dict(self.lines)))

    def fill(self, template: str) -> str:
        """A line with the scenario's details put into its {placeholders}."""
        return template.format_map(dict(self.facts.details))

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "persona": self.persona.type,
            "persona_name": self.persona.name,
            "problem": self.problem,
            "topic": self.topic,
            "goal": self.goal,
        }


# -- validation ---------------------------------------------------------------


class _Checker:
    """Collects every problem in one pass, so an author fixes a file in one go."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            self.problems.append(f"[{key}] must be a table")
            return {}
        return value

    def text(self, data: Mapping[str, Any], key: str, where: str = "") -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{where}{key} must be a non-empty string")
            return ""
        self.finished(value, f"{where}{key}")
        return value.strip()

    def finished(self, value: str, where: str) -> None:
        if value.lstrip().startswith(UNFINISHED):
            self.problems.append(f"{where} is still a {UNFINISHED} from the draft")

    def choice(
        self, data: Mapping[str, Any], key: str, allowed: Iterable[str], where: str = ""
    ) -> str:
        value = self.text(data, key, where)
        options = tuple(allowed)
        if value and value not in options:
            self.problems.append(f"{where}{key} is {value!r}; expected one of {', '.join(options)}")
        return value

    def number(
        self, data: Mapping[str, Any], key: str, low: int, high: int, where: str = ""
    ) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{where}{key} must be a whole number from {low} to {high}")
            return low
        if not low <= value <= high:
            self.problems.append(f"{where}{key} is {value}; it must be from {low} to {high}")
        return value

    def strings(self, data: Mapping[str, Any], key: str, where: str = "") -> tuple[str, ...]:
        value = data.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(item, str) and item.strip() for item in value)
        ):
            self.problems.append(f"{where}{key} must be a non-empty list of strings")
            return ()
        for item in value:
            self.finished(item, f"{where}{key}")
        return tuple(item.strip() for item in value)

    def offers(self, data: Mapping[str, Any], key: str) -> tuple[Offer, ...]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            self.problems.append(f"facts.{key} must be a non-empty list of offers")
            return ()
        offers: list[Offer] = []
        for index, entry in enumerate(value):
            where = f"facts.{key}[{index}]."
            if not isinstance(entry, Mapping):
                self.problems.append(f"facts.{key}[{index}] must be a table with id, text, cues")
                continue
            cues = tuple(cue.lower() for cue in self.strings(entry, "cues", where))
            offers.append(
                Offer(self.text(entry, "id", where), self.text(entry, "text", where), cues)
            )
        return tuple(offers)


def _placeholders(template: str) -> set[str]:
    from string import Formatter

    try:
        return {name for _, name, _, _ in Formatter().parse(template) if name}
    except ValueError:
        return {"<unbalanced braces>"}


def scenario_from_mapping(data: Mapping[str, Any], *, source: str = "<mapping>") -> Scenario:
    """Build a Scenario from parsed TOML/JSON, or raise ScenarioError listing every problem."""
    check = _Checker()
    scenario_id = check.text(data, "id")
    if scenario_id and not all(ch.isalnum() or ch in "-_" for ch in scenario_id):
        check.problems.append(f"id {scenario_id!r} may hold only letters, digits, - and _")
    title = check.text(data, "title")
    problem = check.choice(data, "problem", PROBLEM_KINDS)
    topic = check.choice(data, "topic", TOPICS)
    goal = check.choice(data, "goal", GOALS)
    situation = check.text(data, "situation")
    opening = check.text(data, "opening")
    max_turns = check.number(data, "max_turns", 3, 20) if "max_turns" in data else 8

    persona_data = check.table(data, "persona")
    persona_types = tuple(t for t in CUSTOMER_TYPES if t != "none")
    persona = Persona(
        name=check.text(persona_data, "name", "persona."),
        type=check.choice(persona_data, "type", persona_types, "persona."),
        description=check.text(persona_data, "description", "persona."),
    )

    facts_data = check.table(data, "facts")
    details_data = facts_data.get("details", {})
    details: dict[str, str] = {}
    if not isinstance(details_data, Mapping) or not all(
        isinstance(value, str) for value in details_data.values()
    ):
        check.problems.append("facts.details must be a table of strings")
    else:
        details = {str(key): value for key, value in details_data.items()}
    facts = Facts(
        what_happened=check.text(facts_data, "what_happened", "facts."),
        customer_wants=check.text(facts_data, "customer_wants", "facts."),
        can_offer=check.offers(facts_data, "can_offer"),
        cannot_offer=check.offers(facts_data, "cannot_offer"),
        details=details,
    )

    start_data = check.table(data, "start")
    start = StartState(*(check.number(start_data, key, 0, 100, "start.") for key in STATE_KEYS))

    lines_data = check.table(data, "lines")
    needed = (*REQUIRED_BANKS, *GOAL_BANKS.get(goal, ()))
    lines: dict[str, tuple[str, ...]] = {}
    for bank in needed:
        lines[bank] = check.strings(lines_data, bank, "lines.")
    known = {*REQUIRED_BANKS, *REACTION_BANKS, *GOAL_ONLY_BANKS}
    for bank in lines_data:
        if bank in lines:
            continue
        if bank not in known:
            check.problems.append(
                f"lines.{bank} is not a line bank; use one of {', '.join(sorted(known))}"
            )
            continue
        lines[bank] = check.strings(lines_data, bank, "lines.")
    for bank, templates in lines.items():
        for template in (*templates, opening):
            unknown = _placeholders(template) - details.keys()
            if unknown:
                check.problems.append(
                    f"lines.{bank}: placeholder(s) {', '.join(sorted(unknown))} "
                    "not defined in [facts.details]"
                )
                break

    if check.problems:
        raise ScenarioError(source, check.problems)
    return Scenario(
        id=scenario_id,
        title=title,
        problem=problem,
        topic=topic,
        goal=goal,
        persona=persona,
        situation=situation,
        facts=facts,
        opening=opening,
        start=start,
        lines=lines,
        max_turns=max_turns,
    )


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate one scenario file."""
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(file), [f"cannot be read: {exc.strerror or exc}"]) from exc
    return scenario_from_toml(raw, source=str(file))


def scenario_from_toml(raw: str, *, source: str = "<toml>") -> Scenario:
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [f"is not valid TOML: {exc}"]) from exc
    return scenario_from_mapping(data, source=source)


def load_scenarios(directory: Path | str | None = None) -> tuple[Scenario, ...]:
    """Every scenario in `directory` (the shipped ones by default), ordered by id.

    Two files with the same id are an error: ids are how trainees and scripts name them.
    """
    if directory is None:
        root = resources.files("calmdesk.training") / "scenarios"
        texts = [
            (entry.name, entry.read_text(encoding="utf-8"))
            for entry in root.iterdir()
            if entry.name.endswith(".toml")
        ]
        scenarios = [scenario_from_toml(text, source=name) for name, text in texts]
    else:
        scenarios = [load_scenario(path) for path in sorted(Path(directory).glob("*.toml"))]
    seen: dict[str, int] = {}
    for scenario in scenarios:
        seen[scenario.id] = seen.get(scenario.id, 0) + 1
    duplicates = sorted(name for name, count in seen.items() if count > 1)
    if duplicates:
        raise ScenarioError(
            str(directory or "shipped scenarios"), [f"duplicate id {d!r}" for d in duplicates]
        )
    return tuple(sorted(scenarios, key=lambda scenario: scenario.id))


def find_scenario(scenario_id: str, scenarios: Iterable[Scenario] | None = None) -> Scenario:
    """The scenario with this id, or a KeyError that lists the ids there are."""
    available = tuple(load_scenarios() if scenarios is None else scenarios)
    for scenario in available:
        if scenario.id == scenario_id:
            return scenario
    names = ", ".join(scenario.id for scenario in available)
    raise KeyError(f"no scenario {scenario_id!r}; there are: {names}")

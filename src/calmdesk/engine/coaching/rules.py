"""Coach rules are data: `rules/*.toml`, loaded once with importlib.resources and validated.

A rule record carries its id, kind, severity, the detector that applies it, its patterns
(regular expressions over normalised text: lower case, straight quotes), the patterns that
cancel a match in the same sentence, its plain-words explanation, rewrites, and its own good
and bad examples (run by one test). Patterns may use the macros of `rules/macros.toml`
written as `{NAME}`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from calmdesk.engine.coaching.types import (
    AVOID_RULES,
    BLOCKING_RULES,
    GOOD_RULES,
    PLAYBOOK_STAGES,
    SEVERITIES,
    Kind,
    Severity,
)

DETECTORS: Final[frozenset[str]] = frozenset(
    {
        "pattern",
        "hollow_sympathy",
        "solution_before_acknowledgement",
        "no_next_step",
        "jargon",
        "long_sentences",
        "mirroring_hostility",
        "other_customer_data",
        "clarifying_question",
        "paraphrase",
        "next_step",
    }
)
SPAN_MODES: Final[frozenset[str]] = frozenset({"match", "sentence"})

# Unbounded "anything" runs invite slow back-tracking on long drafts; rules use bounded
# gaps such as [^.!?\n]{0,40} or the {GAP} macro instead.
_UNBOUNDED: Final = re.compile(r"(?<!\\)\.[*+]|\[\^[^\]]*\][*+]")
_MACRO: Final = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_PLACEHOLDER: Final = re.compile(r"\{(after|sentence|match)\}")


class RuleError(ValueError):
    """A rule file does not follow the schema; the message names the file and rule."""


@dataclass(frozen=True, slots=True)
class Example:
    draft: str
    customer: str | None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: Kind
    severity: Severity
    detector: str
    span: str
    explanation: str
    rewrites: tuple[str, ...]
    pattern: re.Pattern[str] | None
    exception: re.Pattern[str] | None
    suppressed_by: tuple[str, ...]
    params: Mapping[str, float]
    good_examples: tuple[Example, ...]
    bad_examples: tuple[Example, ...]
    source: str

    def param(self, name: str, default: float) -> float:
        return float(self.params.get(name, default))


@dataclass(frozen=True, slots=True)
class StageText:
    name: str
    title: str
    todo: str
    missed: str
    done: str


@dataclass(frozen=True, slots=True)
class RuleBook:
    rules: Mapping[str, Rule]
    stages: Mapping[str, StageText]
    macros: Mapping[str, str]

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]


def _expand(pattern: str, macros: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise RuleError(f"{where}: unknown macro {{{name}}}")
        return macros[name]

    return _MACRO.sub(replace, pattern)


def _compile(patterns: Sequence[str], macros: Mapping[str, str], where: str) -> re.Pattern[str]:
    parts: list[str] = []
    for raw in patterns:
        if not isinstance(raw, str) or not raw.strip():
            raise RuleError(f"{where}: patterns must be non-empty strings")
        expanded = _expand(raw, macros, where)
        if _UNBOUNDED.search(raw):
            raise RuleError(f"{where}: unbounded run in {raw!r}; use a bounded gap")
        bare = _MACRO.sub("", re.sub(r"\\[A-Za-z]", "", raw))
        if bare != bare.lower():
            raise RuleError(f"{where}: patterns match normalised (lower-case) text: {raw!r}")
        try:
            re.compile(expanded)
        except re.error as exc:
            raise RuleError(f"{where}: bad pattern {raw!r}: {exc}") from exc
        parts.append(f"(?:{expanded})")
    return re.compile("|".join(parts))


def _examples(raw: Any, where: str) -> tuple[Example, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise RuleError(f"{where}: needs at least two examples")
    examples: list[Example] = []
    for item in raw:
        if isinstance(item, str):
            examples.append(Example(item, None))
        elif isinstance(item, dict) and isinstance(item.get("draft"), str):
            customer = item.get("customer")
            if customer is not None and not isinstance(customer, str):
                raise RuleError(f"{where}: example customer must be text")
            examples.append(Example(item["draft"], customer))
        else:
            raise RuleError(f"{where}: an example is a string or {{draft, customer}}")
    return tuple(examples)


_RULE_KEYS: Final[frozenset[str]] = frozenset(
    {
        "id",
        "kind",
        "severity",
        "detector",
        "span",
        "explanation",
        "rewrites",
        "patterns",
        "exceptions",
        "suppressed_by",
        "params",
        "good_examples",
        "bad_examples",
    }
)


def _rule(raw: Mapping[str, Any], macros: Mapping[str, str], source: str) -> Rule:
    rule_id = raw.get("id")
    where = f"{source} rule {rule_id!r}"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
    if rule_id not in AVOID_RULES and rule_id not in GOOD_RULES:
        raise RuleError(f"{where}: not a rule id of the shared vocabulary")
    kind = raw.get("kind")
    expected_kind = "good" if rule_id in GOOD_RULES else "avoid"
    if kind != expected_kind:
        raise RuleError(f"{where}: kind must be {expected_kind!r}")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {SEVERITIES}")
    if (severity == "blocking") != (rule_id in BLOCKING_RULES):
        raise RuleError(f"{where}: exactly the rules {sorted(BLOCKING_RULES)} are blocking")
    if (severity == "info") != (kind == "good"):
        raise RuleError(f"{where}: good rules have severity 'info', avoid rules do not")
    detector = raw.get("detector", "pattern")
    if detector not in DETECTORS:
        raise RuleError(f"{where}: unknown detector {detector!r}")
    span = raw.get("span", "match")
    if span not in SPAN_MODES:
        raise RuleError(f"{where}: span must be one of {sorted(SPAN_MODES)}")
    explanation = raw.get("explanation")
    if not isinstance(explanation, str) or len(explanation.split()) < 6:
        raise RuleError(f"{where}: needs a plain explanation (a sentence or more)")
    rewrites = tuple(raw.get("rewrites", ()))
    if any(not isinstance(item, str) or not item.strip() for item in rewrites):
        raise RuleError(f"{where}: rewrites are non-empty strings")
    for item in rewrites:
        for name in re.findall(r"\{(\w+)\}", item):
            if not _PLACEHOLDER.fullmatch("{" + name + "}"):
                raise RuleError(f"{where}: unknown placeholder {{{name}}} in a rewrite")
    if kind == "avoid" and not any("{" not in item for item in rewrites):
        raise RuleError(f"{where}: avoid rules need a rewrite that needs no placeholder")
    patterns = raw.get("patterns", [])
    if detector == "pattern" and not patterns:
        raise RuleError(f"{where}: a pattern rule needs patterns")
    exceptions = raw.get("exceptions", [])
    suppressed_by = tuple(raw.get("suppressed_by", ()))
    for other in suppressed_by:
        if other not in AVOID_RULES and other not in GOOD_RULES:
            raise RuleError(f"{where}: suppressed_by names unknown rule {other!r}")
    params = raw.get("params", {})
    if not isinstance(params, dict) or any(
        not isinstance(value, int | float) for value in params.values()
    ):
        raise RuleError(f"{where}: params are numbers")
    return Rule(
        id=rule_id,
        kind=kind,
        severity=severity,
        detector=detector,
        span=span,
        explanation=" ".join(explanation.split()),
        rewrites=rewrites,
        pattern=_compile(patterns, macros, where) if patterns else None,
        exception=_compile(exceptions, macros, where + " exceptions") if exceptions else None,
        suppressed_by=suppressed_by,
        params=dict(params),
        good_examples=_examples(raw.get("good_examples"), where + " good_examples"),
        bad_examples=_examples(raw.get("bad_examples"), where + " bad_examples"),
        source=source,
    )


def _stages(raw: Any, source: str) -> dict[str, StageText]:
    stages: dict[str, StageText] = {}
    if not isinstance(raw, list):
        raise RuleError(f"{source}: [[stage]] records expected")
    for item in raw:
        name = item.get("name")
        if name not in PLAYBOOK_STAGES:
            raise RuleError(f"{source}: unknown playbook stage {name!r}")
        texts = {key: item.get(key) for key in ("title", "todo", "missed", "done")}
        if any(not isinstance(value, str) or not value.strip() for value in texts.values()):
            raise RuleError(f"{source}: stage {name!r} needs title, todo, missed and done")
        stages[name] = StageText(name=name, **{k: " ".join(v.split()) for k, v in texts.items()})
    return stages


def load_rulebook(files: Mapping[str, str]) -> RuleBook:
    """Build a RuleBook from TOML texts keyed by file name (validated; raises RuleError)."""
    macros: dict[str, str] = {}
    parsed: dict[str, dict[str, Any]] = {}
    for name, text in sorted(files.items()):
        try:
            parsed[name] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(f"{name}: {exc}") from exc
        for key, value in parsed[name].get("macros", {}).items():
            if not isinstance(value, str):
                raise RuleError(f"{name}: macro {key} must be a string")
            macros[key] = value
    # Macros may use earlier macros; expand until stable (bounded by the macro count).
    for _ in range(len(macros)):
        macros = {key: _expand(value, macros, "macros") for key, value in macros.items()}
    rules: dict[str, Rule] = {}
    stages: dict[str, StageText] = {}
    for name, data in parsed.items():
        for raw in data.get("rule", []):
            rule = _rule(raw, macros, name)
            if rule.id in rules:
                raise RuleError(f"{name}: rule {rule.id!r} defined twice")
            rules[rule.id] = rule
        if "stage" in data:
            stages.update(_stages(data["stage"], name))
    missing = [rule_id for rule_id in AVOID_RULES + GOOD_RULES if rule_id not in rules]
    if missing:
        raise RuleError(f"rules missing: {missing}")
    missing_stages = [stage for stage in PLAYBOOK_STAGES if stage not in stages]
    if missing_stages:
        raise RuleError(f"playbook stages missing: {missing_stages}")
    return RuleBook(rules=rules, stages=stages, macros=macros)


@cache
def rulebook() -> RuleBook:
    """The packaged rules, loaded and compiled once per process."""
    folder = resources.files("calmdesk.engine.coaching") / "rules"
    files = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }
    return load_rulebook(files)

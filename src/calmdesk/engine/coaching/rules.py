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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import chain
from typing import Any, Final

from calmdesk.engine.coaching.gate import Gate, Phrases, draft_words, gate_for
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
# A named group, "(?P<cap1>...)": its name is not matched text, so it may use any case.
_NAMED_GROUP: Final = re.compile(r"\(\?P<\w+>")


_NON_WORD: Final = re.compile(r"[^\w]|_")

# Chat drafts drop the apostrophe of a contraction ("dont", "cant", "im", "youre", "thats",
# "ive"); every pattern accepts those spellings too. Only contractions whose apostrophe-less
# form is not an ordinary word are widened: "we'll", "we're", "i'll", "i'd", "we'd", "he'll"
# ("well", "were", "ill", "id", "wed", "hell") keep their apostrophe.
_WORD_BEFORE: Final = r"(?:(?<![a-z])|(?<=\\b))"
_DROPPABLE_APOSTROPHES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"(?<=[a-z])n't"), "n'?t"),
    (re.compile(_WORD_BEFORE + r"i'm\b"), "i'?m"),
    (re.compile(_WORD_BEFORE + r"(you|they)'(re|ll|d)\b"), r"\1'?\2"),
    (re.compile(_WORD_BEFORE + r"(that|what|it|there|here|who)'s\b"), r"\1'?s"),
    (re.compile(_WORD_BEFORE + r"(you|they)\(\?:'(re|ll|d)\b"), r"\1(?:'?\2"),
    (re.compile(r"'ve(?![a-z])"), "'?ve"),
)


def _tolerate_dropped_apostrophes(pattern: str) -> str:
    for contraction, optional in _DROPPABLE_APOSTROPHES:
        pattern = contraction.sub(optional, pattern)
    return pattern.replace("'??", "'?")


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
    # All phrasings in one pattern, as source: compiled on first use of `pattern`, because
    # only a few rules are ever matched that way (drafts are scanned phrasing by phrasing)
    # and compiling them all was about 40% of the rule book's load time.
    pattern_source: str | None
    start_pattern: re.Pattern[str] | None
    gated: tuple[GatedPattern, ...]
    exception: re.Pattern[str] | None
    suppressed_by: tuple[str, ...]
    params: Mapping[str, float]
    good_examples: tuple[Example, ...]
    bad_examples: tuple[Example, ...]
    source: str

    def param(self, name: str, default: float) -> float:
        return float(self.params.get(name, default))

    @property
    def pattern(self) -> re.Pattern[str] | None:
        """All the rule's phrasings in one compiled pattern, for short texts."""
        return None if self.pattern_source is None else _compiled(self.pattern_source)


@cache
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source)


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
    gates: GateIndex

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]


@dataclass(frozen=True, slots=True)
class GateIndex:
    """Every phrasing's gate, inverted: from a word, a word pair or a fragment to the
    phrasings it opens (by their number: rules in order, each rule's phrasings in order), so
    a draft costs one lookup per word and per word pair instead of one check per phrasing."""

    by_word: Mapping[str, tuple[int, ...]]
    by_pair: Mapping[str, tuple[int, ...]]
    # First word -> the letter after "word " -> (two-word start, phrasings) for the pairs
    # whose second word is known only by its beginning ("your acc").
    partial_by_word: Mapping[str, Mapping[str, tuple[tuple[str, tuple[int, ...]], ...]]]
    by_fragment: tuple[tuple[str, int, Phrases | None], ...]
    always: frozenset[int]
    # The phrasing of each number, and the id of its rule.
    phrasings: tuple[tuple[str, GatedPattern], ...] = ()

    @classmethod
    def build(cls, rules: Iterable[Rule]) -> GateIndex:
        by_word: dict[str, list[int]] = {}
        by_pair: dict[str, list[int]] = {}
        partial_by_word: dict[str, list[tuple[str, int]]] = {}
        by_fragment: list[tuple[str, int, Phrases | None]] = []
        always: set[int] = set()
        phrasings: list[tuple[str, GatedPattern]] = []
        for rule in rules:
            for gated in rule.gated:
                key = len(phrasings)
                phrasings.append((rule.id, gated))
                if gated.gate.always:
                    always.add(key)
                    continue
                for word, phrases in gated.gate.firsts.items():
                    if phrases is None:
                        by_word.setdefault(word, []).append(key)
                        continue
                    for pair in phrases.pairs:
                        by_pair.setdefault(pair, []).append(key)
                    for phrase in phrases.partial:
                        partial_by_word.setdefault(word, []).append((phrase, key))
                for fragment, phrases in gated.gate.fragments:
                    by_fragment.append((fragment, key, phrases))
        return cls(
            by_word={word: tuple(keys) for word, keys in by_word.items()},
            by_pair={pair: tuple(keys) for pair, keys in by_pair.items()},
            partial_by_word={
                word: _by_next_letter(word, items) for word, items in partial_by_word.items()
            },
            by_fragment=tuple(by_fragment),
            always=frozenset(always),
            phrasings=tuple(phrasings),
        )

    def open_by_rule(self, text: str) -> dict[str, tuple[GatedPattern, ...]]:
        """The phrasings that may match normalised `text`, by rule id, each rule's in its
        order (rules with none are left out). Grouped once per draft, so that scanning a
        rule walks only its open phrasings, not all of its phrasings."""
        by_rule: dict[str, list[GatedPattern]] = {}
        phrasings = self.phrasings
        for key in sorted(self.open(text)):
            rule_id, gated = phrasings[key]
            by_rule.setdefault(rule_id, []).append(gated)
        return {rule_id: tuple(gated) for rule_id, gated in by_rule.items()}

    def open(self, text: str) -> frozenset[int]:
        """Numbers of the phrasings that may match normalised `text`."""
        words, pairs = draft_words(text)
        opened = set(self.always)
        by_word, partial_by_word, by_pair = self.by_word, self.partial_by_word, self.by_pair
        last = len(text) - 1
        for word in words:
            opened.update(by_word.get(word, ()))
            partial = partial_by_word.get(word)
            if partial is None:
                continue
            # A two-word start is in the text where "word " is followed by it: one find per
            # occurrence of "word " and a look at the next letter, instead of a search of the
            # whole text for each of a common word's dozens of two-word starts.
            lead = word + " "
            at = text.find(lead)
            while 0 <= at < last - len(word):
                for phrase, keys in partial.get(text[at + len(lead)], ()):
                    if text.startswith(phrase, at):
                        opened.update(keys)
                at = text.find(lead, at + 1)
        for pair in pairs:
            opened.update(by_pair.get(pair, ()))
        for fragment, key, phrases in self.by_fragment:
            if (
                key not in opened
                and fragment in text
                and (phrases is None or phrases.found(pairs, text))
            ):
                opened.add(key)
        return frozenset(opened)


def _by_next_letter(
    word: str, items: list[tuple[str, int]]
) -> dict[str, tuple[tuple[str, tuple[int, ...]], ...]]:
    """Two-word starts of `word` ("word x...") with their phrasings, by the letter after the
    space."""
    keys: dict[str, list[int]] = {}
    for phrase, key in items:
        keys.setdefault(phrase, []).append(key)
    table: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for phrase, phrase_keys in keys.items():
        table.setdefault(phrase[len(word) + 1], []).append((phrase, tuple(phrase_keys)))
    return {letter: tuple(entries) for letter, entries in table.items()}


def _expand(pattern: str, macros: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise RuleError(f"{where}: unknown macro {{{name}}}")
        return macros[name]

    return _MACRO.sub(replace, pattern)


# Patterns that begin at a sentence start ({S}) or clause start ({C}) are not scanned over the
# whole draft (a look-behind tried at every character is slow): they are matched at each
# sentence start, and after a comma, semicolon, colon or dash through an ordinary scan.
_AFTER_PUNCTUATION: Final[dict[str, str]] = {"S": r"[;:]\s+", "C": r"(?:[,;:]|\s-)\s+"}
# The `word_starts` key of the places each anchor begins at (SENTENCE_MARK, CLAUSE_MARK).
_MARK_OF_ANCHOR: Final[dict[str, str]] = {"S": ";", "C": ","}


@dataclass(frozen=True, slots=True)
class GatedPattern:
    """One phrasing, compiled, with the cheap check that says when it is worth running.

    `word_start` means the pattern began with \\b before a word character; the \\b is
    checked in code instead, because a leading \\b stops `re` from skipping quickly to
    candidate positions (measured 3-4x slower on a 600-character reply).
    """

    regex: re.Pattern[str]
    gate: Gate
    word_start: bool
    # For a word-start phrasing with a gate: the first words (and word prefixes) its gate
    # lists, which every match begins with, and their first one or two letters, the keys
    # of `word_starts` (no key is a prefix of another, so no word start is listed twice).
    leads: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    # For a phrasing anchored after punctuation ({S} or {C}): the `word_starts` key of the
    # places its matches begin at (a ";" or ":", or also a "," or a space before "-").
    mark: str = ""

    def finditer(
        self, text: str, starts: Mapping[str, list[int]] | None = None
    ) -> Iterator[re.Match[str]]:
        """Matches in `text`, left to right, not overlapping. `starts` is `word_starts(text)`:
        with it a gated word-start phrasing is only tried where one of its leads begins."""
        if not self.word_start:
            if starts is not None and self.mark:
                yield from self._at_marks(text, starts.get(self.mark, ()))
            else:
                yield from self.regex.finditer(text)
            return
        if starts is not None and self.leads:
            yield from self._at_leads(text, starts)
            return
        position = 0
        search = self.regex.search
        while (match := search(text, position)) is not None:
            start = match.start()
            before = text[start - 1] if start else " "
            if before.isalnum() or before == "_":
                # Inside a word: no match can start before the word ends.
                word_end = _NON_WORD.search(text, start)
                position = word_end.start() if word_end is not None else len(text)
                continue
            yield match
            position = match.end() if match.end() > start else start + 1

    def _at_leads(self, text: str, starts: Mapping[str, list[int]]) -> Iterator[re.Match[str]]:
        """The loop above, trying only the word starts where a lead begins: `re` otherwise
        tries a phrasing at every character, and most open with an optional or alternated
        group ("(?:an? |the )?(?:engineer|...)") that it cannot skip ahead to. The same
        matches: each match begins at a word start with a lead (which is how the gate was
        derived), and they are tried in order from where the last match ended."""
        if len(self.heads) == 1:
            candidates = starts.get(self.heads[0], ())
        else:
            candidates = sorted(chain.from_iterable(starts.get(head, ()) for head in self.heads))
        position = 0
        leads, startswith, match_at = self.leads, text.startswith, self.regex.match
        for start in candidates:
            if start < position or not startswith(leads, start):
                continue
            match = match_at(text, start)
            if match is not None:
                yield match
                position = match.end() if match.end() > start else start + 1

    def _at_marks(self, text: str, marks: Iterable[int]) -> Iterator[re.Match[str]]:
        """`regex.finditer(text)` for an anchored phrasing, tried only at the punctuation its
        matches begin with: the anchor's alternation ("(?:[,;:]|\\s-)") keeps `re` from
        skipping ahead, so it is otherwise tried at every character. Matches are never
        empty (they begin with the mark), so the next is looked for from the last one's end,
        as finditer does."""
        position = 0
        match_at = self.regex.match
        for start in marks:
            if start < position:
                continue
            match = match_at(text, start)
            if match is not None:
                yield match
                position = match.end()


# A word start: a word character after a non-word character or at the text's start (what
# GatedPattern checks before a word-start phrasing's match).
_WORD_START: Final = re.compile(r"\b\w")
# Where an anchored phrasing's match may begin (the first part of each _AFTER_PUNCTUATION),
# and the `word_starts` keys of those places: no word start's key is punctuation.
_MARK: Final = re.compile(r"[,;:]|\s-")
SENTENCE_MARK: Final = ";"  # a ";" or ":"
CLAUSE_MARK: Final = ","  # a ",", ";" or ":", or a white space before "-"


def word_starts(text: str) -> dict[str, list[int]]:
    """Every word start of normalised `text`, in order, under its first letter and under its
    first two letters (see GatedPattern.heads); and the places an anchored phrasing may begin
    at, under SENTENCE_MARK and CLAUSE_MARK."""
    index: dict[str, list[int]] = {}
    end = len(text) - 1
    for found in _WORD_START.finditer(text):
        start = found.start()
        index.setdefault(text[start], []).append(start)
        if start < end:
            index.setdefault(text[start : start + 2], []).append(start)
    clause: list[int] = []
    sentence: list[int] = []
    for found in _MARK.finditer(text):
        start = found.start()
        clause.append(start)
        if text[start] in ";:":
            sentence.append(start)
    index[CLAUSE_MARK] = clause
    index[SENTENCE_MARK] = sentence
    return index


def _leads(gate: Gate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A gate's first words and word prefixes, and the `word_starts` keys they begin with."""
    if gate.always:
        return (), ()
    leads = sorted({*gate.firsts, *(fragment for fragment, _ in gate.fragments)})
    single = {lead for lead in leads if len(lead) == 1}
    heads = single | {lead[:2] for lead in leads if len(lead) > 1 and lead[0] not in single}
    return tuple(leads), tuple(sorted(heads))


@dataclass(frozen=True, slots=True)
class Compiled:
    anywhere: str | None  # all phrasings in one pattern (source), for short texts
    at_start: re.Pattern[str] | None  # phrasings that start a sentence
    gated: tuple[GatedPattern, ...]  # each phrasing on its own, for scanning a whole draft


def _compile(patterns: Sequence[str], macros: Mapping[str, str], where: str) -> Compiled:
    anywhere: list[str] = []
    at_start: list[str] = []
    gated: list[GatedPattern] = []
    group_names: set[str] = set()
    for raw in patterns:
        if not isinstance(raw, str) or not raw.strip():
            raise RuleError(f"{where}: patterns must be non-empty strings")
        anchor = raw[1] if raw.startswith(("{S}", "{C}")) else ""
        body = raw[3:] if anchor else raw
        if "{S}" in body or "{C}" in body:
            raise RuleError(f"{where}: {{S}} and {{C}} may only start a pattern: {raw!r}")
        expanded = _tolerate_dropped_apostrophes(_expand(body, macros, where))
        if _UNBOUNDED.search(raw):
            raise RuleError(f"{where}: unbounded run in {raw!r}; use a bounded gap")
        bare = _MACRO.sub("", _NAMED_GROUP.sub("(", re.sub(r"\\[A-Za-z]", "", raw)))
        if bare != bare.lower():
            raise RuleError(f"{where}: patterns match normalised (lower-case) text: {raw!r}")
        # Each phrasing is compiled once, in the form it is scanned with (compiling is most of
        # the rule book's load time); an anchored one is checked on its own first, because
        # wrapping it in a group could hide an unbalanced parenthesis.
        try:
            if anchor:
                re.compile(expanded)
            gate = gate_for(expanded)
            if anchor:
                at_start.append(f"(?:{expanded})")
                after_punctuation = f"{_AFTER_PUNCTUATION[anchor]}(?:{expanded})"
                anywhere.append(after_punctuation)
                gated.append(
                    GatedPattern(
                        re.compile(after_punctuation), gate, False, mark=_MARK_OF_ANCHOR[anchor]
                    )
                )
            else:
                anywhere.append(f"(?:{expanded})")
                word_start = (
                    expanded.startswith("\\b")
                    and not gate.always
                    and all(word[:1].isalnum() for word in gate.firsts)
                    and all(fragment[:1].isalnum() for fragment, _ in gate.fragments)
                )
                body = expanded[2:] if word_start else expanded
                leads, heads = _leads(gate) if word_start else ((), ())
                gated.append(GatedPattern(re.compile(body), gate, word_start, leads, heads))
        except re.error as exc:
            raise RuleError(f"{where}: bad pattern {raw!r}: {exc}") from exc
        # The phrasings are joined into one pattern (compiled on first use), where a group name
        # may appear once only.
        for name in gated[-1].regex.groupindex:
            if name in group_names:
                raise RuleError(f"{where}: group name {name!r} used in two phrasings: {raw!r}")
            group_names.add(name)
    return Compiled(
        anywhere="|".join(anywhere) if anywhere else None,
        at_start=re.compile("|".join(at_start)) if at_start else None,
        gated=tuple(gated),
    )


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
    compiled = _compile(patterns, macros, where) if patterns else Compiled(None, None, ())
    exception = None
    if exceptions:
        compiled_exceptions = _compile(exceptions, macros, where + " exceptions")
        if compiled_exceptions.at_start is not None:
            raise RuleError(f"{where}: exceptions apply to a whole sentence; no {{S}} or {{C}}")
        exception = (
            _compiled(compiled_exceptions.anywhere) if compiled_exceptions.anywhere else None
        )
    return Rule(
        id=rule_id,
        kind=kind,
        severity=severity,
        detector=detector,
        span=span,
        explanation=" ".join(explanation.split()),
        rewrites=rewrites,
        pattern_source=compiled.anywhere,
        start_pattern=compiled.at_start,
        gated=compiled.gated,
        exception=exception,
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
    return RuleBook(
        rules=rules, stages=stages, macros=macros, gates=GateIndex.build(rules.values())
    )


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

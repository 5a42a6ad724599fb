"""Cheap pre-checks that let most rule patterns skip a draft without running the regex.

Python's `re` tries every alternative at every character, so hundreds of phrasings over a
reply cost milliseconds. Most phrasings start with a literal word ("obviously", "you need
to"), so each pattern gets, at load time, the set of words it can start with: the regex only
runs when one of those words is in the draft (a set lookup), or, for a word prefix such as
"frustrat", when the prefix occurs in the text. Patterns whose start cannot be worked out
always run. The gate never changes what matches, only how often the regex is tried.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

try:  # the parser is internal to `re`; without it every pattern simply always runs
    from re import _constants as sre_constants  # type: ignore[attr-defined,unused-ignore]
    from re import _parser as sre_parser  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover - other Python versions
    sre_parser = None
    sre_constants = None

_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789'")
# Beyond this many distinct leading words a pattern is cheaper to just run.
_MAX_LEADS: Final = 400
_MAX_PREFIX: Final = 14
_STOP: Final = "stop"
_TOKEN: Final = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
# Possessive and anchored at a token start, so a very long word is read once, not once
# per character.
_PAIR: Final = re.compile(
    r"(?<![a-z0-9'])([a-z0-9]++(?:'[a-z0-9]++)*+) (?=([a-z0-9]++(?:'[a-z0-9]++)*+))"
)


class _TooComplex(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Phrases:
    """Two-word starts: whole word pairs (looked up in the draft's pairs) and pairs whose
    second word is known only by its beginning (looked for in the text)."""

    pairs: frozenset[str]
    partial: tuple[str, ...]

    def found(self, pairs: frozenset[str], text: str) -> bool:
        if not self.pairs.isdisjoint(pairs):
            return True
        return any(phrase in text for phrase in self.partial)


@dataclass(frozen=True, slots=True)
class Gate:
    """What must occur in a draft for a pattern to have a chance of matching.

    `firsts` maps a whole first word to the two-word starts that can follow it (None: the
    word alone is enough); `fragments` does the same for first words known only by a prefix.
    """

    firsts: Mapping[str, Phrases | None]
    fragments: tuple[tuple[str, Phrases | None], ...]
    always: bool


ALWAYS: Final = Gate({}, (), True)


def draft_words(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """Words of normalised text (also split at apostrophes: "i'm" gives i'm, i, m) and the
    pairs of words written with exactly one space between them."""
    tokens = _TOKEN.findall(text)
    words = set(tokens)
    for token in tokens:
        if "'" in token:
            words.update(token.split("'"))
    pairs = {f"{first} {second}" for first, second in _PAIR.findall(text)}
    return frozenset(words), frozenset(pairs)


def _expand(
    stack: tuple[tuple[list[Any], int], ...], prefix: str, out: set[tuple[str, bool]]
) -> None:
    c = sre_constants
    while stack:
        if len(out) > _MAX_LEADS:
            raise _TooComplex
        items, index = stack[-1]
        if index >= len(items):
            stack = stack[:-1]
            continue
        op, av = items[index]
        following = (*stack[:-1], (items, index + 1))
        if op == _STOP:
            break
        if op is c.AT:
            if av in (c.AT_BOUNDARY, c.AT_END, c.AT_END_STRING) and prefix:
                out.add((prefix, True))
                return
            stack = following
            continue
        if op in (c.ASSERT, c.ASSERT_NOT):
            stack = following
            continue
        if op is c.LITERAL:
            char = chr(av)
            if char in _WORD_CHARS and len(prefix) < _MAX_PREFIX:
                prefix += char
                stack = following
                continue
            if char == " " and prefix and " " not in prefix:
                # Keep going into the second word: "you need" is rarer than "you".
                prefix += char
                stack = following
                continue
            if not prefix:
                raise _TooComplex
            out.add((prefix, char not in _WORD_CHARS))
            return
        if op is c.SUBPATTERN:
            stack = (*following, (list(av[-1]), 0))
            continue
        if op is c.BRANCH:
            for alternative in av[1]:
                _expand((*following, (list(alternative), 0)), prefix, out)
            return
        if op is c.IN and 0 < len(av) <= 6 and all(kind is c.LITERAL for kind, _ in av):
            for _, code in av:
                _expand((*following, ([(c.LITERAL, code)], 0)), prefix, out)
            return
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, high, item = av
            if low == 0:
                _expand(following, prefix, out)
            if high == 1:
                # An optional piece ("'?" in "don'?t", "(?:very )?"): one repetition is all
                # there can be, so what follows it is known.
                _expand((*following, (list(item), 0)), prefix, out)
            elif high != 0:
                # One repetition, then stop: what follows more repetitions is unknown.
                _expand(((([(_STOP, None)]), 0), (list(item), 0)), prefix, out)
            return
        break  # a class, a category, "any character"...: the word goes on unknown
    if not prefix:
        raise _TooComplex
    out.add((prefix, False))


def gate_for(pattern: str) -> Gate:
    """The gate of one (macro-expanded) pattern; ALWAYS when its start is not literal."""
    if sre_parser is None or sre_constants is None:
        return ALWAYS
    try:
        parsed = sre_parser.parse(pattern)
        leads: set[tuple[str, bool]] = set()
        _expand(((list(parsed), 0),), "", leads)
    except (_TooComplex, RecursionError, re.error, AttributeError, TypeError, ValueError):
        return ALWAYS
    if not leads:
        return ALWAYS
    # first word -> None (the word alone opens the gate) or its two-word starts
    firsts: dict[str, tuple[set[str], set[str]] | None] = {}
    fragments: dict[str, tuple[set[str], set[str]] | None] = {}
    for prefix, whole in leads:
        first, space, second = prefix.partition(" ")
        table = firsts if (whole or space) else fragments
        if first in table and table[first] is None:
            continue
        if not second:
            table[first] = None
            continue
        entry = table.setdefault(first, (set(), set()))
        assert entry is not None
        (entry[0] if whole else entry[1]).add(prefix)

    def frozen(value: tuple[set[str], set[str]] | None) -> Phrases | None:
        return None if value is None else Phrases(frozenset(value[0]), tuple(sorted(value[1])))

    return Gate(
        firsts={word: frozen(value) for word, value in firsts.items()},
        fragments=tuple((word, frozen(value)) for word, value in sorted(fragments.items())),
        always=False,
    )


@dataclass(frozen=True, slots=True)
class LeadScan:
    """A pattern scanned only where one of its leading words begins.

    For a pattern whose start `re` cannot skip ahead to (optional groups first, as in
    "(?:(next|this)\\s+)?(?:today|monday...)"), `re` tries it at every character. Every
    match begins with one of the first words or word prefixes of its gate, so `finder`, an
    alternation of those (which `re` does skip ahead to), finds the only places worth
    trying. Results are those of the plain pattern: a pattern whose gate is ALWAYS (or
    on a Python without the parser) is scanned as it is.
    """

    regex: re.Pattern[str]
    finder: re.Pattern[str] | None

    @classmethod
    def of(cls, regex: re.Pattern[str]) -> LeadScan:
        gate = gate_for(regex.pattern)
        leads = {*gate.firsts, *(fragment for fragment, _ in gate.fragments)}
        if gate.always or not leads or regex.flags & re.IGNORECASE:
            return cls(regex, None)
        return cls(regex, re.compile("|".join(re.escape(lead) for lead in sorted(leads))))

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """`regex.finditer(text)`: leftmost matches, each looked for from the last one's end
        (no match is empty, as each begins with a lead)."""
        if self.finder is None:
            yield from self.regex.finditer(text)
            return
        find, match_at = self.finder.search, self.regex.match
        position = 0
        while (lead := find(text, position)) is not None:
            start = lead.start()
            match = match_at(text, start)
            if match is None:
                position = start + 1
                continue
            yield match
            position = match.end() if match.end() > start else start + 1

    def search(self, text: str) -> re.Match[str] | None:
        return next(self.finditer(text), None)

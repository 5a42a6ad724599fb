"""Rules as data: `lexicons/signals.tsv` and `lexicons/topics.tsv` compiled into regexes.

Patterns are matched against the lower-cased text. Running ~70 patterns (or one big
alternation) over every message costs hundreds of microseconds in `re`; instead each rule is
indexed by the four-character openings its pattern allows (see `_prefixes`), at each word
start only the rules indexed under the text there are tried, anchored at that position. The
word starts themselves come from one C-level pass of a regex made of every rule's first
eight characters (`_prefixes.prefix_union`): the Python loop skips the words no rule opens.
Where several rules are candidates, one alternation of just those patterns is tried first
(few distinct candidate sets occur), and ASCII text uses ASCII-mode twins of every regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import chain, takewhile
from typing import Final

from calmdesk.engine._prefixes import PREFIX_LENGTH, openings, prefix_union
from calmdesk.engine.text import ascii_safe, folded_lower
from calmdesk.engine.types import Flag, new_flag

# A message with hundreds of matches of one kind says no more than one with a dozen; the cap
# keeps the result small on megabyte inputs.
MAX_FLAGS_PER_KIND: Final = 12

# Only phrases that withdraw what follows count as negation; a bare "not" would also cancel
# "why have you not refunded me".
_NEGATION: Final = re.compile(
    r"\b(?:not (?:asking|looking|after|wanting|interested|going to|gonna|planning|trying|"
    r"threatening|about to|saying)|no need|don'?t (?:want|need|plan|intend|mean)|"
    r"do not (?:want|need|plan|intend|mean)|won'?t|will not|wouldn'?t|no intention|"
    r"never (?:said|asked|threatened|mentioned|wanted)|i'?m not|i am not|we'?re not|"
    r"isn'?t (?:about|a)|without)\b(?:[^.!?\n]{0,24})$",
)
_NEGATION_WINDOW: Final = 48
_MEMO_LIMIT: Final = 50_000
_GROUP_LIMIT: Final = 4_096
# A pasted megabyte is read at its start and its end (where a sign-off threat would be);
# the middle of such a paste adds little and would cost seconds in the per-word loop.
SCAN_HEAD_CHARS: Final = 100_000
SCAN_TAIL_CHARS: Final = 20_000


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    kind: str
    weight: float
    negatable: bool
    pattern: str


# What the scan loop needs of one rule, unpacked once: (key id, bound `match`, kind,
# negatable, rule id, weight). Rules with the same kind and id share a key id, so their
# matches do not overlap, as before.
_Match = Callable[[str, int], "re.Match[str] | None"]
_Entry = tuple[int, _Match, str, bool, str, float]
# The candidates at one window, and the `match` of their alternation (None for fewer than
# two): where that alternation fails, no candidate can match, so one C-level call replaces
# one Python-level call per candidate; where it succeeds, the alternative that matched is
# the first candidate that does (alternatives are tried in order). Then the candidates'
# rule positions, so that the candidates after the one that matched can be looked up as a
# group of their own.
_Candidates = tuple[tuple[_Entry, ...], _Match | None, tuple[int, ...]]
_NO_CANDIDATES: Final[_Candidates] = ((), None, ())


@dataclass(frozen=True, slots=True)
class _Openings:
    """Rule positions (in TSV order) by the openings (up to four characters) they allow.

    It depends only on the patterns, so the ASCII and Unicode indexes share one.
    """

    by_opening: dict[str, tuple[int, ...]]
    everywhere: tuple[int, ...]
    lengths: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Index:
    """Rules compiled with one set of flags, and their openings; candidates are tried in
    TSV order."""

    openings: _Openings
    # Each rule's scan entry and pattern, by its position.
    entries: tuple[_Entry, ...]
    patterns: tuple[str, ...]
    flags: int
    # How many distinct (kind, rule id) keys the entries use.
    key_count: int
    # Four-character window -> candidates, filled as texts are seen (bounded).
    memo: dict[str, _Candidates]
    # Eight-character window -> the candidates of its first four whose prefix (see
    # `_prefixes.prefix_union`) the window holds, filled as texts are seen (bounded).
    narrowed: dict[str, _Candidates]
    # Each rule's prefix regex, by position, compiled when a window first needs it.
    prefixes: dict[int, re.Pattern[str]]
    # Rule positions -> candidates: few distinct sets occur, each alternation compiled once.
    groups: dict[tuple[int, ...], _Candidates]
    # Finds the word starts where the first characters of some rule's match occur (see
    # `_prefixes.prefix_union`); None when a rule gives no bound (every word start is tried).
    starts: re.Pattern[str] | None


def _read_tsv(name: str) -> Iterator[list[str]]:
    data = resources.files("calmdesk.engine.lexicons").joinpath(name).read_text("utf-8")
    for line in data.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


@cache
def signal_rules() -> tuple[Rule, ...]:
    rules = []
    # The veiled-threat cues (`veiled.py`) ride in the same scan as the signals.
    for columns in chain(_read_tsv("signals.tsv"), _read_tsv("veiled.tsv")):
        rule_id, kind, weight, negatable, pattern = columns
        rules.append(Rule(rule_id, kind, float(weight), negatable == "1", pattern))
    return tuple(rules)


@cache
def topic_rules() -> tuple[Rule, ...]:
    return tuple(
        Rule(rule_id, topic, float(weight), False, pattern)
        for rule_id, topic, weight, pattern in _read_tsv("topics.tsv")
    )


@cache
def _opening_table(rules: tuple[Rule, ...]) -> _Openings:
    by_opening: dict[str, list[int]] = {}
    everywhere: list[int] = []
    for position, rule in enumerate(rules):
        allowed = openings(rule.pattern)
        if allowed is None:
            everywhere.append(position)
            continue
        for opening in allowed:
            by_opening.setdefault(opening, []).append(position)
    return _Openings(
        by_opening={opening: tuple(found) for opening, found in by_opening.items()},
        everywhere=tuple(everywhere),
        lengths=frozenset(len(key) for key in by_opening),
    )


def _compile(rules: tuple[Rule, ...], flags: int = 0) -> _Index:
    entries: list[_Entry] = []
    key_ids: dict[tuple[str, str], int] = {}
    for rule in rules:
        if not rule.pattern.startswith(r"\b"):
            raise ValueError(f"rule {rule.rule_id}: a pattern must start at a word boundary")
        compiled = re.compile(rule.pattern, flags)
        if compiled.groups:
            raise ValueError(f"rule {rule.rule_id}: use (?:...), not capturing groups")
        key_id = key_ids.setdefault((rule.kind, rule.rule_id), len(key_ids))
        entries.append(
            (key_id, compiled.match, rule.kind, rule.negatable, rule.rule_id, rule.weight)
        )
    return _Index(
        openings=_opening_table(rules),
        entries=tuple(entries),
        patterns=tuple(rule.pattern for rule in rules),
        flags=flags,
        key_count=len(key_ids),
        memo={},
        narrowed={},
        prefixes={},
        groups={},
        starts=_starts(tuple(rule.pattern for rule in rules), flags),
    )


@cache
def _prefix_source(patterns: tuple[str, ...]) -> str | None:
    # The same for the ASCII and the Unicode index: only the flags they compile with differ.
    return prefix_union(list(patterns))


def _starts(patterns: tuple[str, ...], flags: int) -> re.Pattern[str] | None:
    """A regex matching the non-word character before each word start where the first
    characters of some rule's match follow (the start is where the match ends).

    It opens with a character class, so `re` skips along the text to each non-word
    character in C; `\\b(?=\\w)(?=...)`, tried at every position, cost more (callgrind:
    about 100k instructions a message against 70k). It may also report a position after
    a non-word character where a non-word character follows: no rule matches there, as
    every pattern opens with \\b (checked in `_compile`).
    """
    source = _prefix_source(patterns)
    if source is None:
        return None
    return re.compile(rf"\W(?={source})", flags)


# Most support text, once quotes are folded, is ASCII; ASCII-mode regexes then test \w and
# \b with a table instead of Unicode lookups and find exactly the same matches (see
# `ascii_safe`). Each index comes in both kinds; a text uses the one it is safe for.
_KIND_FLAGS: Final = {False: 0, True: re.ASCII}


@cache
def _signal_index(ascii: bool = False) -> _Index:
    return _compile(signal_rules(), _KIND_FLAGS[ascii])


@cache
def _topic_index(ascii: bool = False) -> _Index:
    return _compile(topic_rules(), _KIND_FLAGS[ascii])


_NEGATIONS: Final = {
    False: _NEGATION,
    True: re.compile(_NEGATION.pattern, re.ASCII),
}


# Every negation phrase holds one of these (each alternative of `_NEGATION` spelled out):
# a window without them cannot match, and seven substring tests cost less than its search.
_NEGATION_CUES: Final = ("no", "don", "won", "wouldn", "never", "isn", "without")


def _is_negated(folded: str, start: int, negation: re.Pattern[str] = _NEGATION) -> bool:
    window = folded[max(0, start - _NEGATION_WINDOW) : start]
    if not any(map(window.__contains__, _NEGATION_CUES)):
        return False
    return negation.search(window) is not None


# Words, found in one C-level pass: each word start is where \b(?=\w) holds (once a range
# that starts inside a word skips that word).
_WORDS: Final = {False: re.compile(r"\w+"), True: re.compile(r"\w+", re.ASCII)}


def _ranges(folded: str) -> list[tuple[int, int]]:
    if len(folded) <= SCAN_HEAD_CHARS + SCAN_TAIL_CHARS:
        return [(0, len(folded))]
    return [(0, SCAN_HEAD_CHARS), (len(folded) - SCAN_TAIL_CHARS, len(folded))]


def _candidates(index: _Index, window: str) -> _Candidates:
    """The rules that may match where `window` (up to 4 characters) starts; memoised."""
    found = index.memo.get(window)
    if found is None:
        table = index.openings
        merged = set(table.everywhere)
        for length in table.lengths:
            merged.update(table.by_opening.get(window[:length], ()))
        found = _group_of(index, tuple(sorted(merged)))
        if len(index.memo) < _MEMO_LIMIT:
            index.memo[window] = found
    return found


@cache
def _rule_prefix_source(pattern: str) -> str | None:
    return prefix_union([pattern])


def _narrowed(index: _Index, window: str) -> _Candidates:
    """The candidates of `window[:4]` that can match where `window` (the next
    PREFIX_LENGTH characters of the text, or all that is left of it) starts; memoised.

    A rule whose first characters are not those of the window cannot match there; fewer
    candidates make each alternation shorter and end the chain of alternations sooner.
    """
    found = index.narrowed.get(window)
    if found is None:
        wide = _candidates(index, window[:4])
        kept: list[int] = []
        for position in wide[2]:
            prefix = index.prefixes.get(position)
            if prefix is None:
                source = _rule_prefix_source(index.patterns[position])
                # A rule without a bound is kept everywhere (`starts` is None then anyway).
                prefix = re.compile(source if source is not None else "", index.flags)
                index.prefixes[position] = prefix
            if prefix.match(window) is not None:
                kept.append(position)
        positions = tuple(kept)
        found = wide if positions == wide[2] else _group_of(index, positions)
        if len(index.narrowed) < _MEMO_LIMIT:
            index.narrowed[window] = found
    return found


def _group_of(index: _Index, positions: tuple[int, ...]) -> _Candidates:
    """The candidates at these rule positions, compiled once per distinct set."""
    found = index.groups.get(positions)
    if found is None:
        found = _group(index, positions, tuple(index.entries[p] for p in positions))
    return found


def _group(index: _Index, positions: tuple[int, ...], entries: tuple[_Entry, ...]) -> _Candidates:
    if not entries:
        return _NO_CANDIDATES
    if len(entries) == 1 or len(index.groups) >= _GROUP_LIMIT:
        return entries, None, positions
    # No pattern has groups of its own (checked), so group i is candidate i - 1.
    alternation = re.compile("|".join(f"({index.patterns[p]})" for p in positions), index.flags)
    group: _Candidates = (entries, alternation.match, positions)
    index.groups[positions] = group
    return group


_START: Final = re.Match.start
_END: Final = re.Match.end


def _word_starts(starts: re.Pattern[str], folded: str, low: int, high: int) -> Iterator[int]:
    """The word starts in [low, high) where some rule's prefix follows (`low` is not
    inside a word), and perhaps a few positions where no rule can match (see `_starts`)."""
    size = len(folded)
    # The prefixes may read past the range's end, as the rules' matches do.
    endpos = min(high + PREFIX_LENGTH, size) if high < size else size
    # A start at `low` follows the non-word character at `low - 1`, or the text's start,
    # which a space put in front stands for.
    found: Iterator[int] = map(_END, starts.finditer(folded, max(low - 1, 0), endpos))
    if low == 0 and starts.match(" " + folded[:PREFIX_LENGTH]) is not None:
        found = chain((0,), found)
    if high < size:
        found = takewhile(high.__gt__, found)
    return found


# One match: (kind, start, end, rule id, weight).
_Hit = tuple[str, int, int, str, float]


def _scan(text: str, indexes: Callable[[bool], _Index]) -> list[Flag]:
    """At each word start, try only the rules whose pattern can open with the text there."""
    return [
        new_flag(kind, start, end, text[start:end], rule_id, weight)
        for kind, start, end, rule_id, weight in _hits(text, indexes)
    ]


def _hits(text: str, indexes: Callable[[bool], _Index]) -> list[_Hit]:
    """`_scan` without the `Flag`s, which cost more to build than the tuple: topic cues need
    only their kind and weight."""
    folded = folded_lower(text)
    ascii = ascii_safe(folded)
    index = indexes(ascii)
    negation = _NEGATIONS[ascii]
    words = _WORDS[ascii]
    hits: list[_Hit] = []
    per_kind: dict[str, int] = {}
    per_kind_get = per_kind.get
    # Where each rule's last match ended, by key id: matches of one rule never overlap.
    rule_end = [-1] * index.key_count
    memo_get = index.memo.get
    narrowed_get = index.narrowed.get
    groups_get = index.groups.get
    size = len(folded)
    starts = index.starts
    for low, high in _ranges(folded):
        if low and words.match(folded, low - 1):
            # The range starts inside a word: its first word start is after that word.
            inside = words.match(folded, low)
            if inside is not None:
                low = inside.end()
        clipped = high < size
        # Most word starts open no rule's match: one C-level pass finds the others, so the
        # loop below runs for about a quarter of the words.
        found_starts = (
            map(_START, words.finditer(folded, low, high))
            if starts is None
            else _word_starts(starts, folded, low, high)
        )
        for start in found_starts:
            # The (up to) four characters from the word start, within the range.
            if clipped:
                # (Only in megabyte texts: the candidates of the window within the range.)
                window = folded[start : min(start + 4, high)]
                found = memo_get(window)
                if found is None:
                    found = _candidates(index, window)
            else:
                window = folded[start : start + PREFIX_LENGTH]
                found = narrowed_get(window)
                if found is None:
                    found = (
                        _narrowed(index, window)
                        if starts is not None
                        else _candidates(index, window[:4])
                    )
            # (An empty `found` runs neither loop below.)
            candidates, any_match, positions = found
            # Each alternation call finds the first candidate that matches here, as its
            # pattern alone would (nothing follows it in the alternation); the ones before
            # it do not match. The search goes on with the group of the candidates after
            # it: one C-level call per match instead of one Python-level call per rule.
            while any_match is not None:
                first = any_match(folded, start)
                if first is None:
                    candidates = ()
                    break
                chosen = first.lastindex or 1
                key_id, _match_at, kind, negatable, rule_id, weight = candidates[chosen - 1]
                end = first.end(chosen)
                # (The kind's count read once: it is also the one to add to.)
                if (
                    rule_end[key_id] <= start
                    and end != start
                    and (count := per_kind_get(kind, 0)) < MAX_FLAGS_PER_KIND
                    and not (negatable and _is_negated(folded, start, negation))
                ):
                    rule_end[key_id] = end
                    per_kind[kind] = count + 1
                    hits.append((kind, start, end, rule_id, weight))
                rest = positions[chosen:]
                if not rest:
                    candidates = ()
                    break
                found = groups_get(rest)
                if found is None:
                    found = _group(index, rest, candidates[chosen:])
                candidates, any_match, positions = found
            # A lone candidate, or candidates past the limit of compiled groups.
            for key_id, match_at, kind, negatable, rule_id, weight in candidates:
                if rule_end[key_id] > start:
                    continue
                match = match_at(folded, start)
                if match is None:
                    continue
                end = match.end()
                count = per_kind_get(kind, 0)
                if end == start or count >= MAX_FLAGS_PER_KIND:
                    continue
                if negatable and _is_negated(folded, start, negation):
                    continue
                rule_end[key_id] = end
                per_kind[kind] = count + 1
                hits.append((kind, start, end, rule_id, weight))
    return hits


TOPIC_PREFIX: Final = "topic:"


@cache
def _combined_index(ascii: bool = False) -> _Index:
    # Topic rules ride along in the same pass, their kinds prefixed to tell them apart.
    topics = tuple(
        Rule(rule.rule_id, TOPIC_PREFIX + rule.kind, rule.weight, rule.negatable, rule.pattern)
        for rule in topic_rules()
    )
    return _compile(signal_rules() + topics, _KIND_FLAGS[ascii])


def scan(text: str) -> tuple[list[Flag], list[tuple[str, float]]]:
    """Signal flags (negated matches dropped) and (topic, weight) cues, from one pass."""
    signals: list[Flag] = []
    topics: list[tuple[str, float]] = []
    cut = len(TOPIC_PREFIX)
    for kind, start, end, rule_id, weight in _hits(text, _combined_index):
        if kind.startswith(TOPIC_PREFIX):
            topics.append((kind[cut:], weight))
        else:
            signals.append(new_flag(kind, start, end, text[start:end], rule_id, weight))
    return signals, topics


def find_signals(text: str) -> list[Flag]:
    """Every rule match in the text (negated matches dropped)."""
    return _scan(text, _signal_index)


def find_topic_cues(text: str) -> list[Flag]:
    return _scan(text, _topic_index)


def noisy_or(weights: list[float] | tuple[float, ...]) -> float:
    """Independent pieces of evidence, each in [0, 1]: P(at least one is right)."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


def strength_by_kind(flags: list[Flag]) -> dict[str, float]:
    """Combine flags per kind; repeats of one rule count once, so spam does not inflate."""
    best: dict[tuple[str, str], float] = {}
    known = best.get
    for flag in flags:
        key = (flag.kind, flag.rule)
        weight = flag.weight
        before = known(key, 0.0)
        # max(before, weight), which keeps the first of equals, without the call.
        best[key] = weight if weight > before else before
    grouped: dict[str, list[float]] = {}
    for (kind, _rule), weight in best.items():
        found = grouped.get(kind)
        if found is None:
            grouped[kind] = [weight]
        else:
            found.append(weight)
    # A kind with one rule (the usual case) is its weight through the noisy-OR's own two
    # steps, 1 - (1 * (1 - w)), where 1 * x == x: the same float, without the call.
    return {
        kind: 1.0 - (1.0 - weights[0]) if len(weights) == 1 else noisy_or(weights)
        for kind, weights in grouped.items()
    }

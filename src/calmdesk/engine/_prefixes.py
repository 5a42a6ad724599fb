"""Which four-character openings can start a match of a regex?

The rules engine indexes every rule by the openings its pattern allows, so a message only
tries the rules whose opening occurs at one of its word starts. This reads the pattern
with the standard library's own regex parser; a pattern it cannot bound (one starting with
`\\w` or `.`) gets None and is tried everywhere.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Final

# The standard library's regex parser; private since Python 3.11 but unchanged in shape.
sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")

OPENING: Final = 4
_LIMIT: Final = 20_000
_SPACE: Final = " \t\n\r\x0b\x0c"
_DIGIT: Final = "0123456789"


class _Unbounded(Exception):
    pass


def openings(pattern: str) -> frozenset[str] | None:
    """All strings of length <= OPENING that can begin a match (shorter ones mean a short match)."""
    try:
        parsed = sre_parse.parse(pattern)
        done, partial = _sequence(list(parsed), {""})
    except (_Unbounded, RecursionError):
        return None
    return frozenset(done | partial)


def _chars_of_in(items: list[tuple[Any, Any]]) -> set[str]:
    chars: set[str] = set()
    for op, arg in items:
        if op is sre_constants.LITERAL:
            chars.add(chr(arg))
        elif op is sre_constants.RANGE:
            low, high = arg
            if high - low > 40:
                raise _Unbounded
            chars.update(chr(c) for c in range(low, high + 1))
        elif op is sre_constants.CATEGORY and arg is sre_constants.CATEGORY_SPACE:
            chars.update(_SPACE)
        elif op is sre_constants.CATEGORY and arg is sre_constants.CATEGORY_DIGIT:
            chars.update(_DIGIT)
        else:
            raise _Unbounded
    return chars


def _extend(partial: set[str], chars: set[str]) -> tuple[set[str], set[str]]:
    grown = {p + c for p in partial for c in chars}
    if len(grown) > _LIMIT:
        raise _Unbounded
    return {g for g in grown if len(g) >= OPENING}, {g for g in grown if len(g) < OPENING}


def _sequence(items: list[tuple[Any, Any]], partial: set[str]) -> tuple[set[str], set[str]]:
    """Walk a sequence; returns (complete openings, openings still shorter than 3)."""
    done: set[str] = set()
    for op, arg in items:
        if not partial:
            break
        try:
            new_done, partial = _element(op, arg, partial)
        except _Unbounded:
            if "" in partial:
                raise
            # Openings shorter than four characters still filter: keep them as they are.
            done |= partial
            return done, set()
        done |= new_done
    return done, partial


def _element(op: Any, arg: Any, partial: set[str]) -> tuple[set[str], set[str]]:
    if op is sre_constants.LITERAL:
        return _extend(partial, {chr(arg)})
    if op is sre_constants.IN:
        return _extend(partial, _chars_of_in(arg))
    if op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return set(), partial
    if op is sre_constants.SUBPATTERN:
        return _sequence(list(arg[-1]), partial)
    if op is sre_constants.BRANCH:
        done, next_partial = set(), set()
        for alternative in arg[1]:
            alternative_done, alternative_partial = _sequence(list(alternative), set(partial))
            done |= alternative_done
            next_partial |= alternative_partial
        return done, next_partial
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        low, high, body = arg
        return _repeat(list(body), partial, low, high)
    raise _Unbounded


def _repeat(
    body: list[tuple[Any, Any]], partial: set[str], low: int, high: int
) -> tuple[set[str], set[str]]:
    done: set[str] = set()
    reachable = set(partial) if low == 0 else set()
    current = set(partial)
    # OPENING characters are reached after at most OPENING repetitions of a non-empty body.
    for count in range(
        1, min(high, OPENING) + 1 if high != sre_constants.MAXREPEAT else OPENING + 1
    ):
        new_done, current = _sequence(body, current)
        done |= new_done
        if count >= low:
            reachable |= current
        if not current:
            break
    return done, reachable


# --- Prefix patterns: the first characters of a match, as a regex ------------------------
#
# `openings` spells every opening out, so it stops at four characters (a character class
# multiplies the strings). `prefix_pattern` keeps each character class as one regex atom
# instead, so it can look further ahead: it gives a regex that matches, at every position
# where the pattern matches, the first `length` characters of that match (or all of a
# shorter one). It only widens: assertions are dropped, repeats are unrolled, and where the
# alternatives grow past the limit the prefixes found so far stand. The rule scan runs the
# union of these over the text in one C-level pass to find the few word starts worth a
# Python-level look.

PREFIX_LENGTH: Final = 8
_CATEGORY_SOURCE: Final = {
    sre_constants.CATEGORY_DIGIT: r"\d",
    sre_constants.CATEGORY_NOT_DIGIT: r"\D",
    sre_constants.CATEGORY_SPACE: r"\s",
    sre_constants.CATEGORY_NOT_SPACE: r"\S",
    sre_constants.CATEGORY_WORD: r"\w",
    sre_constants.CATEGORY_NOT_WORD: r"\W",
}
_REPEATS: Final = (
    sre_constants.MAX_REPEAT,
    sre_constants.MIN_REPEAT,
    sre_constants.POSSESSIVE_REPEAT,
)
_ZERO_WIDTH: Final = (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)

# A prefix is a tuple of atoms, each the regex source of one character.
_Prefix = tuple[str, ...]


def _escape(char: str) -> str:
    # Control characters spelled as escapes keep the joined pattern readable (and free of
    # raw newlines); everything else as `re.escape` writes it.
    return f"\\x{ord(char):02x}" if ord(char) < 32 else re.escape(char)


def _class_source(items: list[tuple[Any, Any]]) -> str:
    parts: list[str] = []
    for op, arg in items:
        if op is sre_constants.NEGATE:
            parts.insert(0, "^")
        elif op is sre_constants.LITERAL:
            parts.append(_escape(chr(arg)))
        elif op is sre_constants.RANGE:
            parts.append(f"{_escape(chr(arg[0]))}-{_escape(chr(arg[1]))}")
        elif op is sre_constants.CATEGORY and arg in _CATEGORY_SOURCE:
            parts.append(_CATEGORY_SOURCE[arg])
        else:
            raise _Unbounded
    return "[" + "".join(parts) + "]"


def _atom(op: Any, arg: Any) -> str | None:
    """The source of an element that matches exactly one character, else None."""
    if op is sre_constants.LITERAL:
        return _escape(chr(arg))
    if op is sre_constants.NOT_LITERAL:
        return f"[^{_escape(chr(arg))}]"
    if op is sre_constants.IN:
        return _class_source(arg)
    if op is sre_constants.ANY:
        return r"[^\n]"  # no rule sets DOTALL
    return None


class _Prefixes:
    """Walks a parsed pattern, growing every prefix of a match up to `length` atoms."""

    def __init__(self, length: int, limit: int) -> None:
        self.length = length
        self.limit = limit
        self.done: set[_Prefix] = set()
        self.cut = False

    def sequence(self, items: list[tuple[Any, Any]], partial: set[_Prefix]) -> set[_Prefix]:
        for op, arg in items:
            if not partial:
                break
            partial = self.element(op, arg, partial)
        return partial

    def element(self, op: Any, arg: Any, partial: set[_Prefix]) -> set[_Prefix]:
        atom = _atom(op, arg)
        if atom is not None:
            grown = {(*prefix, atom) for prefix in partial}
            full = {prefix for prefix in grown if len(prefix) >= self.length}
            self.done |= full
            return grown - full
        if op in _ZERO_WIDTH:
            return partial
        if op is sre_constants.SUBPATTERN:
            _group, add_flags, del_flags, body = arg
            if add_flags or del_flags:
                raise _Unbounded
            return self.sequence(list(body), partial)
        if op is sre_constants.ATOMIC_GROUP:
            return self.sequence(list(arg), partial)
        if op is sre_constants.BRANCH:
            reached: set[_Prefix] = set()
            for alternative in arg[1]:
                reached |= self.sequence(list(alternative), set(partial))
                self.check(reached)
            return reached
        if op in _REPEATS:
            low, high, body = arg
            reached = set(partial) if low == 0 else set()
            current = set(partial)
            count = 0
            # After `length` repeats of a non-empty body every prefix is full.
            while (
                current
                and count < self.length
                and (high is sre_constants.MAXREPEAT or count < high)
            ):
                count += 1
                current = self.sequence(list(body), current)
                if count >= low:
                    reached |= current
                self.check(reached)
            return reached
        raise _Unbounded

    def check(self, partial: set[_Prefix]) -> None:
        if len(partial) + len(self.done) > self.limit:
            raise _Unbounded


def prefix_sequences(pattern: str, length: int = PREFIX_LENGTH) -> set[_Prefix] | None:
    """Every prefix (up to `length` atoms) a match of `pattern` can start with, as atom
    tuples; None when the pattern can match the empty string or cannot be read."""
    for size in range(length, 0, -1):
        walker = _Prefixes(size, _LIMIT)
        try:
            rest = walker.sequence(list(sre_parse.parse(pattern)), {()})
        except _Unbounded:
            continue  # too many alternatives this far ahead: look less far
        except RecursionError:
            return None
        if () in rest:
            return None
        return walker.done | rest
    return None


def prefix_union(patterns: list[str], length: int = PREFIX_LENGTH) -> str | None:
    """One regex matching, at a position, whenever the first characters of a match of any
    of `patterns` can start there; None if some pattern gives no bound.

    The prefixes are merged into a trie (`a(?:b|c)|d`): at each step `re` then compares one
    character per branch instead of trying every rule's pattern in turn.
    """
    trie: dict[str, Any] = {}
    for pattern in patterns:
        prefixes = prefix_sequences(pattern, length)
        if prefixes is None:
            return None
        for prefix in prefixes:
            node = trie
            for atom in prefix:
                if node.get("") is True:
                    break  # a shorter prefix already ends here: it matches every longer one
                node = node.setdefault(atom, {})
            else:
                node.clear()
                node[""] = True
    return _trie_source(trie)


def _trie_source(node: dict[str, Any]) -> str:
    if node.get("") is True:
        return ""
    branches = [atom + _group(_trie_source(child)) for atom, child in sorted(node.items())]
    return "|".join(branches)


def _group(source: str) -> str:
    return f"(?:{source})" if "|" in source else source

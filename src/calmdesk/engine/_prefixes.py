"""Which four-character openings can start a match of a regex?

The rules engine indexes every rule by the openings its pattern allows, so a message only
tries the rules whose opening occurs at one of its word starts. This reads the pattern
with the standard library's own regex parser; a pattern it cannot bound (one starting with
`\\w` or `.`) gets None and is tried everywhere.
"""

from __future__ import annotations

import importlib
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

"""Repeated harmless text must not add up to a threat or to anger (found on stop 17:
"hello there. " x 3,000 read as a certain threat, "a " x 500 as anger)."""

from __future__ import annotations

import pytest

from calmdesk.engine import assess
from calmdesk.engine.tone import KEY_REPEATS_MAX, _repeats_capped


@pytest.mark.parametrize(
    "text",
    ["a " * 500, "a " * 500_000, "the " * 5000, "hello there. " * 3000, "ok\n" * 4000],
)
def test_repeated_harmless_words_stay_calm(text: str) -> None:
    result = assess(text)
    assert result.scores["threat"] < 0.5
    assert result.scores["anger"] < 0.5
    assert not [flag for flag in result.flags if flag.kind in ("threat", "anger")]


def test_a_repeated_real_threat_is_still_one() -> None:
    result = assess("I will kill you. " * 2000)
    assert result.scores["threat"] > 0.9
    assert any(flag.kind == "threat" for flag in result.flags)


def test_keys_are_kept_in_order_up_to_the_limit() -> None:
    ids = [1, 2] * (KEY_REPEATS_MAX + 3) + [3]
    assert _repeats_capped(ids) == [1, 2] * KEY_REPEATS_MAX + [3]
    few = [5, 6, 5, 7]
    assert _repeats_capped(few) is few

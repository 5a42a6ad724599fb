"""The rule scan's prefix regex never skips a word start where a rule matches."""

from __future__ import annotations

import re

import pytest

from calmdesk.engine import rules
from calmdesk.engine._prefixes import PREFIX_LENGTH, prefix_sequences, prefix_union
from calmdesk.engine.text import folded_lower

TEXTS = [
    "I'll  kill you. I know where you live!!! Refund me NOW or I'm going to my lawyer",
    "this is the THIRD time i've written... still no reply; you useless idiots, f*** off",
    "Not going to buy from you again. I'm switching to a competitor and posting on twitter",
    "caf\u00e9 \u2019thanks\u2019 in advance \u2013 can't log\u2003in, i'm so confused\x1cwhat now",
]


@pytest.mark.parametrize("ascii", [False, True])
def test_prefix_regex_finds_every_word_start_a_rule_matches(ascii: bool) -> None:
    index = rules._combined_index(ascii)
    assert index.starts is not None
    flags = re.ASCII if ascii else 0
    compiled = [re.compile(pattern, flags) for pattern in index.patterns]
    for text in TEXTS:
        folded = folded_lower(text)
        found = set(rules._word_starts(index.starts, folded, 0, len(folded)))
        for word in re.finditer(r"\w+", folded, flags):
            if any((m := p.match(folded, word.start())) and m.end() > m.start() for p in compiled):
                assert word.start() in found, (text, word.group())


def test_prefixes_keep_character_classes_as_one_atom() -> None:
    assert prefix_sequences(r"\b(?:ab|c[de]f)\s+x", 4) == {
        ("a", "b", r"[\s]", r"[\s]"),
        ("a", "b", r"[\s]", "x"),
        ("c", "[de]", "f", r"[\s]"),
    }
    assert prefix_sequences(r"\b(?:a|)") is None  # can match empty: no bound
    source = prefix_union([r"\bab", r"\babc", r"\bx"])
    assert source is not None
    assert re.fullmatch(source, "ab") and re.fullmatch(source, "x")


@pytest.mark.parametrize("ascii", [False, True])
def test_narrowed_candidates_keep_every_rule_that_matches(ascii: bool) -> None:
    index = rules._combined_index(ascii)
    flags = re.ASCII if ascii else 0
    compiled = [re.compile(pattern, flags) for pattern in index.patterns]
    for text in TEXTS:
        folded = folded_lower(text)
        for word in re.finditer(r"\w+", folded, flags):
            start = word.start()
            kept = rules._narrowed(index, folded[start : start + PREFIX_LENGTH])[2]
            wide = rules._candidates(index, folded[start : start + 4])[2]
            assert set(kept) <= set(wide)
            for position in wide:
                match = compiled[position].match(folded, start)
                if match and match.end() > start:
                    assert position in kept, (text, word.group(), index.patterns[position])

"""Shortening letter runs token by token gives what shortening the whole text gives."""

from __future__ import annotations

import random

from calmdesk.engine import text


def test_tokens_match_shortening_the_whole_text() -> None:
    rng = random.Random(3)
    alphabet = "aab_'0 1!?.\n\x1cA-zZ\u00e9"
    samples = ["sooooo baaaad!!! can'ttt wait___ 1111 it'sss_ okkk", "x'a___ zzz", ""]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)
    ]
    for sample in samples:
        normalised, runs = text._normalised(sample)
        words, dense = text.tokens_and_dense(sample)
        assert words == text._TOKEN.findall(normalised), sample
        assert dense[-1] == min(runs, 3) / 3.0, sample


def test_ascii_tokens_are_the_regex_tokens() -> None:
    rng = random.Random(5)
    samples = ["hi!! why?? it's 0 days, sooo bad... ok?!", "a'b'c d'0 _x !?", ""]
    samples += [bytes(range(128)).decode("ascii") * 2]
    for alphabet in ("ab0_'!? .\n\t\x0b\x1c\x1fZ,-", "ab0!? .\n\t\x0b\x0c\r\x1c\x7fZ,-"):
        samples += [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))) for _ in range(5000)
        ]
    for sample in samples:
        assert text._ascii_tokens(sample) == text._TOKEN_ASCII.findall(sample), sample

"""Text preparation shared by the rules, the model and the training script.

Everything here runs in linear time: one pass of precompiled regexes, no backtracking
patterns, and the model only reads a bounded prefix of very long messages.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from itertools import pairwise
from typing import Final

# Quote variants become ASCII one character for one character, so every span found in the
# folded text is also a span of the original text.
_FOLD_TABLE: Final = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
        "\u2013": "-",
        "\u2014": "-",
    }
)

# The model reads at most this many characters: a megabyte-long paste costs the same as a
# long email, and the start of a message carries its tone. Rules still scan the whole text.
MODEL_MAX_CHARS: Final = 20_000

_URL: Final = re.compile(r"https?://\S+|www\.\S+")
_EMAIL: Final = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_DIGITS: Final = re.compile(r"\d+")
_ASCII_DIGITS: Final = "0123456789"
# A letter and two or more copies of it; `\1\1+` finds the same runs as `\1{2,}`, faster.
_REPEATS: Final = re.compile(r"(\w)\1\1+")
# `(?:'[a-z]+|)` is `(?:'[a-z]+)?` (greedy: the apostrophe part first, else nothing), but
# `re` runs an alternation without the bookkeeping of a general repeat.
_TOKEN: Final = re.compile(
    r"[a-z0-9_]+(?:'[a-z]+|)|[!?]|[\u2600-\u27bf\U0001f300-\U0001faff]",
)
# `_TOKEN` for ASCII text, where its emoji alternative never matches.
_TOKEN_ASCII: Final = re.compile(r"[a-z0-9_]+(?:'[a-z]+|)|[!?]")
# Each ASCII character a token may hold ([a-z0-9_'!?], as `_TOKEN_ASCII` matches them) as
# itself, every other one as a space. Every character is in the table: one missing from it
# costs `str.translate` a KeyError.
_TOKEN_SPACING: Final = str.maketrans(
    {
        chr(c): chr(c) if chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789_'!?" else " "
        for c in range(128)
    }
)
_CAPS_WORD: Final = re.compile(r"\b[A-Z][A-Z']{2,}\b")
# ASCII-mode twins, for text where they match the same (see `ascii_safe`).
_REPEATS_ASCII: Final = re.compile(_REPEATS.pattern, re.ASCII)
_DIGITS_ASCII: Final = re.compile(_DIGITS.pattern, re.ASCII)
_CAPS_WORD_ASCII: Final = re.compile(_CAPS_WORD.pattern, re.ASCII)
# Capital letters -> "A", apostrophes kept, every other byte -> ".", for `has_capitals_run`.
_CAPITALS_BYTES: Final = bytes(
    65 if 65 <= byte <= 90 else 39 if byte == 39 else 46 for byte in range(256)
)
# Every byte but the ASCII letters: in UTF-8 all other characters are bytes >= 0x80 or
# non-letters, so deleting these from the encoded text leaves exactly its ASCII letters.
_NOT_LETTER_BYTES: Final = bytes(
    byte for byte in range(256) if not (65 <= byte <= 90 or 97 <= byte <= 122)
)

# Capitalised words that are names, not shouting.
COMMON_ACRONYMS: Final = frozenset(
    [
        "ASAP",
        "UPS",
        "DHL",
        "USPS",
        "FEDEX",
        "TNT",
        "DPD",
        "GPS",
        "PDF",
        "USB",
        "TV",
        "ID",
        "VIP",
        "CEO",
        "IT",
        "OK",
        "FAQ",
        "SMS",
        "PIN",
        "VAT",
        "GDPR",
        "BBB",
        "FTC",
        "FCA",
        "ICO",
        "UK",
        "USA",
        "EU",
        "API",
        "URL",
        "IBAN",
        "BIC",
        "SIM",
        "ATM",
        "RMA",
        "CSV",
        "HTML",
        "PS",
        "NHS",
        "AM",
        "PM",
        "EST",
        "GMT",
        "UTC",
        "LOL",
        "OMG",
        "WTF",
        "FFS",
        "MR",
        "MRS",
        "MS",
        "DR",
        "CC",
        "IOS",
        "HDMI",
        "LED",
        "LCD",
        "SSD",
        "RAM",
        "CPU",
        "WIFI",
        "NFC",
        "DVD",
        "CD",
    ]
)


def ascii_safe(text: str) -> bool:
    """Whether ASCII-mode regexes match in `text` exactly as Unicode-mode ones do.

    On ASCII text the two agree on \\w, \\d, \\b and case-insensitive letters; they differ
    only on \\s, which in Unicode mode also matches the separators \\x1c-\\x1f.
    """
    return (
        text.isascii()
        and "\x1c" not in text
        and "\x1d" not in text
        and "\x1e" not in text
        and "\x1f" not in text
    )


@lru_cache(maxsize=8)
def has_capitals_run(text: str) -> bool:
    """Whether the text has a capital followed by two capitals or apostrophes.

    Every shouted word has one, and most messages have none: one byte translation then
    saves the regex passes that look for shouting. Cached like `count_letters`.
    """
    marked = text.encode("utf-8", "surrogatepass").translate(_CAPITALS_BYTES)
    return b"AAA" in marked or b"AA'" in marked or b"A'A" in marked or b"A''" in marked


def fold(text: str) -> str:
    """Unify quotes and dashes without changing the length of the text."""
    if text.isascii():
        # The backtick is the table's only ASCII key; replace() is far cheaper than translate().
        return text.replace("`", "'")
    return text.translate(_FOLD_TABLE)


@lru_cache(maxsize=8)
def folded_lower(text: str) -> str:
    """`fold` and lower-case, keeping the length (and so every span) of the text.

    Cached for the few most recent texts: the rules and the model both need it.
    """
    folded = fold(text)
    lowered = folded.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters (such as a dotted capital I) lower-case to two; keep those as they are.
    return "".join(char if len(char.lower()) != 1 else char.lower() for char in folded)


def _substituted(text: str) -> tuple[str, bool]:
    """The model's view of the text before letter runs are shortened, and whether it is
    ASCII-safe (see `ascii_safe`)."""
    lowered = folded_lower(text)[:MODEL_MAX_CHARS]
    # The substring tests skip two regex passes for the many messages without links.
    if "http" in lowered or "www." in lowered:
        lowered = _URL.sub(" _url_ ", lowered)
    if "@" in lowered:
        lowered = _EMAIL.sub(" _email_ ", lowered)
    if ascii_safe(lowered):
        # Most messages hold no digit: ten substring tests cost less than a regex pass.
        if any(map(lowered.__contains__, _ASCII_DIGITS)):
            lowered = _DIGITS_ASCII.sub("0", lowered)
        return lowered, True
    return _DIGITS.sub("0", lowered), False


def _normalised(text: str) -> tuple[str, int]:
    """The model's view of the text, and how many letter runs were shortened."""
    lowered, ascii = _substituted(text)
    return (_REPEATS_ASCII if ascii else _REPEATS).subn(r"\1\1", lowered)


# Tokens known to hold no run of three of one character, and those that do (with their
# shortened form and how many runs were shortened), for `_shortened_tokens`; bounded.
_TOKEN_MEMO_LIMIT: Final = 100_000
_plain_tokens: set[str] = set()
_long_runs: dict[str, tuple[str, int]] = {}


def _shortened_tokens(words: list[str]) -> tuple[list[str], int]:
    """The tokens of ASCII text with every letter run shortened to two, and how many were:
    the tokens and count that shortening the whole text first gives.

    In ASCII text every \\w character is in a token and a run of one character never
    crosses from one token into the next (a token ends at a \\W character or where a
    letter meets a digit or underscore; digit runs are already one "0"), so shortening
    token by token finds the same runs. Each distinct token is checked once: the regex
    pass over the whole text cost several times more than these set operations.
    """
    distinct = set(words)
    new = distinct.difference(_plain_tokens)
    if new:
        new.difference_update(_long_runs)
        if len(_plain_tokens) + len(new) > _TOKEN_MEMO_LIMIT:
            _plain_tokens.clear()
        if len(_long_runs) > _TOKEN_MEMO_LIMIT:
            _long_runs.clear()
        for word in new:
            shortened, runs = _REPEATS_ASCII.subn(r"\1\1", word)
            if runs:
                _long_runs[word] = (shortened, runs)
            else:
                _plain_tokens.add(word)
    if not _long_runs or distinct.isdisjoint(_long_runs):
        return words, 0
    tokens: list[str] = []
    total = 0
    for word in words:
        found = _long_runs.get(word)
        if found is None:
            tokens.append(word)
        else:
            tokens.append(found[0])
            total += found[1]
    return tokens, total


def model_text(text: str) -> str:
    """The lower-cased, placeholder-normalised text the model sees."""
    return _normalised(text)[0]


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(model_text(text))


@lru_cache(maxsize=8)
def count_letters(text: str) -> int:
    """ASCII letters in the text (one C-level byte deletion, no regex pass).

    Cached for the few most recent texts: the model and the intensity cues both count.
    """
    return len(text.encode("utf-8", "surrogatepass").translate(None, _NOT_LETTER_BYTES))


DENSE_FEATURE_NAMES: Final = (
    "caps_ratio",
    "exclamations",
    "questions",
    "length",
    "second_person",
    "elongation",
)
_SECOND_PERSON_WORDS: Final = frozenset(
    {"you", "your", "you're", "youre", "yours", "yourself", "yourselves", "ur", "u", "ya"}
)


# Character n-grams inside words (3 to 5 characters of the word padded with a space on each
# side, like scikit-learn's char_wb): they carry typos, morphology and rare spellings that
# whole-word features miss. Very long "words" (hashes, pasted junk) add nothing but cost.
CHAR_GRAM_SIZES: Final = (3, 4, 5)
CHAR_GRAM_MAX_WORD: Final = 20


def char_grams(word: str) -> list[str]:
    """The character n-grams of one token; none for single characters and very long tokens."""
    if not 2 <= len(word) <= CHAR_GRAM_MAX_WORD:
        return []
    padded = f" {word} "
    end = len(padded)
    return [padded[i : i + n] for n in CHAR_GRAM_SIZES for i in range(end - n + 1)]


def analyse(text: str) -> tuple[set[str], tuple[float, ...]]:
    """Everything the model reads from the word level, in one pass over the text."""
    found, _words, dense = analyse_tokens(text)
    return found, dense


def analyse_tokens(text: str) -> tuple[set[str], list[str], tuple[float, ...]]:
    """Word features, the tokens themselves (for character n-grams) and the dense cues.

    Sparse features: word unigrams, bigrams and 5-letter stems of long words (cheap typo and
    morphology help). Dense features: a few character-level cues that survive the move from
    Reddit/Twitter to support email (capitals, !, ?, length, second person, elongation).
    """
    words, dense = tokens_and_dense(text)
    found = set(words)
    found.update(map(" ".join, pairwise(words)))
    found.update([stem(w) for w in words if len(w) > STEM_FROM])
    return found, words, dense


# Words longer than this also count by their first five letters.
STEM_FROM: Final = 6


def stem(word: str) -> str:
    """The stem feature of a long word (a key that no unigram or bigram can be)."""
    return "~" + word[:5]


def _ascii_tokens(lowered: str) -> list[str]:
    """`_TOKEN_ASCII.findall(lowered)` for lower-cased ASCII text, with the regex only for the
    chunks that hold an apostrophe.

    Every character no token holds becomes a space and every "!" and "?" is set apart, so
    the text splits (in C) into chunks that no token crosses: a chunk without an apostrophe
    is a run of [a-z0-9_] or one "!" or "?", exactly one token. A chunk with one may hold
    several tokens or none ("rock'n'roll", "'"): the regex reads just those. Each match of
    the regex over the whole text cost about 1,700 instructions (callgrind), and most
    support messages have an apostrophe somewhere ("I'm", "can't").
    """
    spaced = lowered.translate(_TOKEN_SPACING)
    if "!" in spaced:
        spaced = spaced.replace("!", " ! ")
    if "?" in spaced:
        spaced = spaced.replace("?", " ? ")
    chunks = spaced.split()
    if "'" not in spaced:
        return chunks
    found: list[str] = []
    for chunk in chunks:
        if "'" in chunk:
            found.extend(_TOKEN_ASCII.findall(chunk))
        else:
            found.append(chunk)
    return found


def tokens_and_dense(text: str) -> tuple[list[str], tuple[float, ...]]:
    """The model's tokens and its dense cues; `analyse_tokens` without the feature set, for
    the scorer, which looks features up by word (see `LinearModel`)."""
    lowered, ascii = _substituted(text)
    if ascii:
        words, elongations = _shortened_tokens(_ascii_tokens(lowered))
    else:
        normalised, elongations = _REPEATS.subn(r"\1\1", lowered)
        words = _TOKEN.findall(normalised)
    head = text[:MODEL_MAX_CHARS]
    letters = count_letters(head)
    caps = 0
    if has_capitals_run(head):
        caps_word = _CAPS_WORD_ASCII if ascii_safe(head) else _CAPS_WORD
        caps = sum(
            len(word) for word in caps_word.findall(head) if word.strip("'") not in COMMON_ACRONYMS
        )
    dense = (
        caps / letters if letters >= 8 else 0.0,
        math.log1p(min(head.count("!"), 20)) / 3.0,
        math.log1p(min(head.count("?"), 20)) / 3.0,
        math.log1p(len(head)) / 10.0,
        min(sum(map(_SECOND_PERSON_WORDS.__contains__, words)), 5) / 5.0,
        min(elongations, 3) / 3.0,
    )
    return words, dense


def features(text: str) -> set[str]:
    return analyse(text)[0]


def dense_features(text: str) -> tuple[float, ...]:
    return analyse(text)[1]

"""Text helpers for the coach: length-preserving normalising, sentences, content words.

Every rule runs over the *normalised* draft, and a finding's span must point into the
original draft, so normalising never changes the length of the text: one character in,
one character out. That keeps offsets identical without an offset map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

# Typographic characters people (and word processors) type, mapped one-to-one to ASCII.
_ONE_TO_ONE: Final[dict[int, str]] = {
    ord("\u2018"): "'",
    ord("\u2019"): "'",
    ord("\u201a"): "'",
    ord("\u201b"): "'",
    ord("\u2032"): "'",
    ord("`"): "'",
    ord("\u00b4"): "'",
    ord("\u201c"): '"',
    ord("\u201d"): '"',
    ord("\u201e"): '"',
    ord("\u2010"): "-",
    ord("\u2011"): "-",
    ord("\u2012"): "-",
    ord("\u2013"): "-",
    ord("\u2014"): "-",
    ord("\u2212"): "-",
    ord("\u00a0"): " ",
    ord("\u2007"): " ",
    ord("\u202f"): " ",
    ord("\t"): " ",
    ord("\r"): "\n",
    ord("\u2026"): ".",
    ord("\uff01"): "!",
    ord("\uff1f"): "?",
}


def normalise(text: str) -> str:
    """Lower-case `text` and straighten quotes/dashes, keeping its exact length."""
    translated = text.translate(_ONE_TO_ONE)
    lowered = translated.lower()
    if len(lowered) == len(translated):
        return lowered
    # A few characters (e.g. "İ") lower-case to two; keep those unchanged.
    return "".join(ch if len(low := ch.lower()) != 1 else low for ch in translated)


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str


# A sentence ends at ., ! or ? (runs of them) followed by space/quote/end, or at a line break.
_SENTENCE_END: Final = re.compile(r"[.!?]+(?=[\s\"')\]]|$)[\"')\]]*|\n+")


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Sentences of `text` with spans; whitespace around them is not part of the span."""
    sentences: list[Sentence] = []
    position = 0
    for match in _SENTENCE_END.finditer(text):
        _append_trimmed(text, position, match.end(), sentences)
        position = match.end()
    _append_trimmed(text, position, len(text), sentences)
    return tuple(sentences)


def _append_trimmed(text: str, start: int, end: int, into: list[Sentence]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        into.append(Sentence(start, end, text[start:end]))


def sentence_at(sentences: tuple[Sentence, ...], offset: int) -> Sentence | None:
    for sentence in sentences:
        if sentence.start <= offset < sentence.end:
            return sentence
    return None


_WORD: Final = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Function words and support-desk filler that say nothing about *this* customer's problem.
STOPWORDS: Final[frozenset[str]] = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "even",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "got",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "let's",
        "like",
        "me",
        "more",
        "most",
        "much",
        "must",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "really",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "though",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "will",
        "with",
        "won't",
        "would",
        "wouldn't",
        "yet",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "ok",
        "okay",
        "yes",
        "yeah",
        "hi",
        "hello",
        "dear",
        "thanks",
        "thank",
        "please",
        "sorry",
        "hey",
        "regards",
        "cheers",
        "best",
        "kind",
        "sir",
        "madam",
        "mr",
        "mrs",
        "ms",
        "one",
        "two",
        "three",
        "want",
        "need",
        "know",
        "think",
        "make",
        "made",
        "going",
        "go",
        "gone",
        "see",
        "seen",
        "say",
        "said",
        "tell",
        "told",
        "time",
        "times",
        "day",
        "days",
        "again",
        "already",
        "ever",
        "never",
        "always",
        "anything",
        "something",
        "nothing",
        "everything",
        "anyone",
        "someone",
        "nobody",
        "everybody",
        "thing",
        "things",
        "way",
        "lot",
        "able",
        "via",
        "etc",
        "im",
        "ive",
        "dont",
        "cant",
        "wont",
        "didnt",
        "doesnt",
        "isnt",
        "u",
        "ur",
        "pls",
        "plz",
        "problem",
        "issue",
        "help",
        "asap",
        "today",
        "tomorrow",
        "yesterday",
        "now",
        "right",
        "well",
        "back",
    ]
)

_SUFFIXES: Final[tuple[str, ...]] = (
    "ingly",
    "edly",
    "ings",
    "ing",
    "ied",
    "ies",
    "ed",
    "es",
    "ly",
    "s",
)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match 'dropping' with 'drops'."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ied", "ies"):
                return base + "y"
            # 'stopped' -> 'stopp' -> 'stop'
            if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "aeiouls":
                base = base[:-1]
            return base
    return word


def content_stems(normalised: str) -> frozenset[str]:
    """Stems of the words that carry content (no stopwords, no one-letter words)."""
    return frozenset(
        stem(word)
        for word in _WORD.findall(normalised)
        if word not in STOPWORDS and len(word) > 2 and not word.isdigit()
    )


def word_count(text: str) -> int:
    return len(_WORD.findall(text.lower()))

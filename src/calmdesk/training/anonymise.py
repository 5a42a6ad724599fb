"""Anonymising a real conversation so it can become training material.

Pure functions over text. Personal data is replaced, not blanked, so the result
still reads like a conversation: people get invented names (the same person
keeps the same invented name across the whole conversation), emails and phone
numbers get reserved example values, order and account references get neutral
ones. Card numbers, IBANs, postcodes, street addresses and links are replaced
by labels.

Names are the hard part without a language model. They are found from what the
caller already knows (the customer's and agent's names from the records), from
the places names appear in support mail (greetings, titles, sign-offs, "my name
is", "I spoke to"), and from the local part of email addresses. Once found, a
name is replaced everywhere it appears, in every message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

FAKE_GIVEN: Final[tuple[str, ...]] = (
    "Alex", "Jamie", "Robin", "Morgan", "Charlie", "Taylor", "Jordan", "Casey",
    "Avery", "Riley", "Quinn", "Rowan", "Sasha", "Emery", "Parker", "Reese",
)  # fmt: skip
FAKE_FAMILY: Final[tuple[str, ...]] = (
    "Carter", "Ellis", "Hayes", "Lowell", "Marsh", "Pryce", "Quill", "Royce",
    "Selby", "Thorne", "Vance", "Wilde", "Yarrow", "Ashby", "Brook", "Dale",
)  # fmt: skip

# Capitalised words that follow "Hi", "Dear" and the like without being names.
NOT_NAMES: Final[frozenset[str]] = frozenset(
    word.lower()
    for word in [
        "there",
        "team",
        "all",
        "everyone",
        "everybody",
        "sir",
        "madam",
        "customer",
        "customers",
        "support",
        "service",
        "again",
        "guys",
        "folks",
        "friend",
        "colleague",
        "colleagues",
        "manager",
        "supervisor",
        "agent",
        "staff",
        "sirs",
        "madams",
        "hello",
        "hi",
        "dear",
        "thanks",
        "thank",
        "you",
        "regards",
        "best",
        "kind",
        "warm",
        "many",
        "sincerely",
        "cheers",
        "morning",
        "afternoon",
        "evening",
        "good",
        "the",
        "a",
        "an",
        "i",
        "we",
        "my",
        "our",
        "your",
        "this",
        "that",
        "it",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "today",
        "tomorrow",
        "yesterday",
        "please",
        "sorry",
        "okay",
        "ok",
        "yes",
        "no",
        "not",
        "still",
        "just",
    ]
)

_NAME_WORD = r"[A-Z][a-zà-öø-ÿ]+(?:[-'][A-Z][a-zà-öø-ÿ]+)?"
_FULL_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}}"

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_URL = re.compile(r"\bhttps?://[^\s<>\"')]+|\bwww\.[^\s<>\"')]+", re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]?\d{2,5}){1,4}(?![\w])"
)
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
_STREET = re.compile(
    r"\b\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Court|Ct|Place|Pl|"
    r"Gardens|Terrace|Crescent|Grove|Square|Boulevard|Blvd|Hill|Park|Row|Mews)\b\.?"
)
_REFERENCE_WORDS = (
    r"order(?:\s+(?:number|no\.?|num|ref(?:erence)?|id))?|ref(?:erence)?(?:\s+(?:number|no\.?))?|"
    r"booking(?:\s+(?:number|no\.?|ref(?:erence)?))?|case(?:\s+(?:number|no\.?))?|ticket(?:\s+(?:number|no\.?))?|"
    r"invoice(?:\s+(?:number|no\.?))?|account(?:\s+(?:number|no\.?))?|acct|tracking(?:\s+(?:number|no\.?|code))?|"
    r"policy(?:\s+(?:number|no\.?))?|membership(?:\s+(?:number|no\.?))?|customer\s+(?:number|no\.?|id)|"
    r"claim(?:\s+(?:number|no\.?))?|contract(?:\s+(?:number|no\.?))?|parcel"
)
_REFERENCE = re.compile(
    rf"\b(?:{_REFERENCE_WORDS})\s*(?:is\s+|was\s+)?[:#]?\s*(?P<ref>#?[A-Za-z]{{0,6}}[-/]?\d[A-Za-z0-9/-]{{2,}})",
    re.IGNORECASE,
)
_CODE_LIKE = re.compile(r"(?<![\w-])(?:#\d{4,}|[A-Z]{2,6}-?\d{4,}(?:-\d+)*)(?![\w-])")

_GREETING = re.compile(
    rf"\b(?:Hi|Hello|Hey|Dear|Morning|Good (?:morning|afternoon|evening)|Thanks|Thank you|Cheers)"
    rf",?\s+(?P<name>{_FULL_NAME})"
)
_TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?P<name>{_FULL_NAME})")
_INTRODUCTION = re.compile(
    rf"\b(?:[Mm]y name is|[Mm]y name's|[Tt]his is|[Ss]poke (?:to|with)|[Ss]peak (?:to|with)|"
    rf"[Tt]alked to|[Cc]olleague|[Aa]gent|[Cc]alled|[Nn]amed|[Aa]sk for|[Aa]sked for)\s+(?P<name>{_FULL_NAME})"
)
_SIGN_OFF = re.compile(
    rf"(?:^|\n)\s*(?:Regards|Kind regards|Best regards|Best wishes|Best|Thanks|Thank you|Many thanks|"
    rf"Cheers|Sincerely|Yours sincerely|Yours faithfully|Yours|Warm regards|All the best|Speak soon)"
    rf"[,.!]?\s*\n\s*(?P<name>{_FULL_NAME})\s*(?:$|\n)"
)
_DASH_SIGNATURE = re.compile(
    rf"(?:^|\n)\s*[-\u2013\u2014]{{1,2}}\s*(?P<name>{_FULL_NAME})\s*(?:$|\n)"
)

KIND_LABEL: Final = {
    "card": "[card number]",
    "iban": "[bank account]",
    "postcode": "[postcode]",
    "address": "[address]",
    "url": "[link]",
}


@dataclass(frozen=True, slots=True)
class Replacement:
    kind: str
    original: str
    replacement: str


@dataclass(frozen=True, slots=True)
class Anonymised:
    text: str
    replacements: tuple[Replacement, ...]


@dataclass
class Anonymiser:
    """Keeps the invented values consistent across all messages of one conversation."""

    known_names: Sequence[str] = ()
    _given: dict[str, str] = field(default_factory=dict)
    _family: dict[str, str] = field(default_factory=dict)
    _values: dict[tuple[str, str], str] = field(default_factory=dict)

    def _fake(self, kind: str, original: str) -> str:
        key = (kind, original.lower())
        if key not in self._values:
            number = sum(1 for existing in self._values if existing[0] == kind) + 1
            self._values[key] = {
                "email": f"person{number}@example.com",
                "phone": f"01632 960{number:03d}",
                "reference": f"REF-{1000 + number}",
            }.get(kind, KIND_LABEL.get(kind, f"[{kind}]"))
        return self._values[key]

    def _name_token(self, token: str, *, family: bool) -> str:
        lower = token.lower()
        if lower in self._given:
            return self._given[lower]
        if lower in self._family:
            return self._family[lower]
        if family:
            fake = FAKE_FAMILY[len(self._family) % len(FAKE_FAMILY)]
            self._family[lower] = fake
        else:
            fake = FAKE_GIVEN[len(self._given) % len(FAKE_GIVEN)]
            self._given[lower] = fake
        return fake

    def _register(self, name: str, *, title: bool = False) -> None:
        tokens = [token for token in name.split() if token.lower() not in NOT_NAMES]
        for index, token in enumerate(tokens):
            # After a title the name is a family name; otherwise the first word is given.
            self._name_token(token, family=title or index > 0)

    def _find_names(self, text: str) -> None:
        for name in self.known_names:
            if name.strip():
                self._register(name.strip())
        for pattern, title in (
            (_TITLE, True),
            (_SIGN_OFF, False),
            (_DASH_SIGNATURE, False),
            (_GREETING, False),
            (_INTRODUCTION, False),
        ):
            for match in pattern.finditer(text):
                candidate = _trim_name(match.group("name"))
                if candidate:
                    self._register(candidate, title=title)
        for match in _EMAIL.finditer(text):
            local = match.group(0).split("@", 1)[0]
            parts = [p for p in re.split(r"[._-]+", local) if p.isalpha() and len(p) > 1]
            if 1 <= len(parts) <= 3 and all(p.lower() not in NOT_NAMES for p in parts):
                for index, part in enumerate(parts):
                    if len(parts) > 1 or part.lower() in self._given:
                        self._name_token(part.capitalize(), family=index > 0)

    def anonymise(self, text: str) -> Anonymised:
        if not isinstance(text, str):
            raise TypeError(f"anonymise() takes text, not {type(text).__name__}")
        replacements: list[Replacement] = []

        def swap(kind: str, pattern: re.Pattern[str], source: str, group: str | int = 0) -> str:
            def replace(match: re.Match[str]) -> str:
                original = match.group(group)
                if original in self._values.values():
                    return match.group(0)  # a value this anonymiser invented
                if kind == "phone" and not 9 <= sum(ch.isdigit() for ch in original) <= 15:
                    return match.group(0)
                if kind == "card" and not _luhn(original):
                    return match.group(0)
                fake = self._fake(kind, original)
                replacements.append(Replacement(kind, original, fake))
                whole = match.group(0)
                start = match.start(group) - match.start(0)
                return whole[:start] + fake + whole[start + len(original) :]

            return pattern.sub(replace, source)

        self._find_names(text)
        result = swap("email", _EMAIL, text)
        result = swap("url", _URL, result)
        result = swap("iban", _IBAN, result)
        result = swap("card", _CARD, result)
        result = swap("reference", _REFERENCE, result, "ref")
        result = swap("reference", _CODE_LIKE, result)
        result = swap("phone", _PHONE, result)
        result = swap("postcode", _POSTCODE, result)
        result = swap("address", _STREET, result)
        result = self._replace_names(result, replacements)
        return Anonymised(result, tuple(replacements))

    def _replace_names(self, text: str, replacements: list[Replacement]) -> str:
        mapping = {**self._family, **self._given}
        if not mapping:
            return text
        pattern = re.compile(
            r"\b("
            + "|".join(re.escape(name) for name in sorted(mapping, key=len, reverse=True))
            + r")\b",
            re.IGNORECASE,
        )

        def replace(match: re.Match[str]) -> str:
            original = match.group(0)
            # Lower-case "will" or "mark" in running text are words, not the names Will or Mark.
            if original[0].islower():
                return original
            fake = mapping[original.lower()]
            replacements.append(Replacement("name", original, fake))
            return fake.upper() if original.isupper() and len(original) > 1 else fake

        return pattern.sub(replace, text)


def _trim_name(name: str) -> str:
    words = [word for word in name.split() if word.lower() not in NOT_NAMES]
    return " ".join(words)


def _luhn(number: str) -> bool:
    digits = [int(ch) for ch in number if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def anonymise(text: str, *, names: Iterable[str] = ()) -> Anonymised:
    """Replace the personal data in one text. `names` are people known to appear in it."""
    return Anonymiser(known_names=tuple(names)).anonymise(text)


def anonymise_conversation(
    messages: Sequence[tuple[str, str]], *, names: Iterable[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Anonymise (role, text) messages with the same invented values throughout.

    Names are collected from every message first, so a name that is only
    recognisable in a later signature is still replaced in the earlier messages.
    """
    anonymiser = Anonymiser(known_names=tuple(names))
    for _, text in messages:
        anonymiser._find_names(text)
    return tuple((role, anonymiser.anonymise(text).text) for role, text in messages)

"""The customer's claims read against a reply's flat statements, for the arguing rule.

Arguing with a customer is most often not "you're wrong" but a flat counter-claim: the
customer says the parcel never arrived and the reply says "the parcel was delivered on
Monday"; they say they were charged twice and it says "we only took one payment"; they say
the room was filthy and it says "the room was cleaned before you arrived". None of those
sentences is arguing on its own (to a customer who asked whether the parcel came, "it was
delivered on Monday" is the answer), so they are read against what the customer said.

The customer's message gives concepts (from `rules/claims.toml`): events they deny ("never
arrived", "nobody came", "no reply") and events they assert ("you hung up on me"), a count
above one ("twice", "three times"), and states they complain of ("filthy", "broken"). A reply
sentence contradicts them when it affirms a denied event in the past, denies an asserted one,
says "only one" against their count, or states the opposite of their complaint, and the
sentence (or the next one) does not hedge, ask, apologise, give the customer's side or promise
to check ("which doesn't match what you saw, so I've opened a trace").
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Final

from calmdesk.engine.coaching.text import Sentence, stem

_WORD: Final = re.compile(r"[a-z][a-z'-]*")
# Inflections a lexicon form stands for ("charge": charged, charges, charging).
_ENDINGS: Final = ("", "s", "es", "d", "ed", "ing")
# How far back (characters) the words before a term are read for a negation or an auxiliary.
_WINDOW: Final = 48
_CLAUSE: Final = re.compile(r"[^.!?;\n]+")
# How many words back a customer's negation reaches ("nobody has come to fix it": come).
_REACH: Final = 4
_NEGATION: Final = re.compile(
    r"\b(?:not|no|never|didn't|didnt|did not|don't|dont|do not|doesn't|does not|isn't|is not|"
    r"wasn't|was not|weren't|were not|hasn't|has not|haven't|have not|hadn't|can't|cannot|"
    r"couldn't|won't|wouldn't|nobody|no one|no-one|nothing|without|still waiting|yet to)\b"
)
# "marked delivered", "the tracking says delivered": the customer reports a record, they do
# not assert the event.
_REPORTED: Final = re.compile(
    r"\b(?:marked|marks|shows?|showing|says?|said|status|claims?|claimed|supposedly|apparently|"
    r"tracking|as)\s+(?:as\s+|it\s+was\s+|it's\s+|that\s+it\s+was\s+)?$"
)
# "was supposed to come", "should have arrived": an expectation, not a claim it happened.
_EXPECTED: Final = re.compile(
    r"\b(?:supposed|meant|due|expected|promised|scheduled|booked|going|set|told it would|"
    r"was to|were to)\s+(?:to\s+)?(?:\w+\s+)?$|\b(?:should|would|will|could|might|may|must)"
    r"\s+(?:have\s+)?(?:been\s+)?$"
)
# Records cited in a reply ("our system says", "the driver's log shows"): given as a lead
# when the next sentence says what the agent is checking.
_CITED_RECORD: Final = re.compile(
    r"\b(?:records?|system|logs?|tracking|notes|data|gps|scans?|report|history|screen|file|"
    r"status|proof of delivery|photo)\b[^.!?\n]{0,30}?\b(?:shows?|says?|said|showed|indicates?|"
    r"states?|has it|lists?|confirms?|records?|reads?)\b"
)
_MISSING: Final = re.compile(
    r"\b(?:missing|not (?:here|arrived|turned up|shown up)|never (?:came|arrived|turned up|"
    r"showed up)|where is (?:my|the)|where's (?:my|the)|lost in the post|still (?:not|no|waiting))\b"
)
_MANY: Final = re.compile(
    r"\b(?:twice|double|doubled|two|three|four|five|several|multiple|repeatedly|again and "
    r"again|\d+ times|x ?[2-9]|[2-9] ?x|two times|three times|tripled|duplicate)\b"
)
# A reply sentence that is not a flat counter-claim: a question, a condition, an apology,
# the customer's side given, a hedge, agreement.
_NOT_FLAT: Final = re.compile(
    r"\?|\b(?:if|whether|sorry|apologi[sz]e|apologies|you're right|you are right|youre right|"
    r"you say|you said|you've said|you mention|you mentioned|you've told|you told me|you're "
    r"telling|according to you|doesn't match|does not match|don't match|do not match|but|"
    r"however|though|although|seems?|appears?|looks like|might|possibly|perhaps|probably|"
    r"may (?:have|be|not|need|well|still|also|take|arrive|come|get)|"
    r"i think|could you|can you|would you|please|yet|unless|should|would|expected|due|"
    r"scheduled|meant to|supposed to)\b"
)
# A promise to check, in the sentence or the next one: the record is given as a lead.
_CHECKING: Final = re.compile(
    r"\b(?:i'll|ill|i will|we'll|we will|i've|ive|i have|we've|we have|let me|i'm going to|"
    r"i am going to|i'm|i am|we're|we are)\s+(?:\w+\s+){0,2}?(?:trac|investigat|check|chas|found|"
    r"look(?:ing)? into|open|rais|ask|query|find|contact|speak|call|ring|refund|replac|resend|"
    r"re-send|send|sent|book|arrang|escalat|follow|dig|review|credit|cancel|sort)\w*"
)
_NEGATED_HERE: Final = re.compile(
    r"\b(?:not|no|never|nothing|nobody|no one|didn't|didnt|did not|wasn't|wasnt|was not|"
    r"weren't|were not|isn't|is not|hasn't|has not|haven't|have not|hadn't|don't|doesn't|"
    r"can't|cannot|won't|unable)\b|n't\b"
)
_AUXILIARY: Final = re.compile(
    r"\b(?:did|was|were|has been|have been|had been|definitely|already|actually|clearly|"
    r"certainly|successfully|in fact)\s+(?:\w+\s+){0,1}$"
)
_MODAL_BEFORE: Final = re.compile(
    r"\b(?:to|will|'ll|can|could|would|should|may|might|must|shall|going to|gonna|please|"
    r"let's|can't|cannot|won't|when|once|until|till|after|before|as soon as|whenever|being|"
    r"be|is|are|am|gets|get|getting)\s+"
    r"(?:[\w']+\s+){0,2}$"
)
# A denial of a past event ("we didn't charge you twice"), not a general rule ("we don't send
# texts like that").
_PAST_NEGATION: Final = re.compile(
    r"\b(?:didn't|didnt|did not|never|wasn't|wasnt|was not|weren't|were not|hasn't|has not|"
    r"haven't|have not|hadn't|had not|nobody|no one|no-one|there's no|there is no|there was no|"
    r"there were no)\b"
)
_YOU_BEFORE: Final = re.compile(r"\byou\s+(?:\w+\s+)?$")
# The customer speaking of what they did ("I cancelled in March"): "you didn't cancel" then
# denies it rather than restating it.
_SELF_BEFORE: Final = re.compile(r"\b(?:i|i've|ive|i'd|we|we've|we'd|my)\s+(?:\w+\s+){0,2}$")
# "would never", "couldn't have": a flat denial, though it starts with a modal.
_MODAL_DENIAL: Final = re.compile(
    r"\b(?:would|could)(?:n't|nt| not| never)\s+(?:ever\s+)?(?:have\s+)?$"
)
_STATE_LEAD: Final = re.compile(
    r"\b(?:was|were|is|are|had been|has been|have been|been|left|arrived|went out|sent out|"
    r"checked|in|it's|its|they're|sent|delivered|shipped|supplied|posted|packed|gave you|dispatched|"
    r"sent you)\s+(?:\w+\s+){0,2}$"
)
_ONLY_ONE: Final = re.compile(
    r"\b(?:only|just)\s+(?:[a-z]+\s+){0,2}?(?:the\s+)?(?:one|once|a single|1)\b(?!\s+(?:more|thing|question|step|"
    r"moment|minute|second|click|sec|day|working day|per|a|an|every|each)\b)"
    r"|\bthere (?:was|is|'s|has been) (?:only |just )?(?:one|a single)\b"
)
_FUTURE: Final = re.compile(r"\b(?:will|'ll|going to|gonna|won't|shall|can|could|would)\b")


@dataclass(frozen=True, slots=True)
class _Concept:
    name: str
    stems: frozenset[str]
    phrases: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class _State:
    name: str
    complaint: frozenset[str]
    complaint_words: re.Pattern[str]
    opposite: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _Lexicon:
    concepts: tuple[_Concept, ...]
    irregular_past: frozenset[str]
    states: tuple[_State, ...]
    implies: Mapping[str, tuple[str, ...]]
    # A stem (or a form as written) -> the concepts it names: one lookup per word.
    by_stem: Mapping[str, tuple[str, ...]]
    # The words that can be a form of a concept (by their beginnings), found in one pass so
    # that only those words are looked up.
    any_word: re.Pattern[str]
    # Every concept's phrases in one pattern: the per-concept patterns run only on a hit.
    any_phrase: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class Claims:
    """What the customer said: concepts denied and asserted, a count above one, complaints."""

    denied: frozenset[str]
    asserted: frozenset[str]
    many: bool
    complaints: frozenset[str]
    # States the customer said were fine ("I returned it spotless").
    praised: frozenset[str]
    # Events the customer asserted of themselves ("I cancelled"): a reply's "you didn't"
    # denies them.
    self_asserted: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.denied or self.asserted or self.many or self.complaints or self.praised)


def _phrase_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    parts = []
    for phrase in phrases:
        first, rest = phrase.split(" ", 1)
        parts.append(re.escape(stem(first)) + r"[a-z]*\s+" + re.escape(rest))
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b")


def _trie(words: set[str]) -> str:
    """One regex alternation for `words`, branching letter by letter, so the engine tries a
    handful of branches per position instead of every word (a plain "a|b|c" is tried in turn).
    """
    if not words:
        return "(?!)"
    ends = "" in words
    branches: dict[str, set[str]] = {}
    for word in words:
        if word:
            branches.setdefault(word[0], set()).add(word[1:])
    parts = [re.escape(first) + _trie(rest) for first, rest in sorted(branches.items())]
    if ends:
        parts.append("")
    if len(parts) == 1:
        return parts[0]
    return "(?:" + "|".join(parts) + ")"


def _form(word: str) -> str:
    """A state word as a pattern: literal, or a regex when written "re:..."."""
    return word[3:] if word.startswith("re:") else re.escape(word)


@cache
def _lexicon() -> _Lexicon:
    source = resources.files("calmdesk.engine.coaching") / "rules" / "claims.toml"
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    concepts = []
    for name, forms in data["events"].items():
        words = [form for form in forms if " " not in form]
        phrases = [form for form in forms if " " in form]
        concepts.append(
            _Concept(
                name,
                frozenset(stem(word + ending) for word in words for ending in _ENDINGS)
                | frozenset(words),
                _phrase_pattern(phrases),
            )
        )
    states = []
    for name, entry in data["states"].items():
        opposite = "|".join(_form(word) for word in entry["opposite"])
        complaint = "|".join(_form(word) for word in entry["complaint"])
        states.append(
            _State(
                name,
                frozenset(stem(word) for word in entry["complaint"]),
                re.compile(r"\b(?:" + complaint + r")\b"),
                re.compile(r"\b(?:" + opposite + r")\b"),
            )
        )
    by_stem: dict[str, list[str]] = {}
    for concept in concepts:
        for key in concept.stems:
            by_stem.setdefault(key, []).append(concept.name)
    sources = [concept.phrases.pattern for concept in concepts if concept.phrases is not None]
    # A stem is the beginning of its forms, but for "-ied" ("replied": "reply").
    beginnings = set(by_stem) | {key[:-1] + "i" for key in by_stem if key.endswith("y")}
    any_word = re.compile(r"(?<![a-z'-])" + _trie(beginnings) + r"[a-z'-]*")
    return _Lexicon(
        tuple(concepts),
        frozenset(data["past"]["irregular"]),
        tuple(states),
        {key: tuple(value) for key, value in data.get("implies", {}).items()},
        {key: tuple(names) for key, names in by_stem.items()},
        any_word,
        re.compile("|".join(sources)) if sources else None,
    )


@lru_cache(maxsize=128)
def _words_of(concepts: frozenset[str]) -> re.Pattern[str]:
    """`_Lexicon.any_word` for some concepts only (a reply is read for the customer's)."""
    lexicon = _lexicon()
    keys = {key for key, names in lexicon.by_stem.items() if concepts.intersection(names)}
    keys |= {key[:-1] + "i" for key in keys if key.endswith("y")}
    return re.compile(r"(?<![a-z'-])" + _trie(keys) + r"[a-z'-]*")


def _terms(
    text: str, lexicon: _Lexicon, only: frozenset[str] | None = None
) -> Iterator[tuple[str, int, int]]:
    """(concept, start, end) of every event word or phrase in `text` (normalised); with
    `only`, of those concepts alone."""
    by_stem = lexicon.by_stem
    words = lexicon.any_word if only is None else _words_of(only)
    for match in words.finditer(text):
        word = match.group(0)
        names = by_stem.get(word) or by_stem.get(stem(word))
        if names:
            for name in names:
                if only is None or name in only:
                    yield name, match.start(), match.end()
    concepts = [
        concept
        for concept in lexicon.concepts
        if concept.phrases is not None and (only is None or concept.name in only)
    ]
    if not concepts or lexicon.any_phrase is None:
        return
    if only is None and lexicon.any_phrase.search(text) is None:
        return
    for concept in concepts:
        if concept.phrases is not None:
            for match in concept.phrases.finditer(text):
                yield concept.name, match.start(), match.end()


def _negated(clause: str, start: int) -> bool:
    """Whether a negation ends within `_REACH` words before `start` in `clause`."""
    before = clause[max(0, start - _WINDOW) : start]
    words = before.split()
    window = " ".join(words[-_REACH:]) if words else ""
    return bool(_NEGATION.search(window))


@lru_cache(maxsize=256)
def customer_claims(customer_norm: str) -> Claims:
    """The concepts the customer denied and asserted, a count above one, their complaints."""
    lexicon = _lexicon()
    denied: set[str] = set()
    asserted: set[str] = set()
    complaints: set[str] = set()
    praised: set[str] = set()
    self_asserted: set[str] = set()
    for clause_match in _CLAUSE.finditer(customer_norm):
        clause = clause_match.group(0)
        missing = bool(_MISSING.search(clause))
        for concept, start, _end in _terms(clause, lexicon):
            if _REPORTED.search(clause, max(0, start - _WINDOW), start) or _EXPECTED.search(
                clause, max(0, start - _WINDOW), start
            ):
                continue
            if _negated(clause, start):
                denied.add(concept)
            else:
                asserted.add(concept)
                if _SELF_BEFORE.search(clause, max(0, start - _WINDOW), start):
                    self_asserted.add(concept)
        if missing:
            denied.add("delivery")
        for match in _WORD.finditer(clause):
            word_stem = stem(match.group(0))
            for state in lexicon.states:
                if word_stem in state.complaint and not _negated(clause, match.start()):
                    complaints.add(state.name)
        for state in lexicon.states:
            for match in state.opposite.finditer(clause):
                if not _negated(clause, match.start()):
                    praised.add(state.name)
    # Not receiving something denies that it was sent or delivered ("I never got the letter"
    # / "the letter was posted to you").
    for concept in tuple(denied):
        denied.update(lexicon.implies.get(concept, ()))
    return Claims(
        frozenset(denied - asserted),
        frozenset(asserted - denied),
        bool(_MANY.search(customer_norm)),
        frozenset(complaints - praised),
        frozenset(praised - complaints),
        frozenset(self_asserted - denied),
    )


def _is_past(word: str, lexicon: _Lexicon) -> bool:
    return word.endswith("ed") or word in lexicon.irregular_past


def contradictions(
    draft_norm: str, sentences: tuple[Sentence, ...], customer_norm: str
) -> list[tuple[int, int]]:
    """Spans (into the draft) of the reply's flat counter-claims against the customer's."""
    if not customer_norm or not sentences:
        return []
    claims = customer_claims(customer_norm)
    if claims.empty:
        return []
    lexicon = _lexicon()
    # One pass over the whole draft for the words that could carry a counter-claim; only the
    # sentences holding one are read further (most hold none).
    candidates: set[int] = set()
    starts = [sentence.start for sentence in sentences]
    relevant = claims.denied | claims.asserted
    if relevant:
        for concept, at, end in _terms(draft_norm, lexicon, relevant):
            index = bisect_right(starts, at) - 1
            if index in candidates:
                continue
            low = max(0, at - _WINDOW, sentences[index].start if index >= 0 else 0)
            if _term_against(concept, draft_norm[low:at], draft_norm[at:end], claims, lexicon):
                candidates.add(index)
    if claims.many:
        for match in _ONLY_ONE.finditer(draft_norm):
            candidates.add(bisect_right(starts, match.start()) - 1)
    for state in lexicon.states:
        if state.name in claims.complaints:
            pattern = state.opposite
        elif state.name in claims.praised:
            pattern = state.complaint_words
        else:
            continue
        for match in pattern.finditer(draft_norm):
            candidates.add(bisect_right(starts, match.start()) - 1)
    spans: list[tuple[int, int]] = []
    for index in sorted(candidates):
        if index < 0:
            continue
        sentence = sentences[index]
        text = draft_norm[sentence.start : sentence.end]
        negated = _NEGATED_HERE.search(text) is not None
        found = _sentence_contradiction(text, claims, lexicon, negated)
        if found is None or _NOT_FLAT.search(text) or _CHECKING.search(text):
            continue
        following = sentences[index + 1] if index + 1 < len(sentences) else None
        if following is not None and _CHECKING.search(draft_norm[following.start : following.end]):
            continue
        start, end = found
        spans.append((sentence.start + start, sentence.start + end))
    return spans


def given_as_a_lead(draft_norm: str, sentences: tuple[Sentence, ...], index: int) -> bool:
    """Whether sentence `index` cites a record and the sentence after it (or the same one)
    says what the agent is doing to check it: "The log says he delivered it. I'm checking with
    him now." gives the record as a lead, not as a verdict."""
    sentence = sentences[index]
    text = draft_norm[sentence.start : sentence.end]
    if not _CITED_RECORD.search(text):
        return False
    if _CHECKING.search(text):
        return True
    following = sentences[index + 1] if index + 1 < len(sentences) else None
    return following is not None and bool(
        _CHECKING.search(draft_norm[following.start : following.end])
    )


def _clause_start(text: str, at: int) -> int:
    """The start of the clause holding offset `at` (after the last comma, colon or dash)."""
    cut = max(text.rfind(",", 0, at), text.rfind(":", 0, at), text.rfind(" - ", 0, at))
    return 0 if cut < 0 else cut + 1


def _term_against(
    concept: str, before: str, term: str, claims: Claims, lexicon: _Lexicon
) -> str | None:
    """How an event term, read with the words `before` it, goes against the customer:
    "affirms" an event they denied (in the past, not after a modal or "when"), "denies" one
    they asserted (after a past negation, not "you didn't" restating them), or None."""
    if _MODAL_BEFORE.search(before) and not (
        concept in claims.asserted and _MODAL_DENIAL.search(before)
    ):
        return None
    if concept in claims.denied and (
        _AUXILIARY.search(before) is not None or _is_past(term.split()[0], lexicon)
    ):
        return "affirms"
    if (
        concept in claims.asserted
        and (concept in claims.self_asserted or not _YOU_BEFORE.search(before))
        and (_PAST_NEGATION.search(" ".join(before.split()[-3:])) or _MODAL_DENIAL.search(before))
    ):
        return "denies"
    return None


def _sentence_contradiction(
    text: str, claims: Claims, lexicon: _Lexicon, negated: bool
) -> tuple[int, int] | None:
    for concept, start, end in _terms(text, lexicon, claims.denied | claims.asserted):
        before = text[max(0, start - _WINDOW) : start]
        found = _term_against(concept, before, text[start:end], claims, lexicon)
        if (found == "affirms" and not negated) or (found == "denies" and negated):
            return _clause_start(text, start), end
    if claims.many and not _FUTURE.search(text):
        match = _ONLY_ONE.search(text)
        if match is not None:
            return _clause_start(text, match.start()), match.end()
    if (claims.complaints or claims.praised) and not negated:
        for state in lexicon.states:
            if state.name in claims.complaints:
                match = state.opposite.search(text)
            elif state.name in claims.praised:
                match = state.complaint_words.search(text)
            else:
                continue
            if match is not None and _STATE_LEAD.search(text[: match.start()]):
                return _clause_start(text, match.start()), match.end()
    return None

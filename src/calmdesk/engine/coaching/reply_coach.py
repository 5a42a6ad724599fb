"""`coach(draft, conversation=...)`: findings, techniques, score and promises for one reply."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from calmdesk.engine.coaching.claims import contradictions, given_as_a_lead
from calmdesk.engine.coaching.conversation import (
    Turn,
    as_text,
    customer_texts_answered,
    read_turns,
)
from calmdesk.engine.coaching.customer import CALM, CustomerMood, combined_mood
from calmdesk.engine.coaching.promises import find_promises, time_expression_starts
from calmdesk.engine.coaching.rules import GatedPattern, Rule, RuleBook, rulebook, word_starts
from calmdesk.engine.coaching.text import (
    STOPWORDS,
    Sentence,
    content_stems,
    normalise,
    split_sentences,
    stem,
    word_count,
)
from calmdesk.engine.coaching.tone import ToneModel, packaged_tone_model
from calmdesk.engine.coaching.types import (
    RULE_IDS,
    TECHNIQUES,
    Coaching,
    Finding,
    FindingEvidence,
    ScoreReason,
    Severity,
)
from calmdesk.engine.rules import scan as scan_signals
from calmdesk.engine.veiled import KNOWS, MENACE
from calmdesk.engine.veiled import recognise as recognise_veiled

# Probabilities reported for a technique, by the strength of the evidence. Hand-set: a cue
# phrase for the technique is strong evidence, its absence weak evidence against.
P_FOUND: Final = 0.9
P_ABSENT: Final = 0.05
P_NEXT_STEP_TIMED: Final = 0.95
P_NEXT_STEP_UNTIMED: Final = 0.8
P_QUESTION_MARK: Final = 0.9
P_POLITE_QUESTION: Final = 0.8
P_HOLLOW_EMPATHY: Final = 0.3
# A paraphrase acknowledges the customer before a fix only when it clearly restates them: an
# on-topic explanation shares the customer's words too ("tickets auto-close after 72h").
P_ACKNOWLEDGING_PARAPHRASE: Final = 0.85

# Score: the techniques earn points (weights sum to 100 - base), findings cost points.
_BASE_UPSET: Final = 50
_WEIGHTS_UPSET: Final[dict[str, int]] = {
    "apology": 8, "empathy": 10, "paraphrase": 8, "question": 5, "ownership": 8,
    "next_step": 8, "thanks": 3,
}  # fmt: skip
_BASE_CALM: Final = 60
_WEIGHTS_CALM: Final[dict[str, int]] = {
    "apology": 3, "empathy": 3, "paraphrase": 4, "question": 5, "ownership": 10,
    "next_step": 12, "thanks": 3,
}  # fmt: skip
_PENALTY: Final[dict[str, int]] = {"low": 4, "medium": 8, "high": 14, "blocking": 40}
# A blocking finding caps the score: such a reply should not go out as it is.
_BLOCKING_CAP: Final = 15
# Above this customer anger/frustration the reply is scored as a reply to an upset customer.
UPSET: Final = 0.35
_RULE_ORDER: Final[dict[str, int]] = {rule_id: index for index, rule_id in enumerate(RULE_IDS)}

_TECHNIQUE_OF_RULE: Final[dict[str, str]] = {
    "apology": "apology",
    "empathy": "empathy",
    "paraphrase": "paraphrase",
    "clarifying_question": "question",
    "ownership": "ownership",
    "next_step": "next_step",
    "thanks": "thanks",
}
# Questions that overlap these findings are not genuine clarifying questions.
_HOSTILE_RULES: Final[frozenset[str]] = frozenset(
    {"sarcasm", "condescension", "insult", "arguing", "mirroring_hostility", "blame", "threat_back"}
)
# Techniques that acknowledge the customer before a fix (thanks included: "thank you for
# flagging this" does not read as rushing to a solution).
_ACKNOWLEDGING_RULES: Final[frozenset[str]] = frozenset(
    {"apology", "empathy", "paraphrase", "thanks"}
)
# Findings that answer the customer's tone rather than their problem: a sentence with one of
# them is not the reply's fix. Talking down ("type more carefully this time") and retorts
# ("be my guest, cancel it") are reactions too, whatever verb they use.
_REACTION_RULES: Final[frozenset[str]] = frozenset(
    {
        "dismissing_emotion",
        "sarcasm",
        "insult",
        "threat_back",
        "condescension",
        "mirroring_hostility",
    }
)
# Findings that make a sentence a statement of policy or of whose job it is, not a fix.
_STATEMENT_RULES: Final[frozenset[str]] = frozenset({"policy_hiding", "refusing_ownership"})
_ACTION_AFTER: Final = re.compile(r"(?:\bto|\bmust|\bshould|\bthat|\byou|\bis)\s*$")
_EMAIL: Final = re.compile(
    r"\b[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,5}\b"
)
# Mailboxes that belong to an organisation, not a person.
_ROLE_MAILBOXES: Final = re.compile(
    r"^(?:support|help|helpdesk|service|services|care|customercare|customer\.?care|"
    r"customerservice|customer\.?service|billing|accounts?|info|contact|hello|hi|team|no-?reply|"
    r"do-?not-?reply|sales|complaints?|returns|orders|refunds|admin|enquir(?:y|ies)|feedback|"
    r"privacy|dpo|legal|bookings?|reservations|office|payments|claims|escalations?|"
    r"resolutions?|[a-z]+[._-]?team)(?:[._+-][a-z0-9]+)?@"
)
# Capitalised words that are not a person's name: sentence openers, greetings and sign-offs,
# and the words that name a business or one of its places ("Customer Services at 12 Station
# Road", "Our Returns Team, 4 Dock Rd").
_NOT_A_NAME: Final[frozenset[str]] = frozenset({
    "our", "the", "your", "my", "his", "her", "their", "a", "an", "this", "that", "these",
    "those", "dear", "hi", "hello", "thanks", "thank", "sorry", "yes", "no", "and", "but", "so",
    "then", "customer", "customers", "head", "main", "post", "returns", "repair", "repairs",
    "sorting", "delivery", "collection", "service", "services", "care", "support", "kind", "best",
    "many", "warm", "team", "office", "centre", "center", "department", "depot", "ltd", "limited",
    "plc", "warehouse", "branch", "store", "shop", "hub", "house", "hall", "surgery", "station",
    "library", "council", "hotel", "bank", "school", "hospital", "church", "regards", "wishes",
    "please",
})  # fmt: skip
_CAPS_WORD: Final = re.compile(r"\b[A-Z]{2,}(?:'[A-Z]+)?\b")
# Short words that are shouting when capitalised at a hostile customer ("No, YOU read it").
_SHOUTED_PRONOUNS: Final[frozenset[str]] = frozenset(
    ["YOU", "YOUR", "YOU'RE", "YOU'VE", "YOU'LL", "YOU'D", "YOURSELF", "ME", "MY"]
)
# "Thank YOU": a capitalised pronoun after thanks is warmth, not shouting.
_THANKED: Final = re.compile(r"\b(?:thank|thanks to|grateful to)\s+$", re.IGNORECASE)
# Capitalised words that are names of things, not shouting.
_ACRONYMS: Final[frozenset[str]] = frozenset(
    [
        "ASAP",
        "FAQ",
        "FAQS",
        "SMS",
        "MMS",
        "VAT",
        "IBAN",
        "BIC",
        "PDF",
        "URL",
        "DNS",
        "API",
        "ID",
        "IDS",
        "PIN",
        "CVV",
        "UK",
        "USA",
        "US",
        "EU",
        "GB",
        "NHS",
        "HMRC",
        "BBC",
        "TV",
        "OK",
        "PM",
        "AM",
        "EOD",
        "ETA",
        "SLA",
        "IT",
        "HR",
        "CEO",
        "CFO",
        "UPS",
        "DHL",
        "DPD",
        "TNT",
        "USPS",
        "GPS",
        "SIM",
        "ATM",
        "ISA",
        "IRA",
        "LLC",
        "LTD",
        "PLC",
        "APR",
        "EMI",
        "PAYG",
        "DD",
        "BT",
        "EE",
        "O2",
        "WIFI",
        "WI-FI",
        "HD",
        "USB",
        "PC",
        "MAC",
        "IOS",
        "CRM",
        "KYC",
        "GDPR",
        "ICO",
        "FCA",
        "CAA",
        "RMA",
        "SKU",
        "QR",
        "NFC",
        "ISP",
        "VPN",
        "SSID",
        "PPI",
        "RSVP",
        "PS",
        "NB",
        "CC",
        "BCC",
        "HQ",
    ]
)
# A short capitalised token standing alone in lower-case text: an internal abbreviation
# ("a PSP void", "the WMS sync") unless it is one customers use themselves.
_ABBREVIATION: Final = re.compile(r"(?<![A-Za-z0-9'-])[A-Z]{2,6}s?(?![A-Za-z0-9'-])")
# Short capitalised words that are ordinary English (shouted), not abbreviations.
_SHOUTED_WORDS: Final[frozenset[str]] = frozenset(
    [
        "yes",
        "now",
        "not",
        "all",
        "any",
        "why",
        "how",
        "off",
        "out",
        "get",
        "got",
        "did",
        "was",
        "can",
        "too",
        "new",
        "old",
        "bad",
        "sad",
        "mad",
        "one",
        "two",
        "six",
        "ten",
        "day",
        "way",
        "say",
        "see",
        "pay",
        "own",
        "buy",
        "try",
        "ask",
        "hey",
        "wow",
        "omg",
        "lol",
        "ffs",
        "wtf",
        "yet",
        "our",
        "who",
        "what",
        "are",
        "has",
        "had",
        "her",
        "his",
        "him",
        "its",
        "let",
        "may",
        "put",
        "run",
        "set",
        "use",
        "via",
        "ago",
        "big",
        "hot",
        "top",
        "far",
        "few",
        "lot",
    ]
)
# Abbreviations everyone knows (beyond the _ACRONYMS that are not shouting either).
_PLAIN_ABBREVIATIONS: Final[frozenset[str]] = frozenset(
    [
        "GP",
        "MP",
        "DVD",
        "CD",
        "AI",
        "BA",
        "NI",
        "DIY",
        "VIP",
        "UV",
        "LED",
        "CCTV",
        "MOT",
        "ISO",
        "UTC",
        "GMT",
        "BST",
        "CET",
        "EST",
        "PST",
    ]
)
# Longest stretch treated as one sentence around a match (characters).
MAX_SENTENCE: Final = 300
_BUT: Final = re.compile(r"^[\s,;:-]*(?:but|however|though|although)\b")


@dataclass(frozen=True, slots=True)
class _Draft:
    text: str
    norm: str
    sentences: tuple[Sentence, ...]
    starts: tuple[int, ...]
    # The phrasings worth running on this draft, by rule id (see GateIndex.open_by_rule).
    opened: Mapping[str, tuple[GatedPattern, ...]]
    word_starts: Mapping[str, list[int]]  # of `norm` (see rules.word_starts)

    def sentence_of(self, start: int, end: int) -> Sentence:
        """The sentence around a match; in a run-on "sentence" only a window around it.

        The window keeps the work per match bounded, so a draft with no full stops and
        thousands of matches still costs linear time.
        """
        index = bisect_right(self.starts, start) - 1
        if index >= 0:
            sentence = self.sentences[index]
            if sentence.start <= start < sentence.end:
                if sentence.end - sentence.start <= MAX_SENTENCE:
                    return sentence
                low = max(sentence.start, start - MAX_SENTENCE // 2)
                high = min(sentence.end, max(end, start + MAX_SENTENCE // 2))
                return Sentence(low, high, self.text[low:high])
        return Sentence(start, end, self.text[start:end])


@dataclass(frozen=True, slots=True)
class _Context:
    mood: CustomerMood
    known: bool
    customer_norm: str
    customer_stems: frozenset[str]
    every_customer_norm: str
    # The agent's earlier replies in the thread, joined ("" when none).
    previous_replies: str = ""

    @property
    def upset(self) -> bool:
        """Upset customer, or unknown: the coach is built for hard conversations."""
        return not self.known or self.mood.upset >= UPSET


@dataclass(frozen=True, slots=True)
class _Hit:
    rule: Rule
    start: int
    end: int
    match_start: int
    match_end: int
    sentence: Sentence
    strength: float = P_FOUND
    evidence: FindingEvidence = "rule"


@lru_cache(maxsize=512)
def _customer_stems(text: str) -> frozenset[str]:
    return content_stems(normalise(text))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:-"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:-"):
        end -= 1
    return start, end


def _matches(rule: Rule, draft: _Draft) -> Iterator[re.Match[str]]:
    for gated in draft.opened.get(rule.id, ()):
        yield from gated.finditer(draft.norm, draft.word_starts)
    if rule.start_pattern is not None:
        for sentence in draft.sentences:
            match = rule.start_pattern.match(draft.norm, sentence.start, sentence.end)
            if match is not None:
                yield match


def _matches_in(rule: Rule, norm: str) -> bool:
    """Whether the rule's patterns match in `norm`, a sentence or another short text."""
    if rule.pattern is not None and rule.pattern.search(norm):
        return True
    return rule.start_pattern is not None and rule.start_pattern.match(norm) is not None


def _matches_draft(rule: Rule, draft: _Draft) -> bool:
    """Whether the rule's patterns match anywhere in the draft (gated, for long drafts)."""
    return next(_matches(rule, draft), None) is not None


def _pattern_hits(rule: Rule, draft: _Draft) -> list[_Hit]:
    return _hits_at(rule, draft, (match.span() for match in _matches(rule, draft)))


def _hits_at(rule: Rule, draft: _Draft, spans: Iterable[tuple[int, int]]) -> list[_Hit]:
    """A hit of `rule` at each span, trimmed, unless its sentence holds the rule's exception."""
    hits: list[_Hit] = []
    for raw_start, raw_end in spans:
        start, end = _trim(draft.norm, raw_start, raw_end)
        if end <= start:
            continue
        sentence = draft.sentence_of(start, end)
        if rule.exception is not None and rule.exception.search(
            draft.norm[sentence.start : sentence.end]
        ):
            continue
        hits.append(_span_hit(rule, start, end, sentence))
    return hits


# Only the customer reader's firmest threat readings (harm to a body, "I know where you live",
# veiled cue pairs): its lighter ones ("make you pay", 0.75) are ordinary words in a reply
# about billing. Soft menace ("threat_soft") is not used.
_VIOLENCE_WEIGHT: Final = 0.8


def _violence_hits(rule: Rule, draft: _Draft) -> list[_Hit]:
    """Threats of violence in the draft itself, read as the engine reads a customer's.

    The threat_back phrasings cover sanctions the company controls (bans, closures, lawyers);
    an agent who answers abuse with "I'll smash your face in" or "I know which car is yours"
    threatens back too, and the customer reader already knows those forms.
    """
    text = draft.text
    if not text.strip():
        return []
    flags, _topics = scan_signals(text)
    if any(flag.kind in (KNOWS, MENACE) for flag in flags):
        flags = recognise_veiled(text, flags)
    spans = sorted(
        (flag.start, flag.end)
        for flag in flags
        if flag.kind == "threat" and flag.weight >= _VIOLENCE_WEIGHT
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        # Two rules on one threat ("I will smash" + "smash your face") make one finding.
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    hits = []
    for start, end in merged:
        sentence = draft.sentence_of(start, end)
        if _REPORTED_WORDS.search(text, sentence.start, start):
            continue  # "you said you would kill the driver": the customer's words, quoted
        start, end = _trim(text, start, end)
        hits.append(_span_hit(rule, start, end, sentence))
    return hits


_REPORTED_WORDS: Final = re.compile(
    r"\b(?:said|say|says|told|tell|wrote|write|threatened|threaten|mentioned|claimed|quote|"
    r"quoted|report(?:ed)?|according to)\b",
    re.IGNORECASE,
)


def _span_hit(
    rule: Rule, start: int, end: int, sentence: Sentence, strength: float = P_FOUND
) -> _Hit:
    if rule.span == "sentence":
        return _Hit(rule, sentence.start, sentence.end, start, end, sentence, strength)
    return _Hit(rule, start, end, start, end, sentence, strength)


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


# --- detectors of the good techniques -------------------------------------------------------


def _paraphrase_hits(rule: Rule, draft: _Draft, context: _Context) -> tuple[list[_Hit], float]:
    """Sentences that restate what the customer wrote: cue phrases and shared content words."""
    min_shared = int(rule.param("min_shared", 2))
    min_shared_plain = int(rule.param("min_shared_without_cue", 3))
    min_coverage = rule.param("min_coverage_without_cue", 0.3)
    best = 0.0
    hits: list[_Hit] = []
    customer = context.customer_stems
    cued = {hit.sentence.start for hit in _pattern_hits(rule, draft)}
    for sentence in draft.sentences:
        norm = draft.norm[sentence.start : sentence.end]
        cue = sentence.start in cued
        if customer:
            shared = len(content_stems(norm) & customer)
            coverage = shared / max(1, min(len(customer), 12))
            if cue and shared >= min_shared:
                probability = 0.9
            elif cue and shared == 1:
                probability = 0.6
            elif shared >= min_shared_plain and coverage >= min_coverage:
                probability = 0.85 if shared >= 5 else 0.7
                # A commitment that names the problem is mostly a promise, not a restatement.
                if re.match(r"(?:i'll|i will|i've|i have|we'll|we will|let me)\b", norm):
                    probability -= 0.2
            elif shared >= min_shared_plain:
                probability = 0.45
            else:
                probability = 0.3 if cue else 0.05
        else:
            # No customer text to compare with: a cue over a real clause is all we can judge.
            probability = 0.6 if cue and word_count(norm) >= 5 else 0.05
        best = max(best, probability)
        if probability >= 0.5:
            hits.append(
                _Hit(
                    rule,
                    sentence.start,
                    sentence.end,
                    sentence.start,
                    sentence.end,
                    sentence,
                    probability,
                )
            )
    return hits, best


def _question_hits(rule: Rule, draft: _Draft, hostile: list[_Hit]) -> list[_Hit]:
    hits: list[_Hit] = []
    hostile_sentences = {draft.sentence_of(hit.start, hit.end).start for hit in hostile}
    polite = {draft.sentence_of(m.start(), m.end()).start for m in _matches(rule, draft)}
    for sentence in draft.sentences:
        norm = draft.norm[sentence.start : sentence.end]
        if norm.rstrip("\"')] ").endswith("?"):
            strength = P_QUESTION_MARK
        elif sentence.start in polite:
            strength = P_POLITE_QUESTION
        else:
            continue
        if sentence.start in hostile_sentences:
            continue
        if rule.exception is not None and rule.exception.search(norm):
            continue
        hits.append(_span_hit(rule, sentence.start, sentence.end, sentence, strength))
    return hits


def _next_step_hits(rule: Rule, draft: _Draft) -> list[_Hit]:
    hits: list[_Hit] = []
    times = time_expression_starts(draft.norm)
    seen: set[int] = set()
    for hit in _pattern_hits(rule, draft):
        if hit.sentence.start in seen:
            continue
        seen.add(hit.sentence.start)
        first_time = bisect_left(times, hit.sentence.start)
        timed = first_time < len(times) and times[first_time] < hit.sentence.end
        strength = P_NEXT_STEP_TIMED if timed else P_NEXT_STEP_UNTIMED
        hits.append(
            _Hit(rule, hit.start, hit.end, hit.match_start, hit.match_end, hit.sentence, strength)
        )
    return hits


# --- detectors of the context rules ---------------------------------------------------------


def _hollow_hits(
    rule: Rule, draft: _Draft, context: _Context, techniques: dict[str, float]
) -> list[_Hit]:
    if not context.upset or techniques["empathy"] >= 0.5 or techniques["paraphrase"] >= 0.5:
        return []
    if context.known and context.mood.upset < rule.param("min_customer_upset", UPSET):
        return []
    max_extra = int(rule.param("max_extra_words", 3))
    hits: list[_Hit] = []
    for hit in _pattern_hits(rule, draft):
        rest = draft.norm[hit.match_end : hit.sentence.end]
        if word_count(rest) <= max_extra or _BUT.match(rest):
            hits.append(hit)
    return hits


def _solution_first_hits(
    book: RuleBook,
    draft: _Draft,
    context: _Context,
    acknowledged: list[int],
    reactions: frozenset[int],
    statements: frozenset[int],
) -> list[_Hit]:
    """The first sentence that offers a fix, when nothing in the reply acknowledged the
    customer's feeling. Sentences in `reactions` (their starts) answer the customer's
    tone, not the problem ("Calm down", an insult back), so they are not the fix. Sentences in
    `statements` state a policy or whose job it is ("Our claims process states assessments
    take up to 90 days"): a reply made only of those explains and offers no fix, so it is not
    solution-first (it is policy hiding or refusing ownership); followed by a fix, the
    statement is where the fix begins."""
    rule = book["solution_before_acknowledgement"]
    if not context.known or context.mood.heat < rule.param("min_customer_heat", 0.4):
        return []
    solutions = [hit for hit in _pattern_hits(rule, draft) if hit.sentence.start not in reactions]
    if all(hit.sentence.start in statements for hit in solutions):
        return []
    first = min(solutions, key=lambda hit: hit.match_start)
    # The rule is about a reply that offers a fix with no acknowledgement at all: an apology
    # or a named feeling anywhere in the reply (the sentence after the fix included) means
    # the agent did not skip the customer's feeling.
    if acknowledged:
        return []
    # An earlier reply already apologised or named the feeling: moving on to the fix now
    # is the right order, not a rush past the customer.
    if _acknowledges(book, context.previous_replies):
        return []
    return [first]


def _acknowledges(book: RuleBook, text: str) -> bool:
    """Whether the agent's earlier replies (`text`) apologised or named the feeling."""
    if not text.strip():
        return False
    if book is rulebook():
        return _acknowledged_before(text)
    return _acknowledges_now(book, text)


@lru_cache(maxsize=256)
def _acknowledged_before(text: str) -> bool:
    """`_acknowledges` with the packaged rules, cached by the earlier replies' text: the same
    thread is re-coached at every pause in typing, and reading all its replies costs about as
    much as the draft itself."""
    return _acknowledges_now(rulebook(), text)


def _acknowledges_now(book: RuleBook, text: str) -> bool:
    earlier = _draft_of(text, book)
    return any(_matches_draft(book[rule_id], earlier) for rule_id in ("apology", "empathy"))


def _no_next_step_hits(
    rule: Rule, draft: _Draft, context: _Context, techniques: dict[str, float]
) -> list[_Hit]:
    if not draft.sentences:
        return []
    if context.known:
        mood = context.mood
        troubled = max(mood.negative, mood.upset) >= rule.param("min_customer_problem", 0.3)
        asking = "?" in context.customer_norm
        if not (troubled or asking) or (mood.gratitude >= 0.5 and mood.negative < 0.3):
            return []
    elif word_count(draft.text) < 4:
        return []
    if max(techniques["next_step"], techniques["ownership"], techniques["question"]) >= 0.5:
        return []
    if _matches_draft(rule, draft):
        return []  # the reply says the problem is already solved
    last = draft.sentences[-1]
    return [_Hit(rule, last.start, last.end, last.start, last.end, last)]


def _long_sentence_hits(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    limit = rule.param("max_words_upset", 36) if context.upset else rule.param("max_words", 45)
    return [
        _Hit(rule, sentence.start, sentence.end, sentence.start, sentence.end, sentence)
        for sentence in draft.sentences
        if word_count(sentence.text) > limit
    ]


def _mirroring_hits(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    mood = context.mood
    hostile_customer = not context.known or mood.hostile >= rule.param(
        "min_customer_hostility", 0.5
    )
    # A plainly upset customer ("where the f*** is my sofa") whom the hostility score rates
    # low: capitals shouted back at them are mirroring too, but only unmistakable shouting (a
    # run of capitalised words, "YOU", "MY"), since a lone long capitalised word is as often
    # an abbreviation and "!!" as often warmth.
    upset_customer = hostile_customer or mood.upset >= rule.param("min_customer_upset", 1.01)
    hits: list[_Hit] = []
    for hit in _pattern_hits(rule, draft):
        shouting_marks = draft.norm[hit.match_start : hit.match_end].strip("!?") == ""
        if hostile_customer or not shouting_marks:
            hits.append(hit)
    if not upset_customer:
        return hits
    if context.known:
        hits.extend(_echo_hits(rule, draft, context))
    # Shouting in capitals: two capitalised words in a row, or one long one, not an acronym.
    run: list[re.Match[str]] = []
    for match in _CAPS_WORD.finditer(draft.text):
        word = match.group(0)
        if word in _ACRONYMS:
            run = []
            continue
        if run and draft.text[run[-1].end() : match.start()].strip(" ,") == "":
            run.append(match)
        else:
            run = [match]
        lone = len(run) == 1 and (
            (word in _SHOUTED_PRONOUNS and not _THANKED.search(draft.text, 0, match.start()))
            or (hostile_customer and len(word) >= 4)
        )
        if len(run) == 2 or lone:
            start = run[0].start()
            hits.append(_span_hit(rule, start, match.end(), draft.sentence_of(start, match.end())))
    return hits


# An echo question ("Useless, is it?", "You'll regret it?", "pathetic??") throws the
# customer's own words back at them; a real question starts with a question word or names the
# thing asked about ("The Lisbon flight?").
_ECHO_MAX_WORDS: Final = 5
_ECHO_TAGS: Final[frozenset[str]] = frozenset(
    ["really", "eh", "huh", "is it", "was it", "are they", "were they", "did they", "did you"]
)
_ECHO_WORD: Final = re.compile(r"[a-z][a-z']*")
_NOT_ECHO_START: Final[frozenset[str]] = frozenset(
    [
        *("what", "which", "when", "where", "who", "whom", "whose", "how", "why", "could"),
        *("can", "would", "will", "do", "does", "did", "is", "are", "was", "were", "have"),
        *("has", "shall", "should", "may", "might", "the", "your", "my", "our", "this"),
        *("that", "these", "those", "a", "an", "any"),
    ]
)


def _echo_hits(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    hits: list[_Hit] = []
    for sentence in draft.sentences:
        norm = draft.norm[sentence.start : sentence.end].strip()
        if not norm.endswith("?"):
            continue
        words = _ECHO_WORD.findall(norm)
        if not words or len(words) > _ECHO_MAX_WORDS or words[0] in _NOT_ECHO_START:
            continue
        if words[-1] in _ECHO_TAGS or (len(words) > 1 and " ".join(words[-2:]) in _ECHO_TAGS):
            continue  # "Fourth week, is it?", "Thieves, really?": sarcasm, not mirroring
        content = [word for word in words if word not in STOPWORDS and len(word) > 2]
        if content and all(stem(word) in context.customer_stems for word in content):
            start, end = _trim(draft.norm, sentence.start, sentence.end)
            hits.append(_span_hit(rule, start, end, sentence))
    return hits


def _abbreviation_hits(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    """Internal abbreviations ("the DD was re-presented", "a PSP void") said to an upset
    customer who did not use them. Only short ones: a longer capitalised word is as often a
    shouted English word, which is mirroring, not jargon."""
    if context.known and context.mood.upset < rule.param("min_customer_upset", UPSET):
        return []
    longest = int(rule.param("max_abbreviation_letters", 3))
    hits: list[_Hit] = []
    text = draft.text
    for match in _ABBREVIATION.finditer(text):
        token = match.group(0)
        word = token[:-1] if token.endswith("s") and len(token) > 2 else token
        if len(word) > longest or word in _ACRONYMS or word in _PLAIN_ABBREVIATIONS:
            continue
        lower = word.lower()
        if lower in STOPWORDS or lower in _SHOUTED_WORDS:
            continue
        # Next to another capitalised word it is shouting ("WHERE IS IT"), not a term.
        before = text[max(0, match.start() - 12) : match.start()].split()
        after = text[match.end() : match.end() + 12].split()
        if any(
            w.strip(".,!?;:\"'()").isupper() and len(w.strip(".,!?;:\"'()")) > 1
            for w in before[-1:] + after[:1]
        ):
            continue
        if re.search(rf"\b{re.escape(lower)}\b", context.every_customer_norm):
            continue
        hits.append(
            _span_hit(
                rule, match.start(), match.end(), draft.sentence_of(match.start(), match.end())
            )
        )
    return hits


def _other_customer_hits(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    hits: list[_Hit] = []
    seen: dict[str, bool] = {}

    def known(value: str) -> bool:
        if value not in seen:
            seen[value] = value in context.every_customer_norm
        return seen[value]

    for match in _matches(rule, draft):
        named = [group for group in match.groups() if group]
        # A name the customer used themselves is the customer's own data.
        if any(known(name) for name in named):
            continue
        # Groups named cap1, cap2... are a person's name only when written with a capital
        # ("Dave Smith from 8 Church Lane", not "the engineer on Elm Street") and when they
        # are not an ordinary word that starts a sentence or names a place of business.
        if any(
            key.startswith("cap")
            and value
            and (not draft.text[match.start(key)].isupper() or value in _NOT_A_NAME)
            for key, value in match.groupdict().items()
        ):
            continue
        start, end = _trim(draft.norm, match.start(), match.end())
        if end > start:
            hits.append(_span_hit(rule, start, end, draft.sentence_of(start, end)))
    if context.known:
        for match in _EMAIL.finditer(draft.norm):
            address = match.group(0)
            if _ROLE_MAILBOXES.match(address) or known(address):
                continue
            hits.append(
                _span_hit(
                    rule, match.start(), match.end(), draft.sentence_of(match.start(), match.end())
                )
            )
    return hits


# Another person's data read by structure (blocking-recall pass): in one sentence, a third
# person (a title and surname, a capitalised first and last name, "his"/"her", a relative or
# neighbour, "the other member") and a piece of personal data (a card or account ending, a
# phone number, a street address, an account number, money owed or paid), neither of which the
# customer wrote. Staff ("our engineer Tom", "my team lead") and the customer's own data
# ("your card ending ...") are not another customer's.
_THIRD_PERSON: Final = re.compile(
    r"\b(?:mr|mrs|ms|miss|dr)\.? (?:[a-z]\.? )?(?P<title>[a-z][a-z'-]{1,30})\b"
    r"|(?<![.!?] )(?<!^)\b(?P<first>[a-z][a-z'-]{1,20}) (?P<last>[a-z][a-z'-]{1,20})(?:'s)?"
    r"(?=,| \(| (?:at|of|from|on|in|who|whose|has|had|owes|paid|lives|next door|froze|"
    r"cancell?ed|booked|ordered|returned|bought|sent|moved|pays|got)\b|'s)"
    # A first name and an initial, or an initial and a surname ("Jamie R.", "J. Harding").
    r"|\b(?P<short_first>[a-z][a-z'-]{1,20}) (?P<short_last>[a-z])\.(?= )"
    r"|\b(?P<initial>[a-z])\. (?P<surname>[a-z][a-z'-]{1,20})\b"
    # A household or group by its surname ("the Hendry party in room 12").
    r"|\bthe (?P<family>[a-z][a-z'-]{1,20}) (?:party|family|household|group|booking|wedding)\b"
    r"|\b(?:his|her)\b"
    r"|\b(?:your|the|his|her) (?:neighbour|neighbor|wife|husband|partner|mum|mother|mom|dad|"
    r"father|son|daughter|brother|sister|ex|ex-husband|ex-wife|flatmate|housemate|lodger|"
    r"landlord|gran|grandmother|grandfather|grandson|granddaughter|aunt|uncle|cousin)(?:'s)?\b"
    r"|\bthe (?:other|previous|former) (?:member|customer|guest|tenant|passenger|account holder|"
    r"occupant|resident|owner|caller|user|client)\b"
)
# A room, flat or berth number: as personal as an address, with no street in it.
_ROOM: Final = r"\b(?:room|flat|apartment|apt|unit|cabin|berth|plot|pitch|bay) \d{1,4}[a-z]?\b"
_CIRCUMSTANCE: Final = (
    r"\b(?:in hospital|hospitali[sz]ed|surgery|(?:his|her|their) (?:hip|knee|operation|"
    r"diagnosis|treatment|condition|illness|pregnancy|divorce|benefits|funeral)|pregnant|"
    r"miscarriage|passed away|bereavement|chemo(?:therapy)?|dementia|rehab)\b"
)
_PERSONAL_DATUM: Final = re.compile(
    r"\b(?:card|visa|mastercard|amex|debit card|credit card|account)(?: number)?,? "
    r"(?:the one )?ending(?: in)? \d{3,4}\b"
    r"|(?:\+\d{1,3}[ -]?)?\b0\d{3,4}[ -]?\d{3}[ -]?\d{3,4}\b"
    r"|\b\d{1,4}[a-z]? [a-z]+ (?:road|rd|street|st|lane|ln|close|avenue|ave|court|drive|way|"
    r"place|crescent|gardens|terrace|grove|row|square|mews|hill|walk|rise|view|green|parade)\b"
    r"|\b(?:account|acct|membership|policy|customer)(?: number| no\.?| #)?(?: is)? ?#?:? ?[a-z]{0,3}-?\d{4,}"
    r"|\b(?:balance|bill|debt|arrears|owes|owed|owing|paid|pays|spent|spends|sent|transferred|usage|is at|he's at|"
    r"she's at|uses)\b[^.!?\n]{0,25}?[£$€]\d[\d,.]*"
    r"|[£$€]\d[\d,.]* (?:overdue|owing|outstanding|in arrears|a month|per month)"
    r"|\b(?:uses|used|use) (?:about |around |only )?\d[\d,.]* ?kwh\b"
    + "|"
    + _ROOM
    # Health and family circumstances: no digit, but as personal as an address.
    + "|"
    + _CIRCUMSTANCE
)
_RELATIVES: Final = (
    r"(?:neighbour|neighbor|wife|husband|partner|mum|mother|mom|dad|father|son|daughter|brother|"
    r"sister|ex|ex-husband|ex-wife|flatmate|housemate|lodger|landlord|gran|grandmother|"
    r"grandfather|grandson|granddaughter|aunt|uncle|cousin)"
)
_YOURS_BEFORE: Final = re.compile(
    r"\b(?:your|you|you've|you're|yours)\b(?! " + _RELATIVES + r"\b)[^.!?\n]{0,12}$"
)
_STAFF_OR_PRIVACY: Final = re.compile(
    r"\b(?:our|my) (?:engineer|technician|driver|courier|colleague|manager|team|team lead|"
    r"supervisor|agent|adviser|advisor|specialist|field team|rep|representative)\b"
    r"|\b(?:can't|cannot|can not|won't|unable to|not able to|not allowed to) (?:share|give|disclose|"
    r"discuss|pass on|tell)\b|\bfor (?:privacy|data protection)\b|\b(?:will|'ll) (?:call|ring|phone|"
    r"text|email) you\b"
)
_STREET_WORDS: Final = frozenset(
    [
        "road",
        "rd",
        "street",
        "st",
        "lane",
        "ln",
        "close",
        "cl",
        "avenue",
        "ave",
        "court",
        "ct",
        "drive",
        "dr",
        "way",
        "place",
        "pl",
        "crescent",
        "cres",
        "gardens",
        "gdns",
        "terrace",
        "grove",
        "row",
        "park",
        "square",
        "sq",
        "mews",
        "hill",
        "walk",
        "rise",
        "view",
        "green",
        "vale",
        "parade",
        "estate",
        "centre",
        "park",
    ]
)
_DIGIT: Final = re.compile(r"\d")
_DATUM_HINT: Final = re.compile(
    r"\d\d\d|[£$€]\d|\d[a-z]? [a-z]+ (?:road|rd|street|st|lane|ln|close|avenue|ave|court|drive|"
    r"way|place|crescent|gardens|terrace|grove|row|square|mews|hill|walk|rise|view|green|parade)\b"
    + "|"
    + _ROOM
    + "|"
    + _CIRCUMSTANCE
)
_CIRCUMSTANCE_SEARCH: Final = re.compile(_CIRCUMSTANCE)
# `_THIRD_PERSON`'s name groups, by the group a match ends with: (the name's first group, the
# group whose capital confirms it, if any).
_NAME_GROUPS: Final[dict[str, tuple[str, str]]] = {
    "title": ("title", ""),
    "last": ("first", "last"),
    "short_last": ("short_first", "short_last"),
    "surname": ("surname", "initial"),
    "family": ("family", ""),
}
_GREETING_NAME: Final = re.compile(r"^(?:hi|hello|dear|thanks|thank you|morning|afternoon|hey),? ")


def _joined_at_abbreviations(draft: _Draft) -> list[Sentence]:
    """The draft's sentences, with a split after "no." or an initial ("Mr J. Holt",
    "account no. GY-55102") undone, so a name or a number is read whole."""
    joined: list[Sentence] = []
    for sentence in draft.sentences:
        if joined and _ABBREVIATION_END.search(
            draft.norm[max(joined[-1].start, joined[-1].end - 8) : joined[-1].end]
        ):
            last = joined[-1]
            joined[-1] = Sentence(last.start, sentence.end, draft.text[last.start : sentence.end])
        else:
            joined.append(sentence)
    return joined


_ABBREVIATION_END: Final = re.compile(r"(?:\bno|\b(?:mr|mrs|ms|dr) [a-z]|\bacct| [a-z])\.\s*$")


def _third_party_data_hits(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    text = draft.norm
    if _DIGIT.search(text) is None and _CIRCUMSTANCE_SEARCH.search(text) is None:
        return []
    hits: list[_Hit] = []
    customer = context.every_customer_norm
    for sentence in _joined_at_abbreviations(draft):
        # A cheap look for any datum (three digits, a currency sign, an address, a room, a
        # circumstance) before the full reading of the sentence.
        if not _DATUM_HINT.search(text, sentence.start, sentence.end):
            continue
        norm = text[sentence.start : sentence.end]
        data = [
            m
            for m in _PERSONAL_DATUM.finditer(norm)
            if m.group(0) not in customer and not _YOURS_BEFORE.search(norm, 0, m.start())
        ]
        if not data or _STAFF_OR_PRIVACY.search(norm):
            continue
        person = None
        near: list[re.Match[str]] = []
        for m in _THIRD_PERSON.finditer(norm):
            first_group, last_group = _NAME_GROUPS.get(m.lastgroup or "", ("title", ""))
            name = m.group(first_group) if m.lastgroup else None
            if name is not None:
                at = sentence.start + m.start(first_group)
                last = m.group(last_group) if last_group else ""
                if name in customer or (last and len(last) > 1 and last in customer.split()):
                    continue
                if first_group != "title" and (
                    not draft.text[at].isupper()
                    or (
                        last_group
                        and not draft.text[sentence.start + m.start(last_group)].isupper()
                    )
                    or name in _NOT_A_NAME
                    or last in _NOT_A_NAME
                    or last in _STREET_WORDS
                ):
                    continue
                if _GREETING_NAME.match(norm) and m.start() < 12:
                    continue
            # "his"/"her" owns the datum only when right before it ("her balance is £2,140");
            # any other cue within a clause's reach of it.
            reach = (
                25
                if m.group("title") is None
                and m.group("first") is None
                and m.group(0) in ("his", "her")
                else 60
            )
            near = [
                datum
                for datum in data
                if -reach <= datum.start() - m.end() <= reach or -60 <= m.start() - datum.end() <= 0
            ]
            if near:
                person = m
                break
        if person is None:
            continue
        # From the first datum or the person to the last datum in the person's reach: the span
        # shows what would be shared.
        start = sentence.start + min(person.start(), data[0].start())
        end = sentence.start + max(person.end(), data[0].end(), near[-1].end())
        start, end = _trim(text, start, end)
        if end > start:
            hits.append(_span_hit(rule, start, end, sentence))
    return hits


def _without_echoed_insults(hits: list[_Hit], draft: _Draft, context: _Context) -> list[_Hit]:
    """An insult word the customer used, echoed back as a short question ("Waste of space?")
    or refused ("calling us idiots won't ...", "our drivers are not morons") is the customer's
    word, not the agent's."""
    kept: list[_Hit] = []
    for hit in hits:
        if hit.rule.id == "insult" and hit.evidence == "rule":
            word = draft.norm[hit.start : hit.end].strip(" '\"")
            if word and context.customer_norm and word in context.customer_norm:
                sentence = draft.norm[hit.sentence.start : hit.sentence.end].strip()
                before = draft.norm[max(hit.sentence.start, hit.start - 30) : hit.start]
                if (sentence.endswith("?") and len(sentence.split()) <= 5) or _REFUSED_LABEL.search(
                    before
                ):
                    continue
            if _CALLED_BY_THEM.search(draft.norm, max(0, hit.start - 30), hit.start):
                continue
        kept.append(hit)
    return kept


# "Please don't call me an idiot": the name the agent was called, refused in a boundary.
_CALLED_BY_THEM: Final = re.compile(
    r"\b(?:(?:don't|do not|please don't|please do not|stop|not) call(?:ing)? (?:me|us|my \w+|our \w+)"
    r"|(?:being|be|been) called) (?:an? |names like |things like )?['\"]?$"
)
_REFUSED_LABEL: Final = re.compile(
    r"(?:\bcall(?:ing|ed)? (?:us|me|our \w+|my \w+|them|him|her)|\b(?:are|is|were) (?:not|hardly|never)"
    r"|\b(?:aren't|isn't|weren't|not|hardly) ['\"]?|\bdon't call (?:me|us)(?: an?)?) ['\"]?$"
)


def _denials_of_the_customer(
    rule: Rule, draft: _Draft, context: _Context, macros: Mapping[str, str]
) -> list[_Hit]:
    """Arguing by denial: the reply negates a word the customer asserted ("your app crashed"
    / "the app didn't crash", "you lied" / "nobody lied"). The denial and negation cues are
    the DENIAL and NEGATED macros; the arguing rule's exceptions (an apology, "you're right")
    cancel a denial in their sentence, and a question is not a denial."""
    denial_macro, negated_macro = macros.get("DENIAL"), macros.get("NEGATED")
    if not context.customer_norm or not denial_macro or not negated_macro:
        return []
    asserted = _asserted_stems(context.customer_norm, negated_macro)
    if not asserted:
        return []
    hits: list[_Hit] = []
    for match in _regex(denial_macro).finditer(draft.norm):
        word = match.group(1)
        if word in STOPWORDS or stem(word) not in asserted:
            continue
        # "gas you didn't use" restates the customer (or blames them); it is not a denial.
        if _YOU_BEFORE.search(draft.norm, max(0, match.start() - 8), match.start()):
            continue
        start, end = _trim(draft.norm, match.start(), match.end())
        sentence = draft.sentence_of(start, end)
        norm = draft.norm[sentence.start : sentence.end]
        if norm.rstrip("\"')] ").endswith("?"):
            continue
        if rule.exception is not None and rule.exception.search(norm):
            continue
        hits.append(_span_hit(rule, start, end, sentence))
    return hits


@lru_cache(maxsize=64)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_YOU_BEFORE: Final = re.compile(r"\byou(?:'ve|'re|'d)?\s+$")
# How many words back a customer's negation reaches ("can't get it to work": not asserted).
_NEGATION_REACH: Final = 4


@lru_cache(maxsize=512)
def _customer_claims(customer_norm: str, negated: str) -> tuple[frozenset[str], frozenset[str]]:
    """Stems of the content words the customer stated positively and never denied, and of
    those they only denied ("the engineer never came": came)."""
    negation = _regex(negated)
    asserted: set[str] = set()
    denied: set[str] = set()
    for clause in re.split(r"[.!?;\n]+", customer_norm):
        words = clause.split()
        joined = " ".join(words)
        # Index of the word each negation ends on ("did not" ends on "not").
        negated_at = [joined.count(" ", 0, match.end()) for match in negation.finditer(joined)]
        for index, raw in enumerate(words):
            word = raw.strip(",:\"'()")
            if len(word) <= 2 or word in STOPWORDS or not word.replace("-", "").isalpha():
                continue
            if any(0 < index - at <= _NEGATION_REACH for at in negated_at):
                denied.add(stem(word))
                continue
            asserted.add(stem(word))
    # A word the customer also denied somewhere ("my phone is not working ... I need it for
    # work"): a reply denying it agrees with them.
    return frozenset(asserted - denied), frozenset(denied - asserted)


def _asserted_stems(customer_norm: str, negated: str) -> frozenset[str]:
    return _customer_claims(customer_norm, negated)[0]


# The reply affirming what the customer denied: "the engineer did come", "there was a
# warning", "you were told", "it was delivered". The affirmed word is captured.
_AFFIRMED: Final = re.compile(
    r"\b(?:did|was|were|has been|have been|had been|is|are|definitely|actually|clearly|"
    r"certainly|already)\s+(?:(?:actually|definitely|clearly|already|in fact|properly|fully|"
    r"successfully|correctly|been|a|an)\s+){0,2}([a-z][a-z'-]{2,})"
    r"|\bthere (?:was|were|is|are|has been|have been) (?:a |an |some |one |two |several )?"
    r"(?:clear |written |full |prior )?([a-z][a-z'-]{2,})"
)
_NEGATION_IN_SENTENCE: Final = re.compile(
    r"\b(?:not|no|never|nothing|nobody|didn't|didnt|wasn't|wasnt|weren't|isn't|hasn't|haven't|"
    r"hadn't|don't|doesn't|can't|cannot|won't|shouldn't|if|whether|sorry|apologi[sz]e|"
    r"you're right|you are right)\b|\?"
)


def _affirmations_against_the_customer(
    rule: Rule, draft: _Draft, context: _Context, macros: Mapping[str, str]
) -> list[_Hit]:
    """Arguing by affirmation: the customer denied something happened ("the engineer never
    came", "no warning") and the reply affirms it ("the engineer did come", "there was a
    warning"), in a sentence with no negation, condition, apology or question of its own."""
    negated_macro = macros.get("NEGATED")
    if not context.customer_norm or not negated_macro:
        return []
    denied = _customer_claims(context.customer_norm, negated_macro)[1]
    if not denied:
        return []
    hits: list[_Hit] = []
    for match in _AFFIRMED.finditer(draft.norm):
        word = match.group(1) or match.group(2)
        if word in STOPWORDS or stem(word) not in denied:
            continue
        start, end = _trim(draft.norm, match.start(), match.end())
        sentence = draft.sentence_of(start, end)
        norm = draft.norm[sentence.start : sentence.end]
        if _NEGATION_IN_SENTENCE.search(norm):
            continue
        if rule.exception is not None and rule.exception.search(norm):
            continue
        hits.append(_span_hit(rule, start, end, sentence))
    return hits


# Thanks for kind words the customer never gave: to an upset customer who wrote "clowns" or
# "useless", "thanks for the kind words" is irony. To a customer who did thank us it is thanks.
_IRONIC_THANKS: Final = re.compile(
    r"(?<![a-z])(?:thanks|thank you|cheers|ta)(?: so much| very much| ever so much| again)? for "
    r"(?:the|your|those|such|all the|that) (?:kind|lovely|nice|glowing|warm|charming|sweet|"
    r"generous|flattering|encouraging|friendly|polite|gracious|delightful|pleasant|heartwarming)"
    r" (?:words|message|review|feedback|compliments?|comments?|note|welcome|email|remarks?)\b"
    r"|\b(?:thanks|thank you|cheers) for the (?:compliment|vote of confidence|kind words)\b"
)
# Bare mock praise at the start of a sentence ("Bravo, a fourth email.", "Well done on your
# persistence."), read only when the customer is upset: nothing follows that gives a reason
# (a real compliment does: "well done for keeping the emails, it made this quick"), and a
# life event ("congratulations on the new baby") or "good job you kept ..." ("luckily") is not
# mock praise.
_MOCK_PRAISE: Final = re.compile(
    r"(?:oh,? )?(?:well done|bravo|good for you|nice work|good job|great job|nice job|"
    r"congratulations|congrats|kudos|hats off to you|top marks|gold star|round of applause)"
    r"(?! (?:on|for|with) (?:the |your )?(?:new|passing|wedding|engagement|baby|retirement|"
    r"graduat|birthday|anniversary|promotion|move|home|house|job|exam|test|degree|birth|little|"
    r"first))(?! (?:we|you|i|it|that|there|they)\b),?[^.!?\n,;:]{0,40}(?:[.!]|$)"
)
_PRAISE_LEADS: Final = (
    *("well done", "bravo", "good for you", "nice work", "good job", "great job", "nice job"),
    *("congrat", "kudos", "hats off", "top marks", "gold star", "round of applause"),
)
# "Thanks for the kind words about Sam": the customer did praise someone.
_PRAISE_OF_SOMEONE: Final = re.compile(r"\s+(?:about|for|regarding|on|to|re)\b")


def _ironic_praise(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    """Sarcasm by contrast with the conversation: bare praise, or warm thanks for the words,
    of a customer who was plainly upset and did not thank anyone."""
    mood = context.mood
    if not context.known or mood.upset < UPSET or mood.gratitude >= 0.5:
        return []
    hits: list[_Hit] = []
    norm = draft.norm
    if any(lead in norm for lead in _PRAISE_LEADS):
        for sentence in draft.sentences:
            match = _MOCK_PRAISE.match(norm, sentence.start, sentence.end)
            if match is not None:
                start, end = _trim(norm, match.start(), match.end())
                hits.append(_span_hit(rule, start, end, sentence))
    for lead in ("thank", "cheers", "ta for"):
        at = norm.find(lead)
        while at >= 0:
            match = _IRONIC_THANKS.match(norm, at)
            at = norm.find(lead, at + 1)
            if match is None or _PRAISE_OF_SOMEONE.match(norm, match.end()):
                continue
            start, end = _trim(norm, match.start(), match.end())
            hits.append(_span_hit(rule, start, end, draft.sentence_of(start, end)))
    for match in _PRESUMED_DELIGHT.finditer(norm):
        start, end = _trim(norm, match.start(), match.end())
        hits.append(_span_hit(rule, start, end, draft.sentence_of(start, end)))
    return hits


# Pleasantries that presume a pleased customer, said to one who is plainly upset (stop 21, from
# the retired blind sets' misses): "glad you're loving it", "you're very welcome!" to no thanks,
# "lovely chatting with you", "we look forward to reading it", "we'll miss you",
# "caps lock noted", "good luck with that". Not "congratulations on ...": to an upset customer
# who mentions a wedding or a baby it is as often sincere.
_PRESUMED_DELIGHT: Final = re.compile(
    r"\bglad (?:you(?:'re| are) (?:loving|enjoying)|you (?:love|enjoy|enjoyed|liked?) (?:it|them|that|the))\b"
    r"|\byou(?:'re| are) (?:very |most |so )?welcome(?= ?[!.]|$)"
    r"|\b(?:lovely|nice|a pleasure|always a pleasure) (?:chatting|talking|speaking) (?:to|with) you\b"
    r"|\b(?:we|i) look forward to (?:reading|hearing|seeing) (?:it|that|your (?:review|post|letter|"
    r"complaint|next|thoughts|feedback|tweet|video))\b"
    r"|\b(?:we|i)(?:'ll| will) miss you\b"
    r"|\bglad (?:we|i) could (?:give you a laugh|brighten|entertain|make your day)\b"
    r"|\b(?:we|i)(?:'ll| will) pass on your kind words\b"
    r"|\bcaps lock noted\b"
    r"|\bgood luck with (?:that|them)\b(?! (?:new|today|tomorrow))"
)


def _without_records_given_as_leads(hits: list[_Hit], draft: _Draft) -> list[_Hit]:
    """Drop arguing found in a sentence that cites a record ("our system says it was
    delivered") when the agent says in it or the next sentence what they are checking."""
    if not any(hit.rule.id == "arguing" for hit in hits):
        return hits
    starts = [sentence.start for sentence in draft.sentences]
    kept: list[_Hit] = []
    for hit in hits:
        if hit.rule.id == "arguing":
            index = bisect_right(starts, hit.start) - 1
            if index >= 0 and given_as_a_lead(draft.norm, draft.sentences, index):
                continue
        kept.append(hit)
    return kept


def _counter_claims(rule: Rule, draft: _Draft, context: _Context) -> list[_Hit]:
    """Arguing by a flat counter-claim read against the customer's message (claims.py): "the
    parcel was delivered" to "it never arrived", "only one payment" to "charged twice"."""
    return _hits_at(rule, draft, contradictions(draft.norm, draft.sentences, context.customer_norm))


# --- assembling the result ------------------------------------------------------------------


def _action_text(draft: _Draft, hit: _Hit) -> str:
    """What the sentence asks the customer to do, for rewrites such as 'Could you {after}?'."""
    if _ACTION_AFTER.search(draft.norm[hit.match_start : hit.match_end]):
        start = hit.match_end
    else:
        start = hit.match_start
    action = draft.text[start : hit.sentence.end].strip(" ,;:-\n").rstrip(".!?\"' ").strip()
    action = re.sub(r"^(?:please|just|simply)\s+", "", action, flags=re.IGNORECASE)
    if len(action.split()) < 2:
        return ""
    if (
        len(action) > 1
        and action[0].isupper()
        and not action[1].isupper()
        and not action.startswith("I ")
    ):
        action = action[0].lower() + action[1:]
    return action


def _rewrites(draft: _Draft, hit: _Hit) -> tuple[str, ...]:
    rewrites: list[str] = []
    for template in hit.rule.rewrites:
        text = template
        if "{after}" in text:
            action = _action_text(draft, hit)
            if not action:
                continue
            text = text.replace("{after}", action)
        text = text.replace("{sentence}", hit.sentence.text.strip())
        text = text.replace("{match}", draft.text[hit.match_start : hit.match_end])
        rewrites.append(text)
    return tuple(rewrites)


def _without_rewrites_that_keep_blocking_text(findings: list[Finding]) -> list[Finding]:
    """Drop rewrites that would carry a threat or an insult into the new wording.

    A polite frame around a whole sentence ("Could you keep talking like that and I will
    come to your office ...?") must not be offered as the fix for a sentence that threatens
    the customer: the blocking finding's own rewrites replace it instead.
    """
    blocking = [finding for finding in findings if finding.severity == "blocking"]
    if not blocking:
        return findings
    kept: list[Finding] = []
    for finding in findings:
        carried = [
            other.text.casefold()
            for other in blocking
            if other is not finding
            and _overlaps(finding.start, finding.end, other.start, other.end)
        ]
        if carried and finding.rewrites:
            rewrites = tuple(
                rewrite
                for rewrite in finding.rewrites
                if not any(text in rewrite.casefold() for text in carried)
            )
            finding = replace(finding, rewrites=rewrites)
        kept.append(finding)
    return kept


def _finding(draft: _Draft, hit: _Hit, model_severity: Mapping[str, Severity]) -> Finding:
    rule = hit.rule
    severity = rule.severity
    if hit.evidence == "model":
        # A model finding blocks a reply only when the artefact says the model was measured
        # precise enough for that; otherwise a blocking rule's model finding is a strong warning.
        severity = model_severity.get(rule.id, "high" if severity == "blocking" else severity)
    return Finding(
        rule=rule.id,
        kind=rule.kind,
        severity=severity,
        start=hit.start,
        end=hit.end,
        text=draft.text[hit.start : hit.end],
        explanation=rule.explanation,
        rewrites=_rewrites(draft, hit) if rule.kind == "avoid" else (),
        evidence=hit.evidence,
    )


def _model_hits(
    book: RuleBook, draft: _Draft, hits: list[_Hit], model: ToneModel | None
) -> list[_Hit]:
    """Sentences the learned tone model reads as a tone rule the rules missed there.

    A sentence already flagged for that rule, or holding the rule's own exception (an
    apology, "you're right"), gets nothing: the model fills the rules' gaps, it does not
    second-guess them.
    """
    if model is None or not model.thresholds or not draft.sentences:
        return []
    probabilities = model.probabilities([sentence.text for sentence in draft.sentences])
    flagged: dict[str, list[tuple[int, int]]] = {}
    for hit in hits:
        flagged.setdefault(hit.rule.id, []).append((hit.start, hit.end))
    found: list[_Hit] = []
    for column, rule_id in enumerate(model.rules):
        threshold = model.thresholds.get(rule_id)
        rule = book.rules.get(rule_id)
        if threshold is None or rule is None or rule.kind != "avoid":
            continue
        for row in np.flatnonzero(probabilities[:, column] >= threshold).tolist():
            sentence = draft.sentences[row]
            if any(
                _overlaps(sentence.start, sentence.end, start, end)
                for start, end in flagged.get(rule_id, ())
            ):
                continue
            if rule.exception is not None and rule.exception.search(
                draft.norm[sentence.start : sentence.end]
            ):
                continue
            strength = float(probabilities[row, column])
            found.append(
                _Hit(
                    rule,
                    sentence.start,
                    sentence.end,
                    sentence.start,
                    sentence.end,
                    sentence,
                    strength,
                    "model",
                )
            )
    return found


# Rules whose findings in one sentence or the next are one problem told in two ways ("It's
# the restaurant's fault, not ours. We just deliver it."): they become one finding over both.
_PASSAGE_RULES: Final[frozenset[str]] = frozenset(
    {"arguing", "refusing_ownership", "dismissing_emotion", "mirroring_hostility"}
)
# At most this many sentence ends between two hits of a passage rule for them to be merged.
_PASSAGE_BREAKS: Final = 1
_SENTENCE_END: Final = re.compile(r"[.!?]+(?=\s|$)|\n")


def _dedupe(hits: list[_Hit], text: str) -> list[_Hit]:
    """One finding per rule per place: overlapping hits of the same rule keep the first; hits
    of a passage rule in the same or the next sentence become one finding over both."""
    kept: list[_Hit] = []
    last: dict[str, int] = {}  # rule id -> index in `kept` of its latest hit
    for hit in sorted(hits, key=lambda item: (item.start, -item.end)):
        index = last.get(hit.rule.id, -1)
        previous = kept[index] if index >= 0 else None
        if previous is not None and hit.start < previous.end:
            if hit.end > previous.end and hit.rule.id in _PASSAGE_RULES:
                kept[index] = replace(previous, end=hit.end)
            continue
        if (
            previous is not None
            and hit.rule.id in _PASSAGE_RULES
            and hit.evidence == previous.evidence
            and len(_SENTENCE_END.findall(text, previous.end, hit.start)) <= _PASSAGE_BREAKS
        ):
            kept[index] = replace(previous, end=hit.end)
            continue
        last[hit.rule.id] = len(kept)
        kept.append(hit)
    return kept


def _score(
    techniques: dict[str, float], avoid: list[Finding], context: _Context
) -> tuple[int, tuple[ScoreReason, ...]]:
    upset = context.upset
    base = _BASE_UPSET if upset else _BASE_CALM
    weights = _WEIGHTS_UPSET if upset else _WEIGHTS_CALM
    reasons = [
        ScoreReason(
            base,
            "starting point for a reply to an upset customer"
            if upset
            else "starting point for a reply to a calm customer",
        )
    ]
    total = base
    for technique in TECHNIQUES:
        probability = techniques[technique]
        if probability >= 0.5:
            points = round(weights[technique] * probability)
            total += points
            reasons.append(ScoreReason(points, f"uses {technique.replace('_', ' ')}"))
    per_rule: dict[str, int] = {}
    for finding in avoid:
        per_rule[finding.rule] = per_rule.get(finding.rule, 0) + 1
        if per_rule[finding.rule] > 2:
            continue  # the same mistake repeated says little more
        points = _PENALTY[finding.severity]
        total -= points
        reasons.append(
            ScoreReason(-points, f"{finding.rule.replace('_', ' ')}: {finding.text[:60]!r}")
        )
    if any(finding.severity == "blocking" for finding in avoid) and total > _BLOCKING_CAP:
        reasons.append(
            ScoreReason(_BLOCKING_CAP - total, "blocking finding: must not be sent as written")
        )
        total = _BLOCKING_CAP
    return max(0, min(100, total)), tuple(reasons)


def _resolve_now(now: datetime | None, timezone: str) -> datetime:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"unknown time zone {timezone!r}: use an IANA name such as 'Europe/London'"
        ) from exc
    if now is None:
        return datetime.now(zone)
    if now.tzinfo is None:
        return now.replace(tzinfo=zone)
    return now.astimezone(zone)


def _context(conversation: Iterable[Any]) -> _Context:
    answered, customer_norm, stems, every_norm, previous = _thread(read_turns(conversation))
    if not answered:
        return _Context(CALM, False, "", frozenset(), "")
    # The mood is not part of the cached reading: it comes from `customer_mood`, which has
    # its own cache (cleared by the benchmark's cold runs).
    return _Context(combined_mood(answered), True, customer_norm, stems, every_norm, previous)


@lru_cache(maxsize=256)
def _thread(
    turns: tuple[Turn, ...],
) -> tuple[tuple[str, ...], str, frozenset[str], str, str]:
    """What the coach reads in the thread besides the customer's mood: the customer messages
    the draft answers, them normalised, their content stems, every customer message
    normalised, and the agent's earlier replies. Cached by the turns (all text): live
    coaching re-coaches the same conversation at every pause in typing."""
    answered = customer_texts_answered(turns)
    if not answered:
        return (), "", frozenset(), "", ""
    joined = "\n".join(answered)
    every = "\n".join(turn.text for turn in turns if turn.role == "customer")
    stems = frozenset().union(*(_customer_stems(text) for text in answered))
    previous = "\n".join(turn.text for turn in turns if turn.role == "agent")
    return answered, normalise(joined), stems, normalise(every), previous


def _tone(choice: ToneModel | bool) -> ToneModel | None:
    if isinstance(choice, ToneModel):
        return choice
    if not choice:
        return None
    packaged = packaged_tone_model()
    return packaged if packaged is not None and packaged.enabled else None


def _draft_of(text: str, book: RuleBook) -> _Draft:
    norm = normalise(text)
    sentences = split_sentences(text)
    return _Draft(
        text,
        norm,
        sentences,
        tuple(sentence.start for sentence in sentences),
        book.gates.open_by_rule(norm),
        word_starts(norm),
    )


def coach(
    draft: Any,
    *,
    conversation: Iterable[Any] = (),
    now: datetime | None = None,
    timezone: str = "UTC",
    book: RuleBook | None = None,
    tone_model: ToneModel | bool = True,
) -> Coaching:
    """Coach one draft reply to a (possibly upset) customer.

    `conversation` is the thread so far, oldest first: (role, text) pairs or objects with
    `.role`/`.text`, role "customer" or "agent". `now` is the draft's timestamp (naive means
    in `timezone`); promises' due times are resolved against it. Any text is accepted.
    `tone_model`: True for the packaged learned tone model (when shipped and enabled), False
    for the rules alone, or a `ToneModel` to use instead.
    """
    moment = _resolve_now(now, timezone)
    rules = book or rulebook()
    text = as_text(draft)
    the_draft = _draft_of(text, rules)
    context = _context(conversation)

    hits: list[_Hit] = []
    for rule in rules.rules.values():
        if rule.detector == "pattern":
            hits.extend(_pattern_hits(rule, the_draft))
    hits.extend(_violence_hits(rules["threat_back"], the_draft))
    hits.extend(_other_customer_hits(rules["other_customer_data"], the_draft, context))
    hits.extend(_third_party_data_hits(rules["other_customer_data"], the_draft, context))
    hits.extend(_mirroring_hits(rules["mirroring_hostility"], the_draft, context))
    hits.extend(_denials_of_the_customer(rules["arguing"], the_draft, context, rules.macros))
    hits.extend(
        _affirmations_against_the_customer(rules["arguing"], the_draft, context, rules.macros)
    )
    hits.extend(_counter_claims(rules["arguing"], the_draft, context))
    hits.extend(_ironic_praise(rules["sarcasm"], the_draft, context))
    hits = _without_records_given_as_leads(hits, the_draft)
    hits = _without_echoed_insults(hits, the_draft, context)
    model = _tone(tone_model)
    hits.extend(_model_hits(rules, the_draft, hits, model))

    hostile = [hit for hit in hits if hit.rule.id in _HOSTILE_RULES]
    hits.extend(_question_hits(rules["clarifying_question"], the_draft, hostile))
    hits.extend(_next_step_hits(rules["next_step"], the_draft))
    paraphrases, paraphrase_probability = _paraphrase_hits(rules["paraphrase"], the_draft, context)
    hits.extend(paraphrases)

    # A good technique undone by a bad one in the same sentence does not count.
    avoid_in_sentence = {
        (hit.rule.id, draft_sentence.start)
        for hit in hits
        if hit.rule.kind == "avoid"
        for draft_sentence in (the_draft.sentence_of(hit.start, hit.end),)
    }
    hits = [
        hit
        for hit in hits
        if not any(
            (other, the_draft.sentence_of(hit.start, hit.end).start) in avoid_in_sentence
            for other in hit.rule.suppressed_by
        )
    ]

    techniques = {technique: P_ABSENT for technique in TECHNIQUES}
    for hit in hits:
        technique = _TECHNIQUE_OF_RULE.get(hit.rule.id)
        if technique is not None:
            techniques[technique] = max(techniques[technique], hit.strength)
    techniques["paraphrase"] = max(P_ABSENT, paraphrase_probability)
    hollow = _hollow_hits(rules["hollow_sympathy"], the_draft, context, techniques)
    if techniques["empathy"] < P_HOLLOW_EMPATHY and _matches_draft(
        rules["hollow_sympathy"], the_draft
    ):
        # A stock "I understand" is a little empathy, not none.
        techniques["empathy"] = P_HOLLOW_EMPATHY
    hits.extend(hollow)

    # A stock "I understand" is a (weak) acknowledgement too: the reply then lacks empathy
    # (hollow_sympathy), but it did not skip acknowledging.
    acknowledged = [
        hit.match_start
        for hit in hits
        if hit.rule.id in _ACKNOWLEDGING_RULES
        and (hit.rule.id != "paraphrase" or hit.strength >= P_ACKNOWLEDGING_PARAPHRASE)
    ] + [match.start() for match in _matches(rules["hollow_sympathy"], the_draft)]
    reactions = frozenset(
        the_draft.sentence_of(hit.start, hit.end).start
        for hit in hits
        if hit.rule.id in _REACTION_RULES
    )
    statements = frozenset(
        the_draft.sentence_of(hit.start, hit.end).start
        for hit in hits
        if hit.rule.id in _STATEMENT_RULES
    )
    hits.extend(
        _solution_first_hits(rules, the_draft, context, acknowledged, reactions, statements)
    )
    hits.extend(_no_next_step_hits(rules["no_next_step"], the_draft, context, techniques))
    if context.upset:
        hits.extend(_pattern_hits(rules["jargon"], the_draft))
        hits.extend(_abbreviation_hits(rules["jargon"], the_draft, context))
    hits.extend(_long_sentence_hits(rules["long_sentences"], the_draft, context))

    model_severity: Mapping[str, Severity] = model.severity if model is not None else {}
    findings = [_finding(the_draft, hit, model_severity) for hit in _dedupe(hits, text)]
    findings.sort(key=lambda finding: (finding.start, finding.end, _RULE_ORDER[finding.rule]))
    findings = _without_rewrites_that_keep_blocking_text(findings)
    avoid = [finding for finding in findings if finding.kind == "avoid"]
    score, reasons = _score(techniques, avoid, context)
    return Coaching(
        findings=tuple(findings),
        techniques=techniques,
        score=score,
        reasons=reasons,
        promises=find_promises(text, the_draft.norm, the_draft.sentences, moment),
        customer_anger=context.mood.anger,
    )

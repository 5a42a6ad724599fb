"""Commitments in a draft ("I'll call you back tomorrow before noon") and when they fall due.

Due times are resolved against the draft's timestamp in the organisation's time zone. A
vague time ("soon", "shortly") gives a promise without a due time, so the follow-up still
exists but shows as unscheduled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from calmdesk.engine.coaching.gate import LeadScan
from calmdesk.engine.coaching.text import Sentence
from calmdesk.engine.coaching.types import Promise

# When a day is named without an hour, the promise is due by the end of the business day.
END_OF_BUSINESS: Final = time(17, 0)
MORNING_DEADLINE: Final = time(12, 0)
FIRST_THING: Final = time(10, 0)
EVENING_DEADLINE: Final = time(20, 0)
END_OF_DAY: Final = time(23, 59)

_NUMBERS: Final[dict[str, float]] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty-five": 45, "forty five": 45, "twenty-four": 24,
    "twenty four": 24, "forty-eight": 48, "forty eight": 48, "seventy-two": 72,
    "seventy two": 72, "a couple of": 2, "a few": 3, "couple of": 2, "few": 3, "half an": 0.5,
    "half a": 0.5,
}  # fmt: skip
_WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip

_NUMBER_WORDS = "|".join(sorted((re.escape(word) for word in _NUMBERS), key=len, reverse=True))
_WEEKDAY_WORDS = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))

_RELATIVE: Final = re.compile(
    rf"\b(?:in|within|inside|over|in the next|within the next|over the next|in another)\s+"
    rf"(?:the\s+next\s+)?(?P<count>\d{{1,3}}|{_NUMBER_WORDS})\s*"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|h\b|(?:working |business )?days?|weeks?)"
)
_WITHIN_THE_HOUR: Final = re.compile(
    r"\b(?:within|in) (?:the (?:next )?|an? |one )hour\b|\bin the next hour\b"
)
_CLOCK: Final = re.compile(
    r"\b(?P<hour>[01]?\d|2[0-3])(?:[:.](?P<minute>[0-5]\d))?\s*(?P<meridiem>am|pm|a\.m\.|p\.m\.)"
    r"|\b(?P<hour24>[01]?\d|2[0-3]):(?P<minute24>[0-5]\d)\b"
    r"|\b(?P<named>noon|midday|midnight|lunchtime|lunch time)\b"
)
_DAY: Final = re.compile(
    rf"\b(?P<first>first thing\s*)?(?:(?P<next>next|this|coming)\s+)?"
    rf"(?P<day>today|tonight|tomorrow|tmrw|tmr|{_WEEKDAY_WORDS})\b"
    r"(?:\s+(?P<part>morning|afternoon|evening|night|lunchtime))?"
    r"|\bthis (?P<thispart>morning|afternoon|evening)\b"
    r"|\blater (?P<later>today|this (?:morning|afternoon|evening)|on)\b"
    r"|\b(?P<eod>end of (?:the |my |your )?(?:day|today|business|play)|eod|cob|close of business|"
    r"close of play|by the end of today)\b"
    r"|\b(?P<eow>end of (?:the |this )?week|end of next week)\b"
    r"|\b(?P<eom>end of (?:the |this )?month)\b"
    r"|\b(?P<nextweek>next week|early next week)\b"
    r"|\b(?P<firstthing>first thing)\b"
)
# _DAY opens with optional groups, so `re` tries it at every character of a draft (the
# costliest single scan of a reply); tried only where a day word or "next"/"this"/"end"...
# begins, it finds the same matches.
_DAY_SCAN: Final = LeadScan.of(_DAY)
# Cheap substring checks that must pass before the day/clock patterns (slow to scan, as they
# start with optional groups) are worth running; they only skip work, never change results.
_DAY_TRIGGERS: Final = (
    "day", "tonight", "tomorrow", "tmr", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
    "week", "month", "morning", "afternoon", "evening", "night", "later", "eod", "cob",
    "close of", "end of", "first thing", "lunch",
)  # fmt: skip
_CLOCK_WORDS: Final = ("noon", "midday", "midnight", "lunch")
_DIGIT: Final = re.compile(r"\d")


def _day_possible(text: str) -> bool:
    return any(trigger in text for trigger in _DAY_TRIGGERS)


def _clock_possible(text: str) -> bool:
    return _DIGIT.search(text) is not None or any(word in text for word in _CLOCK_WORDS)


_VAGUE: Final = re.compile(
    r"\b(?:soon|shortly|asap|as soon as (?:possible|i can|we can|i have|we have|i hear|there is|"
    r"it's)|right away|straight away|in due course|in a (?:bit|while|moment)|at some point)\b"
)

# Who commits to what: "I'll call", "we will email", "you'll hear from me", "expect a call".
_COMMITMENT: Final = re.compile(
    r"\b(?:i'll|i will|i'm going to|i am going to|i'm gonna|ill|we'll|we will|we're going to|"
    r"we are going to|i shall|we shall|i promise(?: to| that i'll| i'll)?|i can promise)\s+"
    r"(?:personally\s+|definitely\s+|also\s+|then\s+|make sure (?:i|we|to)\s+(?:will\s+)?)?"
    r"(?P<verb>[a-z]+(?:\s(?:back|up|in touch|you know|you posted|you updated|you informed))?)"
    r"|\b(?:and|then|also)\s+(?:will|'ll)\s+(?P<and_verb>[a-z]+(?:\s(?:back|up|in touch))?)"
    r"|\byou(?:'ll| will| should)\s+(?P<hear>hear|receive|get)\b"
    r"|\bexpect (?:a|an|my|our)\s+(?P<expect>call|email|update|reply|text|message|visit|answer)\b"
    r"|\b(?:the |an? |your )?(?P<agentless>engineer|technician|courier|replacement|refund|callback|"
    r"call-back|call back|credit|update) (?:will|is due to|is booked to|should)\b"
)
_NOT_A_PROMISE: Final = re.compile(
    r"\b(?:can't|cannot|won't be able to|unable to) (?:promise|guarantee|commit)|"
    r"\b(?:if|unless) (?:you|it|that|this)\b[^.!?\n]{0,30}\b(?:need|want|like|prefer)\b"
)

_ACTIONS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("call", frozenset({"call", "ring", "phone", "callback", "call-back", "call back"})),
    ("message", frozenset({"email", "text", "message", "write", "reply", "answer", "post"})),
    (
        "update",
        frozenset({"update", "let", "get", "come", "keep", "follow", "hear", "be", "confirm"}),
    ),
    ("send", frozenset({"send", "resend", "re-send", "ship", "dispatch", "courier", "receive"})),
    ("refund", frozenset({"refund", "credit", "reimburse", "compensate", "reverse"})),
    ("visit", frozenset({"visit", "engineer", "technician", "courier", "book", "arrange"})),
)
# Verbs after "I'll" that commit to an action someone can check was done.
_COMMITTING_VERBS: Final[frozenset[str]] = frozenset(
    {
        "call", "ring", "phone", "email", "text", "message", "write", "reply", "answer", "post",
        "update", "let", "get", "come", "keep", "follow", "confirm", "send", "resend", "re-send",
        "ship", "dispatch", "courier", "refund", "credit", "reimburse", "compensate", "reverse",
        "visit", "book", "arrange", "check", "chase", "escalate", "raise", "look", "investigate",
        "sort", "fix", "resolve", "replace", "cancel", "process", "issue", "order", "contact",
        "speak", "talk", "review", "have", "be", "make", "find", "pass", "schedule", "organise",
        "organize", "reconnect", "restore", "unlock", "reset", "waive", "remove", "add", "apply",
        "transfer", "deliver", "collect", "change", "correct", "reopen", "expedite",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Due:
    due: datetime | None
    start: int
    end: int
    phrase: str


def _add_working_days(day: date, count: int) -> date:
    added = 0
    while added < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            added += 1
    return day


def _number(word: str) -> float:
    return float(word) if word.isdigit() else _NUMBERS.get(word, 1.0)


def _clock(match: re.Match[str]) -> time:
    if match.group("named"):
        return time(0, 0) if match.group("named") == "midnight" else time(12, 0)
    if match.group("hour24") is not None:
        return time(int(match.group("hour24")), int(match.group("minute24")))
    hour = int(match.group("hour")) % 12
    if match.group("meridiem").startswith("p"):
        hour += 12
    return time(hour, int(match.group("minute") or 0))


def _resolve(text: str, offset: int, now: datetime) -> _Due | None:
    """The due time of the time expressions in `text` (one sentence), or None if none."""
    spans: list[tuple[int, int]] = []
    relative = _RELATIVE.search(text)
    if relative is not None:
        count = _number(relative.group("count"))
        unit = relative.group("unit")
        due: datetime
        if unit.startswith(("min",)):
            due = now + timedelta(minutes=count)
        elif unit.startswith("h"):
            due = now + timedelta(hours=count)
        elif unit.startswith(("working", "business")):
            working_day = _add_working_days(now.date(), max(1, round(count)))
            due = datetime.combine(working_day, END_OF_BUSINESS, tzinfo=now.tzinfo)
        elif unit.startswith("day"):
            due = now + timedelta(days=count)
        else:
            due = now + timedelta(weeks=count)
        return _Due(due, offset + relative.start(), offset + relative.end(), relative.group(0))
    within_hour = _WITHIN_THE_HOUR.search(text) if "hour" in text else None
    if within_hour is not None:
        return _Due(
            now + timedelta(hours=1),
            offset + within_hour.start(),
            offset + within_hour.end(),
            within_hour.group(0),
        )

    today = now.date()
    day: date | None = None
    default_time = END_OF_BUSINESS
    day_match = _DAY_SCAN.search(text) if _day_possible(text) else None
    if day_match is not None:
        spans.append(day_match.span())
        part = day_match.group("part") or day_match.group("thispart")
        if day_match.group("day"):
            word = day_match.group("day")
            if word in ("today",):
                day = today
            elif word == "tonight":
                day, default_time = today, EVENING_DEADLINE
            elif word in ("tomorrow", "tmrw", "tmr"):
                day = today + timedelta(days=1)
            else:
                ahead = (_WEEKDAYS[word] - today.weekday()) % 7
                if day_match.group("next") == "next" and ahead == 0:
                    ahead = 7
                day = today + timedelta(days=ahead)
            if day_match.group("first"):
                default_time = FIRST_THING
        elif day_match.group("thispart") or day_match.group("later") or day_match.group("eod"):
            day = today
        elif day_match.group("eow"):
            ahead = (4 - today.weekday()) % 7
            if "next" in day_match.group("eow"):
                ahead += 7
            day = today + timedelta(days=ahead)
        elif day_match.group("eom"):
            first_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
            day = first_next - timedelta(days=1)
        elif day_match.group("nextweek"):
            day = today + timedelta(days=(4 - today.weekday()) % 7 + 7)
            if "early" in day_match.group("nextweek"):
                day -= timedelta(days=3)
        elif day_match.group("firstthing"):
            day, default_time = today + timedelta(days=1), FIRST_THING
        if part in ("morning", "lunchtime"):
            default_time = MORNING_DEADLINE
        elif part == "afternoon":
            default_time = END_OF_BUSINESS
        elif part in ("evening", "night"):
            default_time = EVENING_DEADLINE

    clock_match = _CLOCK.search(text) if _clock_possible(text) else None
    clock: time | None = None
    if clock_match is not None:
        spans.append(clock_match.span())
        clock = _clock(clock_match)
    if day is None and clock is None:
        return None
    if day is None:
        assert clock is not None
        due = datetime.combine(today, clock, tzinfo=now.tzinfo)
        if due <= now:
            due += timedelta(days=1)
    else:
        due = datetime.combine(day, clock or default_time, tzinfo=now.tzinfo)
        if due <= now and day == today and clock is None:
            # "today" said after business hours still means before the day is out.
            due = datetime.combine(day, END_OF_DAY, tzinfo=now.tzinfo)
    start = min(span[0] for span in spans)
    end = max(span[1] for span in spans)
    return _Due(due, offset + start, offset + end, text[start:end])


def _action(verb: str) -> str:
    head = verb.split()[0] if verb else ""
    for action, verbs in _ACTIONS:
        if verb in verbs or head in verbs:
            return action
    return head or "other"


def find_promises(
    draft: str, normalised: str, sentences: tuple[Sentence, ...], now: datetime
) -> tuple[Promise, ...]:
    """One promise per sentence that commits to an action, with its due time if stated."""
    promises: list[Promise] = []
    for sentence in sentences:
        text = normalised[sentence.start : sentence.end]
        if _NOT_A_PROMISE.search(text):
            continue
        commitment = _COMMITMENT.search(text)
        if commitment is None:
            continue
        verb = (
            commitment.group("verb")
            or commitment.group("and_verb")
            or commitment.group("hear")
            or commitment.group("expect")
            or commitment.group("agentless")
            or ""
        )
        named_verb = commitment.group("verb") or commitment.group("and_verb")
        if named_verb and verb.split()[0] not in _COMMITTING_VERBS:
            continue
        # The time that follows the commitment is its due time ("...this morning, and will
        # call you by 3pm"); only when none follows does an earlier one count.
        due = _resolve(text[commitment.start() :], sentence.start + commitment.start(), now)
        if due is None:
            due = _resolve(text, sentence.start, now)
        action = _action(verb)
        start = sentence.start + commitment.start()
        end = sentence.start + commitment.end()
        if due is None:
            # Without a time, only contact promises ("I'll get back to you") are follow-ups.
            if action not in ("call", "message", "update"):
                continue
            vague = _VAGUE.search(text)
            phrase = vague.group(0) if vague else ""
            end = sentence.end
            promises.append(Promise(start, end, draft[start:end], action, None, phrase))
            continue
        start, end = min(start, due.start), max(end, due.end)
        promises.append(Promise(start, end, draft[start:end], action, due.due, due.phrase))
    return tuple(promises)


def has_time_expression(text: str) -> bool:
    """Whether normalised `text` names a time (a day, an hour, or a delay such as 'in 2 hours')."""
    return bool(time_expression_starts(text))


def time_expression_starts(text: str) -> tuple[int, ...]:
    """Sorted start offsets of every time expression in normalised `text` (one pass each)."""
    patterns: list[re.Pattern[str] | LeadScan] = [_RELATIVE]
    if "hour" in text:
        patterns.append(_WITHIN_THE_HOUR)
    if _day_possible(text):
        patterns.append(_DAY_SCAN)
    if _clock_possible(text):
        patterns.append(_CLOCK)
    starts: set[int] = set()
    for pattern in patterns:
        starts.update(match.start() for match in pattern.finditer(text))
    return tuple(sorted(starts))

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from calmdesk.engine.coaching import coach

LONDON = ZoneInfo("Europe/London")
# Monday 23 November 2026, 09:30 in London (GMT, UTC+0).
MONDAY_MORNING = datetime(2026, 11, 23, 9, 30, tzinfo=LONDON)


def due(
    draft: str, now: datetime = MONDAY_MORNING, timezone: str = "Europe/London"
) -> datetime | None:
    promises = coach(draft, now=now, timezone=timezone).promises
    assert len(promises) == 1, promises
    return promises[0].due


@pytest.mark.parametrize(
    ("draft", "expected"),
    [
        ("I'll call you back tomorrow before noon.", datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)),
        ("I will email you by 4pm.", datetime(2026, 11, 23, 16, 0, tzinfo=LONDON)),
        ("We'll update you within 24 hours.", datetime(2026, 11, 24, 9, 30, tzinfo=LONDON)),
        ("I'll ring you in two hours.", datetime(2026, 11, 23, 11, 30, tzinfo=LONDON)),
        ("I'll get back to you by end of day.", datetime(2026, 11, 23, 17, 0, tzinfo=LONDON)),
        ("I'll send the replacement by Friday.", datetime(2026, 11, 27, 17, 0, tzinfo=LONDON)),
        ("I'll call you on Monday at 10:15.", datetime(2026, 11, 23, 10, 15, tzinfo=LONDON)),
        ("I'll call you next Monday.", datetime(2026, 11, 30, 17, 0, tzinfo=LONDON)),
        (
            "You'll hear from me within 3 working days.",
            datetime(2026, 11, 26, 17, 0, tzinfo=LONDON),
        ),
        ("I'll text you first thing tomorrow.", datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)),
        ("I'll phone you this afternoon.", datetime(2026, 11, 23, 17, 0, tzinfo=LONDON)),
        ("We will confirm by the end of the week.", datetime(2026, 11, 27, 17, 0, tzinfo=LONDON)),
        ("I'll update you within the hour.", datetime(2026, 11, 23, 10, 30, tzinfo=LONDON)),
    ],
)
def test_due_time_resolved_in_the_organisations_zone(draft: str, expected: datetime) -> None:
    assert due(draft) == expected


def test_clock_time_already_passed_means_tomorrow() -> None:
    evening = datetime(2026, 11, 23, 18, 0, tzinfo=LONDON)
    assert due("I'll call you at 9am.", now=evening) == datetime(2026, 11, 24, 9, 0, tzinfo=LONDON)


def test_naive_now_is_read_in_the_time_zone_and_dst_applies() -> None:
    summer = datetime(2026, 7, 1, 8, 0)  # noqa: DTZ001 - naive on purpose: read in New York (EDT)
    result = due("I'll call you by noon.", now=summer, timezone="America/New_York")
    assert result is not None
    assert result.utcoffset().total_seconds() == -4 * 3600  # type: ignore[union-attr]
    assert (result.hour, result.minute) == (12, 0)


def test_aware_now_is_converted_to_the_zone() -> None:
    utc_now = datetime(2026, 11, 23, 23, 30, tzinfo=ZoneInfo("UTC"))
    # Already Tuesday 08:30 in Tokyo: "tomorrow" is Wednesday there.
    result = due("I'll call you tomorrow.", now=utc_now, timezone="Asia/Tokyo")
    assert result == datetime(2026, 11, 25, 17, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_promise_span_and_action() -> None:
    draft = "Sorry again. I'll call you back tomorrow before noon with news."
    (promise,) = coach(draft, now=MONDAY_MORNING).promises
    assert draft[promise.start : promise.end] == promise.text
    assert promise.text.startswith("I'll call you back tomorrow before noon")
    assert promise.action == "call"


def test_vague_contact_promise_has_no_due_time_and_others_are_not_promises() -> None:
    (vague,) = coach("I'll get back to you shortly.", now=MONDAY_MORNING).promises
    assert vague.due is None and vague.due_phrase == "shortly"
    assert coach("I can't promise it will arrive by Friday.", now=MONDAY_MORNING).promises == ()
    assert coach("The shop opens at 9am on Friday.", now=MONDAY_MORNING).promises == ()


def test_commitment_without_subject_and_the_time_that_follows_it() -> None:
    draft = "I chased the warehouse this morning and will call you by 3pm today."
    (promise,) = coach(draft, now=MONDAY_MORNING, timezone="Europe/London").promises
    assert promise.text == "and will call you by 3pm today"
    assert promise.due == datetime(2026, 11, 23, 15, 0, tzinfo=LONDON)
    (before,) = coach("Tomorrow morning I will call you.", now=MONDAY_MORNING).promises
    assert before.due is not None and before.due.day == 24


@pytest.mark.parametrize("phrase", ["by end of business", "by close of play", "by end of play"])
def test_end_of_business_phrasings(phrase: str) -> None:
    assert due(f"I'll update you {phrase}.") == datetime(2026, 11, 23, 17, 0, tzinfo=LONDON)

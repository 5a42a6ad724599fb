"""Test doubles for the reply coach.

These are not a second coach: they return exactly the techniques and findings a
test names, so the simulator's state machine can be tested on its own terms.
The end-to-end tests (test_scripted_trainees.py) use the real engine coach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from calmdesk.engine.coaching.types import TECHNIQUES, Coaching, Finding, Promise

BLOCKING = {"insult", "threat_back", "other_customer_data"}


def coaching(
    text: str,
    *,
    techniques: Mapping[str, float] | None = None,
    harms: Iterable[str] = (),
    promise: str | None = None,
    score: int = 50,
) -> Coaching:
    findings = tuple(
        Finding(
            rule=rule,
            kind="avoid",
            severity="blocking" if rule in BLOCKING else "medium",
            start=0,
            end=min(len(text), 10),
            text=text[:10],
            explanation=f"{rule} explanation",
        )
        for rule in harms
    )
    promises: tuple[Promise, ...] = ()
    if promise is not None:
        start = text.find(promise)
        promises = (
            Promise(
                start=max(start, 0),
                end=max(start, 0) + len(promise),
                text=promise,
                action="call",
                due=datetime(2026, 1, 1, 17, tzinfo=UTC),
                due_phrase=promise,
            ),
        )
    return Coaching(
        findings=findings,
        techniques={key: float((techniques or {}).get(key, 0.0)) for key in TECHNIQUES},
        score=score,
        reasons=(),
        promises=promises,
        customer_anger=0.5,
    )


class TableCoach:
    """Answers each known reply with the coaching a test prepared for it."""

    def __init__(self, table: Mapping[str, Coaching]) -> None:
        self.table = dict(table)
        self.calls: list[tuple[str, Sequence[tuple[str, str]]]] = []

    def __call__(self, draft: str, conversation: Sequence[tuple[str, str]]) -> Coaching:
        self.calls.append((draft, tuple(conversation)))
        return self.table.get(draft) or coaching(draft)


def fixed(**techniques: float) -> dict[str, float]:
    return dict(techniques)

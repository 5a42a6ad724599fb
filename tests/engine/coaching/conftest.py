from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from calmdesk.engine.coaching import reply_coach as coach_module
from calmdesk.engine.coaching.customer import CustomerMood


def mood(
    anger: float = 0.0,
    frustration: float = 0.0,
    abuse: float = 0.0,
    negative: float | None = None,
    gratitude: float = 0.0,
    shouting: bool = False,
) -> CustomerMood:
    return CustomerMood(
        anger=anger,
        frustration=frustration,
        abuse=abuse,
        negative=max(anger, frustration, abuse) if negative is None else negative,
        gratitude=gratitude,
        shouting=shouting,
        source="test",
    )


@pytest.fixture
def customer_feels(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Fix how the coach reads the customer, independent of the assess engine's version."""

    def set_mood(**kwargs: float | bool) -> None:
        fixed = mood(**kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(coach_module, "combined_mood", lambda texts: fixed)

    yield set_mood

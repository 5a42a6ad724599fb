"""One number for how much a customer message needs a person now.

The inbox sorts on it and the conversation keeps it; it lives in the engine so
that `Assessment.risk` and the stored message risk are the same number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# How much each risk signal weighs. A threat of violence outranks everything;
# rudeness alone ranks below a legal or public threat, which can cost the
# organisation more.
RISK_WEIGHTS: Final[Mapping[str, float]] = {
    "threat": 1.0,
    "abuse": 0.85,
    "legal": 0.8,
    "public": 0.7,
    "churn": 0.65,
    "anger": 0.6,
    "repeat_contact": 0.55,
    "refund": 0.4,
    "urgency": 0.4,
    "frustration": 0.35,
}


def risk_from_scores(scores: Mapping[str, float]) -> float:
    """One number in [0, 1]: the strongest weighted signal, nudged up when several agree."""
    weighted = sorted(
        (weight * float(scores.get(label, 0.0)) for label, weight in RISK_WEIGHTS.items()),
        reverse=True,
    )
    top = weighted[0]
    others = sum(weighted[1:3])
    return round(min(1.0, top + 0.15 * others * (1.0 - top)), 4)

"""How upset the customer is, as far as the coach needs to know.

The coach depends on the assess engine through this one narrow function, imported lazily,
so that coaching works (with a small built-in estimate) even where `assess` is missing or
fails on some input.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from calmdesk.engine.coaching.text import normalise


@dataclass(frozen=True, slots=True)
class CustomerMood:
    anger: float
    frustration: float
    abuse: float
    negative: float
    gratitude: float
    shouting: bool
    source: str  # "assess" or "fallback": which estimate produced the numbers
    threat: float = 0.0
    legal: float = 0.0
    repeat_contact: float = 0.0

    @property
    def upset(self) -> float:
        return max(self.anger, self.frustration, self.abuse)

    @property
    def heat(self) -> float:
        """How much feeling there is to acknowledge before a fix can land."""
        return max(self.anger, self.frustration, self.abuse)

    @property
    def hostile(self) -> float:
        return max(self.anger, self.abuse, 0.6 if self.shouting else 0.0)


CALM: Final = CustomerMood(0.0, 0.0, 0.0, 0.0, 0.0, False, "none")

_CAPS_WORD: Final = re.compile(r"\b[A-Z][A-Z']{2,}\b")
_BANG_RUN: Final = re.compile(r"[!?]{3,}|!!")
# A rough stand-in for assess: angry and frustrated wording, and abuse aimed at people.
_ANGRY: Final = re.compile(
    r"\b(?:furious|fuming|livid|angry|outraged|outrageous|disgust\w*|unacceptable|ridiculous|"
    r"pathetic|useless|incompetent|worst|joke|appalling|shocking|disgrace\w*|sick of|fed up|"
    r"had enough|never again|rip[- ]?off|scam\w*|liars?|how dare|sort it out|"
    r"third time|fourth time|again and again)\b"
)
_FRUSTRATED: Final = re.compile(
    r"\b(?:frustrat\w*|annoy\w*|still (?:not|no|waiting|haven't)|nobody|no one|waiting|"
    r"disappoint\w*|not happy|unhappy|keeps? (?:happening|failing|dropping|breaking)|broken|"
    r"doesn't work|not working|again)\b"
)
_ABUSE: Final = re.compile(
    r"\b(?:idiots?|morons?|stupid|clowns?|imbeciles?|f+u+c+k\w*|shit\w*|bastards?|bitch\w*|"
    r"ass(?:hole)?s?|arse\w*|crap|bloody|damn\w*|scumbags?|useless)\b"
)
_THREAT: Final = re.compile(
    r"\b(?:i'll|i will|i'm going to|gonna) (?:kill|hurt|smash|burn|find|come (?:down|round) (?:there|to)|"
    r"punch|beat)\b|\bi know where you\b|\byou'll regret\b|\bwatch your back\b"
)
_LEGAL: Final = re.compile(
    r"\b(?:lawyer|solicitor|sue|suing|court|legal action|ombudsman|trading standards|regulator|"
    r"small claims|chargeback)\b"
)
_REPEAT: Final = re.compile(
    r"\b(?:(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time|again|already (?:called|emailed|"
    r"written|told|asked|contacted)|keep (?:calling|chasing|asking)|(?:called|emailed|written) "
    r"(?:twice|three times|several times|\d+ times))\b"
)
_THANKS: Final = re.compile(r"\b(?:thanks?|thank you|grateful|appreciate|brilliant|great help)\b")


def _fallback(text: str) -> CustomerMood:
    lowered = normalise(text)
    letters = sum(1 for ch in text if ch.isalpha())
    caps_words = len(_CAPS_WORD.findall(text))
    shouting = bool(_BANG_RUN.search(text)) or (caps_words >= 2 and letters > 0)
    angry_hits = len(_ANGRY.findall(lowered))
    abuse_hits = len(_ABUSE.findall(lowered))
    frustrated_hits = len(_FRUSTRATED.findall(lowered))
    anger = min(1.0, 0.3 * angry_hits + 0.2 * abuse_hits + (0.3 if shouting else 0.0))
    frustration = min(1.0, 0.25 * frustrated_hits + 0.5 * anger)
    abuse = min(1.0, 0.45 * abuse_hits)
    negative = max(anger, frustration, abuse)
    gratitude = 0.7 if _THANKS.search(lowered) and negative < 0.3 else 0.0
    return CustomerMood(
        anger,
        frustration,
        abuse,
        negative,
        gratitude,
        shouting,
        "fallback",
        threat=0.8 if _THREAT.search(lowered) else 0.0,
        legal=0.8 if _LEGAL.search(lowered) else 0.0,
        repeat_contact=0.8 if _REPEAT.search(lowered) else 0.0,
    )


def _assess_function() -> Callable[..., Any] | None:
    try:
        engine = importlib.import_module("calmdesk.engine")
    except Exception:  # a broken engine import must not break coaching
        return None
    assess = getattr(engine, "assess", None)
    return assess if callable(assess) else None


def _score(scores: Any, key: str) -> float:
    try:
        value = float(scores[key])
    except (KeyError, TypeError, ValueError, IndexError):
        return 0.0
    return min(1.0, max(0.0, value)) if value == value else 0.0  # NaN -> 0


@lru_cache(maxsize=2048)
def customer_mood(text: str) -> CustomerMood:
    """The mood of one customer message: from `calmdesk.engine.assess` when it is there.

    Cached by text, because live coaching re-coaches the same conversation on every keystroke.
    """
    if not text.strip():
        return CALM
    fallback = _fallback(text)
    assess = _assess_function()
    if assess is None:
        return fallback
    try:
        scores = assess(text).scores
    except Exception:  # assess failing on odd input must not stop the coach
        return fallback
    return CustomerMood(
        anger=_score(scores, "anger"),
        frustration=_score(scores, "frustration"),
        abuse=_score(scores, "abuse"),
        negative=_score(scores, "negative"),
        gratitude=_score(scores, "gratitude"),
        shouting=fallback.shouting,
        source="assess",
        threat=_score(scores, "threat"),
        legal=_score(scores, "legal"),
        repeat_contact=_score(scores, "repeat_contact"),
    )


def combined_mood(texts: tuple[str, ...]) -> CustomerMood:
    """The strongest reading over several customer messages (the ones the draft answers)."""
    moods = [customer_mood(text) for text in texts]
    if not moods:
        return CALM
    return CustomerMood(
        anger=max(mood.anger for mood in moods),
        frustration=max(mood.frustration for mood in moods),
        abuse=max(mood.abuse for mood in moods),
        negative=max(mood.negative for mood in moods),
        gratitude=max(mood.gratitude for mood in moods),
        shouting=any(mood.shouting for mood in moods),
        source=moods[-1].source,
        threat=max(mood.threat for mood in moods),
        legal=max(mood.legal for mood in moods),
        repeat_contact=max(mood.repeat_contact for mood in moods),
    )


def risk_evidence(text: str, kind: str) -> str | None:
    """The words in a customer message that show a risk (abuse, threat, legal...), from the
    assess engine's flags when it gives them; None when there is nothing specific."""
    assess = _assess_function()
    if assess is None:
        return None
    try:
        flags = assess(text).flags
        for flag in flags:
            if getattr(flag, "kind", None) == kind and isinstance(flag.evidence, str):
                return str(flag.evidence)
    except Exception:  # evidence is a nicety: never let it break the playbook
        return None
    return None

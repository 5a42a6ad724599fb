"""`playbook(conversation)`: which de-escalation stages are done, with evidence, and what next.

The stages follow domain.md section 1. Customer messages are read with the assess engine
(through `customer_mood`), agent replies with `coach`; the stage texts are data in
`rules/playbook.toml`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from calmdesk.engine.coaching.conversation import Turn, read_turns
from calmdesk.engine.coaching.customer import CustomerMood, customer_mood, risk_evidence
from calmdesk.engine.coaching.reply_coach import coach
from calmdesk.engine.coaching.rules import rulebook
from calmdesk.engine.coaching.text import normalise, split_sentences
from calmdesk.engine.coaching.types import (
    PLAYBOOK_STAGES,
    Coaching,
    Evidence,
    PlaybookState,
    Stage,
    StageStatus,
)

# From this heat (anger, frustration or abuse) a customer needs room to vent and an
# acknowledgement before a fix; from NEGATIVE a customer has a problem to restate and resolve.
HEAT: Final = 0.4
NEGATIVE: Final = 0.3
# Risk scores from which the case must be recorded and reported to a supervisor.
RECORD_RISK: Final = 0.5
TREND_STEP: Final = 0.1
_COMPOSURE_BREAKERS: Final[frozenset[str]] = frozenset(
    {"insult", "threat_back", "mirroring_hostility", "sarcasm", "arguing", "condescension"}
)
# Stages that can still be put right in the next reply when they were skipped.
_REPAIRABLE: Final[frozenset[str]] = frozenset(
    {"composure", "acknowledge", "paraphrase", "resolve", "follow_up"}
)
_RECORDED: Final = re.compile(
    r"\b(?:i've|i have|we've|we have|i'm|i am)\s+(?:now\s+|also\s+|just\s+|already\s+)?"
    r"(?:logged|recorded|noted|reported|raised|escalated|flagged|passed|filed|opened|documented|"
    r"logging|recording|noting|reporting|raising|escalating|flagging|passing|filing)\b"
    r"[^.!?\n]{0,60}\b(?:supervisor|manager|team lead(?:er)?|complaints?|incident|case|record|"
    r"account|report|escalation)"
)
_ALL_DONE: Final = (
    "Every stage is covered: keep the promised follow-up and close the case on good terms."
)
_NOTE_ROLES: Final[frozenset[str]] = frozenset({"note", "incident", "record", "system_note"})
# A customer who answers the agent with thanks or "that works now", and no fresh complaint,
# has a way forward: the resolve stage is done in their words, whatever the reply's wording.
_SATISFIED: Final = re.compile(
    r"\b(?:works? (?:now|again|fine)|working (?:now|again)|(?:all )?sorted|that'?s? (?:fixed|"
    r"great|perfect|fine|brilliant|lovely)|makes sense|all good|problem solved|perfect|"
    r"that'?s? (?:what i needed|all i needed)|much appreciated)\b"
)
SATISFIED_GRATITUDE: Final = 0.5


def _first_sentence(text: str) -> str:
    sentences = split_sentences(text)
    return sentences[0].text[:160] if sentences else text[:160]


def _evidence_of(coaching: Coaching, rules: Iterable[str], index: int) -> Evidence | None:
    wanted = set(rules)
    for finding in coaching.findings:
        if finding.rule in wanted:
            return Evidence(index, finding.text, finding.rule)
    return None


def _customer_confirmed(turns: Sequence[Turn], moods: dict[int, CustomerMood]) -> Evidence | None:
    """The customer's latest message, when it answers a reply and reads as satisfied."""
    turns = [turn for turn in turns if turn.role in ("customer", "agent")]
    if len(turns) < 2 or turns[-1].role != "customer":
        return None
    if not any(turn.role == "agent" for turn in turns[:-1]):
        return None
    last = turns[-1]
    mood = moods[last.index]
    if mood.heat >= HEAT or mood.negative >= NEGATIVE:
        return None
    if mood.gratitude < SATISFIED_GRATITUDE and not _SATISFIED.search(normalise(last.text)):
        return None
    return Evidence(last.index, _first_sentence(last.text), "customer_confirmed")


def _trend(heats: list[float]) -> Any:
    if len(heats) < 2:
        return None
    delta = heats[-1] - heats[-2]
    if delta > TREND_STEP:
        return "rising"
    if delta < -TREND_STEP:
        return "falling"
    return "steady"


def playbook(
    conversation: Iterable[Any],
    *,
    now: datetime | None = None,
    timezone: str = "UTC",
    incident_recorded: bool = False,
) -> PlaybookState:
    """Where the de-escalation of `conversation` stands (items as for `coach`).

    `incident_recorded` says the helpdesk already holds an incident record for the case;
    turns with role "note" count as records too.
    """
    turns = read_turns(conversation)
    book = rulebook()
    moods: list[tuple[Turn, CustomerMood]] = []
    replies: list[tuple[Turn, Coaching]] = []
    seen: list[tuple[str, str]] = []
    first_hot: int | None = None
    first_problem: int | None = None
    for turn in turns:
        if turn.role == "customer":
            mood = customer_mood(turn.text)
            moods.append((turn, mood))
            if first_hot is None and mood.heat >= HEAT:
                first_hot = turn.index
            if first_problem is None and (mood.heat >= HEAT or mood.negative >= NEGATIVE):
                first_problem = turn.index
        elif turn.role == "agent":
            replies.append((turn, coach(turn.text, conversation=seen, now=now, timezone=timezone)))
        seen.append((turn.role, turn.text))

    stages: dict[str, tuple[StageStatus, tuple[Evidence, ...]]] = {}
    mood_of = {turn.index: mood for turn, mood in moods}

    # composure: the latest reply decides whether it needs repair now.
    if not replies:
        stages["composure"] = ("todo", ())
    else:
        last_turn, last_coaching = replies[-1]
        broken = _evidence_of(last_coaching, _COMPOSURE_BREAKERS, last_turn.index)
        if broken is not None:
            stages["composure"] = ("missed", (broken,))
        else:
            calm = Evidence(last_turn.index, _first_sentence(last_turn.text), "calm_tone")
            stages["composure"] = ("done", (calm,))

    # vent: only for a heated customer; missed if a fix came before any acknowledgement.
    after_hot = [(t, c) for t, c in replies if first_hot is not None and t.index > first_hot]
    if first_hot is None:
        stages["vent"] = ("not_needed", ())
    else:
        rushed = [
            rush
            for t, c in after_hot
            if (rush := _evidence_of(c, ["solution_before_acknowledgement"], t.index))
        ]
        if rushed:
            stages["vent"] = ("missed", (rushed[0],))
        elif after_hot:
            turn, _ = after_hot[0]
            stages["vent"] = (
                "done",
                (Evidence(turn.index, _first_sentence(turn.text), "listened"),),
            )
        else:
            stages["vent"] = ("todo", ())

    # acknowledge, paraphrase, resolve: a technique shown in a reply after the problem appeared.
    after_problem = [
        (t, c) for t, c in replies if first_problem is not None and t.index > first_problem
    ]
    stage_rules = {
        "acknowledge": ("apology", "empathy"),
        "paraphrase": ("paraphrase", "clarifying_question"),
        "resolve": ("next_step", "ownership"),
    }
    for name, rules in stage_rules.items():
        if first_problem is None and name != "resolve":
            stages[name] = ("not_needed", ())
            continue
        candidates = after_problem if first_problem is not None else replies
        found = [e for t, c in candidates if (e := _evidence_of(c, rules, t.index))]
        if name == "resolve" and (confirmed := _customer_confirmed(turns, mood_of)) is not None:
            found.append(confirmed)
        if found:
            stages[name] = ("done", tuple(found[:3]))
        elif candidates:
            stages[name] = ("missed", ())
        else:
            stages[name] = ("todo", ())

    # record: abuse, threats, legal threats or repeated failure must reach a supervisor.
    risky = [
        Evidence(turn.index, risk_evidence(turn.text, reason) or _first_sentence(turn.text), reason)
        for turn, mood in moods
        for reason, score in (
            ("abuse", mood.abuse),
            ("threat", mood.threat),
            ("legal", mood.legal),
            ("repeat_contact", mood.repeat_contact if mood.heat >= HEAT else 0.0),
        )
        if score >= RECORD_RISK
    ]
    recorded = [
        Evidence(turn.index, match.group(0), "recorded")
        for turn in turns
        if turn.role == "agent" and (match := _RECORDED.search(normalise(turn.text))) is not None
    ] + [
        Evidence(turn.index, _first_sentence(turn.text), "note")
        for turn in turns
        if turn.role in _NOTE_ROLES
    ]
    if recorded or incident_recorded:
        stages["record"] = ("done", tuple(recorded[:3]))
    elif risky:
        stages["record"] = ("todo", tuple(risky[:3]))
    else:
        stages["record"] = ("not_needed", ())

    # follow_up: a promise with a due time; not needed once a reply says it is solved.
    promised = [
        Evidence(turn.index, promise.text, "promise")
        for turn, coaching in replies
        for promise in coaching.promises
        if promise.due is not None
    ]
    vague = [
        Evidence(turn.index, promise.text, "promise_without_time")
        for turn, coaching in replies
        for promise in coaching.promises
        if promise.due is None
    ]
    solved_pattern = book["no_next_step"].pattern
    solved = (
        bool(replies)
        and solved_pattern is not None
        and bool(solved_pattern.search(normalise(replies[-1][0].text)))
    )
    if promised:
        stages["follow_up"] = ("done", tuple(promised[-3:]))
    elif solved or first_problem is None:
        stages["follow_up"] = ("not_needed", ())
    elif vague:
        stages["follow_up"] = ("missed", tuple(vague[-1:]))
    else:
        stages["follow_up"] = ("todo", ())

    built: list[Stage] = []
    next_stage: str | None = None
    next_action = _ALL_DONE
    for name in PLAYBOOK_STAGES:
        status, stage_evidence = stages[name]
        text = book.stages[name]
        advice = {"done": text.done, "todo": text.todo, "missed": text.missed}.get(status, "")
        built.append(Stage(name, status, stage_evidence, advice))
        wanted = status == "todo" or (status == "missed" and name in _REPAIRABLE)
        if next_stage is None and wanted:
            next_stage, next_action = name, advice
    heats = [mood.heat for _, mood in moods]
    return PlaybookState(
        stages=tuple(built),
        next_stage=next_stage,
        next_action=next_action,
        customer_anger=moods[-1][1].anger if moods else 0.0,
        anger_trend=_trend(heats),
    )

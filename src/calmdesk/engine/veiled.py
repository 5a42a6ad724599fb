"""Veiled threats as combinations of cues (`lexicons/veiled.tsv`).

A veiled threat rarely says what it will do. It puts together things that are harmless
apart: the writer claims to know the target ("I know where your depot is", "I've seen your
van", "your receptionist leaves at six") and adds a menace aimed at a person ("I'll be
waiting", "you'll regret it", "it won't be to chat"), or two menaces meet ("next time I see
you" + "it won't be words"). Either half alone is everyday support talk ("I know where your
office is, can I drop the form in?", "I'll be waiting for your reply").

The cues are rules of the signal scan (kinds `veiled_knows` and `veiled_menace`), found in
its one pass; cues that are threats on their own are plain `threat` rules of the same file.
Here, only for messages where the scan found a cue, a knowledge cue and a menace, or two
different menaces, within one sentence or two adjacent ones become a `threat` flag whose
span runs from the first cue to the second, so an agent sees both halves. A firm menace
(weight `FIRM` or more: "watch your back", "what I'm capable of") with no partner counts as
a soft threat (`threat_soft`: a threat only in an angry message). The cue flags themselves
are consumed: only the threats they make leave this module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from calmdesk.engine.types import Flag, new_flag

KNOWS: Final = "veiled_knows"
MENACE: Final = "veiled_menace"
CUE_KINDS: Final = frozenset({KNOWS, MENACE})
# A lone menace of at least this weight is a soft threat (see `assess`): an angry message
# that says "watch your back" threatens whoever it is addressed to.
FIRM: Final = 0.7
# Two cues pair when at most one sentence end separates them and the text between them is
# no longer than this (a long sentence holds more than one thought), or when two do and
# only a few words lie between ("I can find you. It's not hard. Remember that.").
REACH: Final = 240
TERSE: Final = 40
# A message with many cues says no more than one with a few; bounds the pairing work.
MAX_CUES: Final = 12
MAX_THREATS: Final = 3
# The weight of a lone cue in a message that follows a threat by the same customer.
AFTER_THREAT: Final = 0.75
# The weakest cue that does so: "see you then" stays an appointment even then.
LONE_CUE_MIN: Final = 0.5
SOFT: Final = "threat_soft"
# Sentence ends: a run of terminal punctuation or line breaks counts once ("!!!", "...").
_BREAK: Final = re.compile(r"[.!?\n]+")


def recognise(text: str, flags: Sequence[Flag], *, after_threat: bool = False) -> list[Flag]:
    """`flags` with the veiled-threat cues replaced by the threats they make.

    Each pair (knowledge + menace, or two menaces from different rules) that lies within
    one sentence or two adjacent ones gives a `threat` flag from the first cue's start to
    the second's end, weighted as both cues together (a noisy-OR of their weights); at most
    `MAX_THREATS`, the strongest first. A firm menace in no pair gives a `threat_soft` flag.

    `after_threat`: an earlier message of the same customer threatened violence. The
    threat is then the other half of every cue, so a cue in no pair is a threat on its own
    ("I'll be waiting outside your office tonight" after "I will hurt you"), weighted at
    least `AFTER_THREAT`.
    """
    knows: list[Flag] = []
    menaces: list[Flag] = []
    kept: list[Flag] = []
    for flag in flags:
        if flag.kind == KNOWS:
            if len(knows) < MAX_CUES:
                knows.append(flag)
        elif flag.kind == MENACE:
            if len(menaces) < MAX_CUES:
                menaces.append(flag)
        else:
            kept.append(flag)
    pairs: list[tuple[float, int, int, str]] = []
    paired: set[int] = set()
    for index, menace in enumerate(menaces):
        for other in knows:
            _pair(text, other, menace, pairs, paired, index)
        for earlier in range(index):
            if menaces[earlier].rule != menace.rule:
                _pair(text, menaces[earlier], menace, pairs, paired, index, earlier)
    pairs.sort(key=lambda pair: (-pair[0], pair[1]))
    taken: list[tuple[int, int]] = []
    for weight, start, end, rule in pairs:
        if len(taken) >= MAX_THREATS:
            break
        if any(start < high and low < end for low, high in taken):
            continue  # the same threat seen through another pair of its cues
        taken.append((start, end))
        kept.append(new_flag("threat", start, end, text[start:end], rule, weight))
    if after_threat:
        # A soft threat needs an angry message to count; a threat before it is enough. And
        # threats the scan already holds at a cue's place are that cue's threat.
        kept = [replace(flag, kind="threat") if flag.kind == SOFT else flag for flag in kept]
        taken += [(flag.start, flag.end) for flag in kept if flag.kind == "threat"]
        lone = [cue for cue in (*knows, *menaces) if cue.weight >= LONE_CUE_MIN]
        threats = 0
        for cue in sorted(lone, key=lambda cue: (-cue.weight, cue.start)):
            if threats >= MAX_THREATS:
                break
            if any(cue.start < high and low < cue.end for low, high in taken):
                continue
            taken.append((cue.start, cue.end))
            threats += 1
            weight = max(cue.weight, AFTER_THREAT)
            kept.append(new_flag("threat", cue.start, cue.end, cue.evidence, cue.rule, weight))
        return kept
    for index, menace in enumerate(menaces):
        if menace.weight >= FIRM and index not in paired:
            kept.append(
                new_flag(
                    SOFT,
                    menace.start,
                    menace.end,
                    menace.evidence,
                    menace.rule,
                    menace.weight,
                )
            )
    return kept


def _pair(
    text: str,
    first: Flag,
    second: Flag,
    pairs: list[tuple[float, int, int, str]],
    paired: set[int],
    *menace_indexes: int,
) -> None:
    """Add the pair of two cues to `pairs` when they are close enough to be one thought."""
    if first.start > second.start:
        first, second = second, first
    if second.start < first.end:
        return  # overlapping cues are one phrase read twice, not two cues
    between = text[first.end : second.start]
    if len(between) > REACH:
        return
    breaks = len(_BREAK.findall(between))
    if breaks > 2 or (breaks == 2 and len(between) > TERSE):
        return
    weight = 1.0 - (1.0 - first.weight) * (1.0 - second.weight)
    rule = f"{first.rule}+{second.rule.removeprefix('veiled.')}"
    end = max(first.end, second.end)
    pairs.append((weight, first.start, end, rule))
    paired.update(menace_indexes)

"""Benchmark `calmdesk.engine.coach`: one ~120-word draft against a 10-message conversation.

Run: .venv/bin/python benchmarks/bench_coach.py [--runs 2000]

Target (issue 4): p99 under 5 ms in one process. Three figures are printed:
- warm: the same conversation each time (what live coaching does while the agent types;
  the customer's messages are read by `assess` once and cached);
- varied: a different draft each call (the last word changes), conversation cached;
- cold: the customer-reading cache cleared before every call, so `assess` runs on the
  messages the draft answers each time (first sight of a conversation).
The machine and its load average are printed too: the machine is shared, so compare
figures taken at similar load. `--tone-model on` runs the coach with the packaged learned tone
model even when it is off by default, `off` with the rules alone (default: as shipped).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_lines

from calmdesk.engine.coaching import coach
from calmdesk.engine.coaching.customer import customer_mood
from calmdesk.engine.coaching.rules import rulebook
from calmdesk.engine.coaching.text import word_count
from calmdesk.engine.coaching.tone import ToneModel, packaged_tone_model

DRAFT = (
    "I'm really sorry you've had to chase us again about the broadband. So the connection "
    "drops most evenings around seven, and restarting the router hasn't helped, is that "
    "right? That must be maddening when you work from home. I've run a line test and it "
    "shows a fault between the cabinet and your street, which is on our side, not yours. "
    "I'll book an engineer for Thursday morning and call you by 5 pm tomorrow to confirm the "
    "slot. In the meantime, you need to keep the router switched on so the tests can run. "
    "Thanks for your patience, and per our policy I've added a credit for the lost days. "
    "Which phone number is best for the call?"
)
CONVERSATION = [
    ("customer", "My internet keeps dropping every single evening. Third time I'm writing!!"),
    ("agent", "Sorry to hear that. Could you restart the router and let me know?"),
    ("customer", "I have restarted it FIVE times. It doesn't help. I work from home."),
    ("agent", "Thanks. I've asked the network team to look at your line."),
    ("customer", "That was two days ago and nobody has called me back. Useless."),
    ("agent", "I understand. I'm chasing them now."),
    ("customer", "You keep saying that. I'm paying for a service I don't get."),
    ("agent", "You're right to be annoyed. I'm checking the line test results."),
    ("customer", "And? It dropped again last night at 7pm during a client call."),
    ("customer", "If this isn't fixed this week I'm cancelling and leaving a review."),
]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(label: str, runs: int, call: Callable[[int], object]) -> None:
    """Wall-clock latency, and the process's own CPU time per call (which excludes time spent
    waiting for a core while other processes run: on a busy shared machine the two differ)."""
    wall: list[float] = []
    cpu: list[float] = []
    for index in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        call(index)
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    for kind, timings in (("wall", wall), ("cpu", cpu)):
        print(
            f"{label:<7} {kind:<4} runs={runs:<5} p50={percentile(timings, 0.5):.3f} ms  "
            f"p95={percentile(timings, 0.95):.3f} ms  p99={percentile(timings, 0.99):.3f} ms  "
            f"mean={statistics.fmean(timings):.3f} ms  max={max(timings):.3f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--tone-model", choices=("default", "on", "off"), default="default")
    args = parser.parse_args()
    tone: ToneModel | bool = args.tone_model != "off"
    if args.tone_model == "on":
        started = time.perf_counter()
        packaged = packaged_tone_model()
        if packaged is None:
            parser.error("no tone model is packaged (calmdesk train --part coach)")
        tone = packaged
        print(f"tone model: loaded in {(time.perf_counter() - started) * 1000:.1f} ms")

    for line in machine_lines():
        print(line)
    print(f"load average (1/5/15 min) at start: {load_average()}")
    started = time.perf_counter()
    book = rulebook()
    load_ms = (time.perf_counter() - started) * 1000
    phrasings = sum(len(rule.gated) for rule in book.rules.values())
    print(f"rules: {len(book.rules)} rules, {phrasings} phrasings, loaded in {load_ms:.1f} ms")
    print(f"draft: {word_count(DRAFT)} words; conversation: {len(CONVERSATION)} messages")
    print(f"tone model: {args.tone_model}")
    coach(DRAFT, conversation=CONVERSATION, tone_model=tone)  # warm-up: model loads, caches

    run("warm", args.runs, lambda index: coach(DRAFT, conversation=CONVERSATION, tone_model=tone))
    run(
        "varied",
        args.runs,
        lambda index: coach(
            f"{DRAFT} Reference {index}.", conversation=CONVERSATION, tone_model=tone
        ),
    )

    def cold(index: int) -> None:
        customer_mood.cache_clear()
        coach(DRAFT, conversation=CONVERSATION, tone_model=tone)

    run("cold", max(200, args.runs // 5), cold)
    print(f"load average (1/5/15 min) at end:   {load_average()}")


if __name__ == "__main__":
    main()

"""Benchmark the practice simulator: per-reply latency and whole scripted sessions.

Run: .venv/bin/python benchmarks/bench_practice.py [--rounds 20]

Plays the model and the bad trainee scripts of every shipped scenario (from
tests/training/scripts) with the real engine coach, `--rounds` times with
different seeds, and prints the latency of one trainee reply (coach + customer
state + composed line) and of a whole session, plus the machine it ran on. A web
practice page replays the stored replies before each new one, so the session
figure is also the cost of one reply late in a web run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import load_average, machine_lines

from calmdesk.training import PracticeSession, load_scenarios

SCRIPTS = Path(__file__).resolve().parents[1] / "tests" / "training" / "scripts"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    scenarios = load_scenarios()
    load_ms = (time.perf_counter() - started) * 1000
    from calmdesk.engine.coaching import coach

    coach("warm-up", conversation=())  # the first call loads the rule book

    per_reply: list[float] = []
    per_session: list[float] = []
    cpu_started = time.process_time()
    for round_number in range(args.rounds):
        for scenario in scenarios:
            for kind in ("good", "bad"):
                lines = (SCRIPTS / f"{scenario.id}.{kind}.txt").read_text().splitlines()
                session_started = time.perf_counter()
                session = PracticeSession(scenario, seed=round_number)
                for line in lines:
                    if session.finished or not line.strip():
                        continue
                    reply_started = time.perf_counter()
                    session.reply(line)
                    per_reply.append((time.perf_counter() - reply_started) * 1000)
                session.result()
                per_session.append((time.perf_counter() - session_started) * 1000)
    cpu = time.process_time() - cpu_started

    for line in machine_lines():
        print(line)
    print(f"load average at the end: {load_average()}")
    print(f"scenarios: {len(scenarios)} loaded and validated in {load_ms:.1f} ms")
    print(
        f"replies: {len(per_reply)}  p50 {statistics.median(per_reply):.2f} ms  "
        f"p95 {percentile(per_reply, 0.95):.2f} ms  p99 {percentile(per_reply, 0.99):.2f} ms"
    )
    print(
        f"sessions: {len(per_session)}  p50 {statistics.median(per_session):.2f} ms  "
        f"p99 {percentile(per_session, 0.99):.2f} ms  (CPU {cpu:.2f} s in all)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

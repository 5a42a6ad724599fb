"""Instructions per call of `coach`, under callgrind.

Instruction counts do not depend on the machine's load, unlike the timings of
`bench_coach.py`. Each part is one run under callgrind with instrumentation off during the
warm-up (imports, rule book, tone model, caches: slow to simulate and not what is measured);
`callgrind_control` switches it on for the N calls only. On the benchmark's ~120-word draft
and 10-message conversation:

- warm: the same draft and conversation each call (live coaching at a pause in typing);
- varied: a different draft each call (the last word changes), the same conversation;
- cold: the customer-reading caches cleared before each call (first sight of a thread);
- sets: the drafts of the packaged coach sets with their customer message, one each.

    .venv/bin/python benchmarks/callgrind_coach.py warm varied cold sets [--tone-model on]

`PYTHONPATH=/path/to/other/src` measures another checkout with the same driver. Needs
`valgrind` and `callgrind_control` on the PATH.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PARTS = ("warm", "varied", "cold", "sets")


def run_part(part: str, count: int, tone_choice: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_coach import CONVERSATION, DRAFT
    from check_coach_identical import records

    from calmdesk.engine.coaching import coach
    from calmdesk.engine.coaching.customer import customer_mood
    from calmdesk.engine.coaching.tone import ToneModel, packaged_tone_model

    tone: ToneModel | bool = tone_choice != "off"
    if tone_choice == "on":
        packaged = packaged_tone_model()
        assert packaged is not None
        tone = packaged
    rows = records()
    # Warm-up, the same in every run: the rule book, the tone model, the assess engine.
    for _ in range(3):
        coach(DRAFT, conversation=CONVERSATION, tone_model=tone)
    for _, customer, draft in rows[-50:]:
        coach(draft, conversation=[("customer", customer)], tone_model=tone)
    # Tell the parent the warm-up is over and wait while it switches instrumentation on.
    print("ready", flush=True)
    sys.stdin.readline()
    if part == "warm":
        for _ in range(count):
            coach(DRAFT, conversation=CONVERSATION, tone_model=tone)
    elif part == "varied":
        for index in range(count):
            coach(f"{DRAFT} Reference {index}.", conversation=CONVERSATION, tone_model=tone)
    elif part == "cold":
        for _ in range(count):
            customer_mood.cache_clear()
            coach(DRAFT, conversation=CONVERSATION, tone_model=tone)
    elif part == "sets":
        for _, customer, draft in rows[:count]:
            coach(draft, conversation=[("customer", customer)], tone_model=tone)
    print("done", flush=True)
    sys.stdin.readline()


def instructions(part: str, count: int, tone: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        process = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                __file__,
                "--run",
                part,
                str(count),
                tone,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None
        for expected, switch in (("ready", "--instr=on"), ("done", "--instr=off")):
            line = process.stdout.readline().strip()
            if line != expected:
                process.kill()
                raise RuntimeError(f"driver said {line!r}: {process.communicate()[1][-2000:]}")
            subprocess.run(
                ["callgrind_control", switch, str(process.pid)], capture_output=True, check=True
            )
            process.stdin.write("go\n")
            process.stdin.flush()
        _, stderr = process.communicate()
    found = re.search(r"Collected : (\d+)", stderr)
    if found is None:
        raise RuntimeError(stderr[-2000:])
    return int(found.group(1))


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--run":
        run_part(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("parts", nargs="+", choices=PARTS)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--tone-model", choices=("default", "on", "off"), default="default")
    args = parser.parse_args()
    for part in args.parts:
        total = instructions(part, args.calls, args.tone_model)
        print(f"{part} (tone model {args.tone_model}): {total / args.calls:,.0f} instructions/call")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark `calmdesk.engine.assess`: throughput, single-message latency, load time, memory.

Run: .venv/bin/python benchmarks/bench_assess.py [--messages 20000]

The messages are generated here from templates (support-like email and chat: calm, polite
but unhappy, angry, abusive, threats, typos, long rambling ones), with a fixed seed.
Prints the machine it ran on, including the load average: on a shared machine other
processes' CPU use slows every figure, so CPU time is printed next to wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time

OPENINGS = ["Hi,", "Hello", "Dear support,", "hey", "To whom it may concern,", "", "Good morning,"]
PRODUCTS = ["kettle", "router", "sofa", "phone case", "subscription", "laptop", "order", "parcel"]
PROBLEMS = [
    "my {p} arrived broken",
    "the {p} still hasn't arrived after {n} days",
    "you charged me twice for the {p}",
    "I can't log in to my account to check the {p}",
    "the {p} stopped working after a week",
    "I was told the {p} would be free but I got a bill",
    "the tracking for my {p} hasn't moved since {day}",
    "i cant find the invoice for my {p}",
    "the app crashes every time I open the {p} page",
]
FEELINGS = [
    "",
    "This is really disappointing.",
    "I'm quite frustrated to be honest.",
    "This is absolutely UNACCEPTABLE!!!",
    "Are you kidding me?",
    "I am furious.",
    "Not impressed at all.",
    "honestly this is a joke",
    "I'm so confused by all of this.",
    "Thanks for your help so far.",
]
ASKS = [
    "Could you look into it please?",
    "I want a full refund.",
    "Please cancel my subscription.",
    "This is the third time I've written about this.",
    "Can I speak to a manager?",
    "I need this sorted today.",
    "If this isn't fixed I'm going to my lawyer.",
    "I'll be leaving a one-star review everywhere.",
    "What should I do next?",
    "You useless idiots.",
    "I know where your office is and I'll be waiting.",
    "I'm switching to a competitor.",
]
CLOSINGS = [
    "Thanks",
    "Regards, Sam",
    "",
    "Cheers",
    "thx",
    "Waiting for your answer.",
    "Kind regards",
]
RAMBLE = (
    "I have been a customer for years and never had to complain before, but the last few "
    "weeks have been a mess from start to finish and nobody seems to know what is going on. "
)


def make_messages(count: int, seed: int = 20261123) -> list[str]:
    rng = random.Random(seed)
    messages = []
    for _ in range(count):
        problem = rng.choice(PROBLEMS).format(
            p=rng.choice(PRODUCTS), n=rng.randint(2, 40), day=rng.choice(["Monday", "last week"])
        )
        parts = [rng.choice(OPENINGS), problem + ".", rng.choice(FEELINGS), rng.choice(ASKS)]
        if rng.random() < 0.15:
            parts.insert(2, RAMBLE * rng.randint(1, 4))
        parts.append(rng.choice(CLOSINGS))
        text = " ".join(part for part in parts if part)
        if rng.random() < 0.1:  # chat style: lower case, no punctuation
            text = text.lower().replace(".", "").replace(",", "")
        if rng.random() < 0.05:  # typos
            chars = list(text)
            for _ in range(3):
                i = rng.randrange(len(chars) - 1)
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
            text = "".join(chars)
        messages.append(text)
    return messages


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="utf-8") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def load_time_in_fresh_process() -> tuple[float, float, float]:
    """(import, model load, first assess call) in seconds. The first call builds the rule
    scan's regexes, so a one-shot command pays it on top of the load."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "import calmdesk.engine\n"
        "t1 = time.perf_counter()\n"
        "from calmdesk.engine.model import default_model; m = default_model()\n"
        "t2 = time.perf_counter()\n"
        "calmdesk.engine.assess('Third time I write: where is my refund?')\n"
        "t3 = time.perf_counter()\n"
        "print(t1 - t0, t2 - t1, t3 - t2)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import_s, load_s, first_s = (float(x) for x in out.stdout.split())
    return import_s, load_s, first_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--latency-samples", type=int, default=5_000)
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, {cpu_model()}")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    started = time.process_time()
    total = 0
    for i in range(1_000_000):
        total += i
    print(
        f"reference pure-Python loop (1M additions): {(time.process_time() - started) * 1000:.0f} ms "
        "of CPU (about 30-40 ms on an idle modern core; higher means a contended machine)"
    )

    loads = [load_time_in_fresh_process() for _ in range(3)]
    print(
        "fresh process: import calmdesk.engine "
        f"{min(x[0] for x in loads) * 1000:.0f} ms, model load {min(x[1] for x in loads) * 1000:.0f} ms "
        f"(best of 3; median {statistics.median(x[1] for x in loads) * 1000:.0f} ms), "
        f"first assess call {min(x[2] for x in loads) * 1000:.0f} ms"
    )

    rss_before = rss_mb()
    from calmdesk.engine import assess, assess_many
    from calmdesk.engine.model import default_model

    model = default_model()
    print(
        f"model: {'loaded' if model else 'MISSING (rules only)'}; RSS after load {rss_mb():.0f} MB (before import {rss_before:.0f} MB)"
    )

    messages = make_messages(args.messages)
    mean_len = statistics.mean(len(m) for m in messages)
    print(f"{len(messages)} generated messages, mean {mean_len:.0f} characters")
    assess_many(messages[:200])  # warm caches (compiled regexes, first numpy calls)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    for text in messages:
        assess(text)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(
        f"assess() one by one: {len(messages) / wall:,.0f} msg/s wall, "
        f"{len(messages) / cpu:,.0f} msg/s of CPU time"
    )

    wall0, cpu0 = time.perf_counter(), time.process_time()
    for start in range(0, len(messages), 1000):
        assess_many(messages[start : start + 1000])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(
        f"assess_many() batches of 1000: {len(messages) / wall:,.0f} msg/s wall, "
        f"{len(messages) / cpu:,.0f} msg/s of CPU time"
    )

    rng = random.Random(1)
    samples = [rng.choice(messages) for _ in range(args.latency_samples)]
    latencies, cpu_latencies = [], []
    for text in samples:
        t0, c0 = time.perf_counter(), time.process_time()
        assess(text)
        latencies.append(time.perf_counter() - t0)
        cpu_latencies.append(time.process_time() - c0)
    for label, values in (("wall", latencies), ("CPU", cpu_latencies)):
        values.sort()
        p50 = values[len(values) // 2] * 1e3
        p99 = values[int(len(values) * 0.99)] * 1e3
        print(
            f"single-message latency ({label}) over {len(samples)} calls: "
            f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"
        )

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS now {rss_mb():.0f} MB, peak {peak:.0f} MB")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

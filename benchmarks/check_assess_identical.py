"""Dump every `Assessment` field for a fixed corpus, or compare against a dump.

Run before an optimisation to write the reference, and after it to prove nothing changed:

    .venv/bin/python benchmarks/check_assess_identical.py --write /tmp/before.jsonl
    .venv/bin/python benchmarks/check_assess_identical.py --compare /tmp/before.jsonl

The corpus is every development-set text (customer messages, the customers and drafts of
the agent replies) plus variants of each (upper case, lower case, no punctuation, extra
'!!!', swapped letters, halves, pairs joined), the generated benchmark messages, a few
hostile inputs, and conversations with history. Each text is assessed one by one with
`assess`, and the whole corpus again with `assess_many` in batches. Floats are written
with their full repr, so "identical" means bit-identical.

With `--tolerance T` the comparison allows float arithmetic to change (summation order,
float32 accumulation, batching): every float may move by at most T, and every discrete
output must stay the same (flags with their spans, customer type and its evidence, topic,
trajectory, reply effect, escalation, and which emotions are present):

    .venv/bin/python benchmarks/check_assess_identical.py --compare /tmp/before.jsonl --tolerance 1e-5

`risk` is rounded to four places by `Assessment.risk`, so a score moving by less than T
can move it by one step of 1e-4 at a rounding boundary; it is checked against T + 1e-4
and reported on its own.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_assess import make_messages

from calmdesk.engine import Assessment, assess, assess_many


def _devset_texts() -> list[str]:
    base = resources.files("calmdesk.engine.devsets")
    texts: list[str] = []
    for line in base.joinpath("customer_messages.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            texts.append(json.loads(line)["text"])
    for line in base.joinpath("agent_replies.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts.extend(str(row[key]) for key in ("customer", "draft") if row.get(key))
    return texts


def _variants(text: str, rng: random.Random) -> Iterator[str]:
    yield text
    yield text.upper()
    yield text.lower()
    yield "".join(char for char in text if char.isalnum() or char.isspace())
    yield text + " !!!??"
    chars = list(text)
    if len(chars) > 2:
        for _ in range(3):
            i = rng.randrange(len(chars) - 1)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    yield "".join(chars)
    yield text[: len(text) // 2]
    yield text[len(text) // 2 :]


HOSTILE = [
    "",
    "   \n\t ",
    "!" * 100_000,
    "?!" * 5_000,
    "\U0001f621\U0001f92c\U0001f4a9" * 300,
    "<script>alert('you idiot')</script><p>REFUND&nbsp;NOW</p>" * 50,
    "".join(chr(c) for c in range(0, 32)) * 30,
    "Je veux un remboursement! \u6211\u8981\u9000\u6b3e I want a refund, you idiots!",
    ("This is the third time I write and I want my refund now. " * 3_000),
    "a" * 50_000,
    "\ud800 lone surrogate",
    "\u0130STANBUL \u0130S BROKEN, YOU \u0130D\u0130OTS",
    "caf\u00e9 \u00df \u2019 \u201cquoted\u201d \u2013 dash",
    "visit www.example.com or http://x.y/z?a=1 or mail me@example.org 12345 sooooo baaaad",
]


def corpus() -> list[str]:
    rng = random.Random(7)
    dev = _devset_texts()
    texts: list[str] = []
    for text in dev:
        texts.extend(_variants(text, rng))
    for _ in range(600):
        a, b = rng.choice(dev), rng.choice(dev)
        texts.append(f"{a}\n\n{b}")
    texts.extend(make_messages(4000, seed=99))
    texts.extend(HOSTILE)
    return texts


def conversations() -> list[tuple[str, list[tuple[str, str]]]]:
    rng = random.Random(11)
    dev = _devset_texts()
    cases: list[tuple[str, list[tuple[str, str]]]] = []
    for _ in range(600):
        history = [
            (rng.choice(["customer", "agent", "customer"]), rng.choice(dev))
            for _ in range(rng.randint(1, 4))
        ]
        cases.append((rng.choice(dev), history))
    return cases


def record(result: Assessment) -> dict[str, Any]:
    return {
        "scores": dict(result.scores),
        "emotions": dict(result.emotions),
        "intensity": result.intensity,
        "flags": [[f.kind, f.start, f.end, f.evidence, f.rule, f.weight] for f in result.flags],
        "customer_type": [
            result.customer_type.type,
            result.customer_type.confidence,
            list(result.customer_type.evidence),
        ],
        "topic": result.topic,
        "trajectory": result.trajectory,
        "last_reply_effect": result.last_reply_effect,
        "escalate": [result.escalate.recommended, list(result.escalate.reasons)],
        "risk": result.risk,
    }


def dump() -> Iterator[str]:
    texts = corpus()
    for i, text in enumerate(texts):
        yield json.dumps({"id": f"one:{i}", **record(assess(text))}, sort_keys=True)
    for start in range(0, len(texts), 500):
        for i, result in enumerate(assess_many(texts[start : start + 500]), start):
            yield json.dumps({"id": f"many:{i}", **record(result)}, sort_keys=True)
    for i, (text, history) in enumerate(conversations()):
        result = assess(text, history=history)
        yield json.dumps({"id": f"history:{i}", **record(result)}, sort_keys=True)


def _floats(value: Any, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _floats(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _floats(item, f"{path}[{index}]")


PRESENT = 0.5  # the engine's threshold for an emotion being present


def _categorical(row: dict[str, Any]) -> tuple[Any, ...]:
    flags = [(f[0], f[1], f[2], f[3], f[4]) for f in row["flags"]]
    return (
        flags,
        sorted(label for label, value in row["emotions"].items() if value >= PRESENT),
        row["customer_type"][0],
        row["customer_type"][2],
        row["topic"],
        row["trajectory"],
        row["last_reply_effect"],
        row["escalate"],
    )


def compare(reference: Path, lines: list[str], tolerance: float | None = None) -> int:
    """Bit-identical records (tolerance None), or floats within `tolerance` and every
    discrete output the same."""
    expected = reference.read_text("utf-8").splitlines()
    if len(expected) != len(lines):
        print(f"record count differs: {len(expected)} expected, {len(lines)} now")
        return 1
    different = categorical = beyond = 0
    max_diff = max_risk_diff = 0.0
    worst = ""
    for old_line, new_line in zip(expected, lines, strict=True):
        if old_line == new_line:
            continue
        different += 1
        old, new = json.loads(old_line), json.loads(new_line)
        if _categorical(old) != _categorical(new):
            categorical += 1
            if categorical <= 5:
                print(f"{old['id']}: flags/type/topic/escalation/present emotions changed")
        old_floats, new_floats = list(_floats(old)), list(_floats(new))
        if [p for p, _ in old_floats] != [p for p, _ in new_floats]:
            categorical += 1
            continue
        for (path, a), (_, b) in zip(old_floats, new_floats, strict=True):
            if a == b:
                continue
            diff = abs(a - b)
            if path == ".risk":
                max_risk_diff = max(max_risk_diff, diff)
                allowed = None if tolerance is None else tolerance + 1e-4
            else:
                if diff > max_diff:
                    max_diff, worst = diff, f"{old['id']}{path}: {a!r} -> {b!r}"
                allowed = tolerance
            if allowed is None or diff > allowed:
                beyond += 1
                if beyond <= 5:
                    print(f"{old['id']}{path}: {a!r} -> {b!r}")
    print(
        f"{len(lines)} records: {different} differ, {categorical} in a discrete field, "
        f"max abs float difference {max_diff:.3g} (risk {max_risk_diff:.3g})"
        + ("" if tolerance is None else f", {beyond} beyond the tolerance {tolerance:g}")
    )
    if worst:
        print(f"largest: {worst}")
    if tolerance is None:
        return 1 if different else 0
    return 1 if categorical or beyond else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write the dump to this file")
    group.add_argument("--compare", type=Path, help="compare with a dump written before")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="with --compare: allow each float to move by this much (discrete fields exact)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    lines = list(dump())
    print(f"assessed {len(lines)} records in {time.perf_counter() - started:.1f} s")
    if args.write:
        args.write.write_text("\n".join(lines) + "\n", "utf-8")
        print(f"wrote {args.write}")
        return 0
    return compare(args.compare, lines, args.tolerance)


if __name__ == "__main__":
    sys.exit(main())

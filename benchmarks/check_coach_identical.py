"""Dump `coach(...).to_dict()` for a fixed corpus, or compare against a dump.

Run before an optimisation to write the reference, and after it to prove nothing changed:

    .venv/bin/python benchmarks/check_coach_identical.py --write /tmp/coach_before.jsonl
    .venv/bin/python benchmarks/check_coach_identical.py --compare /tmp/coach_before.jsonl

The corpus is every draft of the packaged non-blind coach sets (agent_replies,
coach_replies_holdout/third/fourth/fifth/sixth, coach_training) with its customer message as
the conversation, each coached with the rules alone and with the packaged tone model (passed
explicitly, so it runs even while it is off by default). Then, with the rules alone and the
model, a slice of the drafts again: with no conversation, in a longer thread (earlier customer
messages and agent replies, so the thread-level rules see history), in upper case, and as the
prefixes an agent types on the way to the draft (the live coaching path, which repeats the
same conversation call after call). A fixed `now` keeps the promises' due times stable.
Output is compared as JSON text with floats in full repr (the unrounded techniques and
customer anger next to to_dict's rounded ones), so "identical" means bit-identical.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from calmdesk.engine.coaching import coach
from calmdesk.engine.coaching.tone import ToneModel, packaged_tone_model

SETS = (
    "agent_replies",
    "coach_replies_holdout",
    "coach_replies_third",
    "coach_replies_fourth",
    "coach_replies_fifth",
    "coach_replies_sixth",
    "coach_training",
)
# A Wednesday morning; naive, so `coach` reads it in its time zone (UTC), as the API allows.
NOW = datetime(2026, 3, 4, 10, 30)  # noqa: DTZ001


def records() -> list[tuple[str, str, str]]:
    """(id, customer, draft) of every packaged non-blind coach record."""
    base = resources.files("calmdesk.engine.devsets")
    rows: list[tuple[str, str, str]] = []
    for name in SETS:
        for line in base.joinpath(f"{name}.jsonl").read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.append((f"{name}/{row['id']}", row.get("customer") or "", row["draft"]))
    return rows


def _conversation(customer: str) -> list[tuple[str, str]]:
    return [("customer", customer)] if customer else []


def cases() -> Iterator[tuple[str, str, list[tuple[str, str]]]]:
    rows = records()
    for key, customer, draft in rows:
        yield key, draft, _conversation(customer)
    rng = random.Random(5)
    sample = rng.sample(rows, 400)
    for key, customer, draft in sample:
        yield f"{key}/alone", draft, []
        yield f"{key}/upper", draft.upper(), _conversation(customer)
    for index, (key, customer, draft) in enumerate(sample[:200]):
        # A thread: two earlier customer messages with an agent reply between them, then the
        # customer again; the draft answers the trailing customer messages.
        other = sample[(index + 1) % len(sample)]
        third = sample[(index + 2) % len(sample)]
        thread = [
            ("customer", other[1]),
            ("agent", other[2]),
            ("customer", third[1]),
            ("customer", customer),
        ]
        yield f"{key}/thread", draft, thread
    for key, customer, draft in sample[:40]:
        # Keystroke by keystroke (every fifth character): the same conversation many times.
        for end in range(5, len(draft) + 5, 5):
            yield f"{key}/typed{end}", draft[:end], _conversation(customer)


def dump(model: ToneModel) -> Iterator[str]:
    for tone_label, tone in (("rules", False), ("model", model)):
        for key, draft, conversation in cases():
            result = coach(draft, conversation=conversation, now=NOW, tone_model=tone)
            row: dict[str, Any] = {"id": f"{tone_label}:{key}", **result.to_dict()}
            # to_dict rounds these to four places; the unrounded values are compared too.
            row["techniques_raw"] = dict(result.techniques)
            row["customer_anger_raw"] = result.customer_anger
            yield json.dumps(row, sort_keys=True)


def compare(reference: Path, lines: list[str]) -> int:
    expected = reference.read_text("utf-8").splitlines()
    if len(expected) != len(lines):
        print(f"record count differs: {len(expected)} expected, {len(lines)} now")
        return 1
    different = 0
    for old, new in zip(expected, lines, strict=True):
        if old != new:
            different += 1
            if different <= 5:
                print(f"differs: {json.loads(old)['id']}\n  old {old[:400]}\n  new {new[:400]}")
    print(f"{len(lines)} records compared: {different} differ")
    return 1 if different else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write the dump to this file")
    group.add_argument("--compare", type=Path, help="compare with a dump written before")
    args = parser.parse_args()
    model = packaged_tone_model()
    if model is None:
        parser.error("no tone model is packaged")
    started = time.perf_counter()
    lines = list(dump(model))
    print(f"coached {len(lines)} records in {time.perf_counter() - started:.1f} s")
    if args.write:
        args.write.write_text("\n".join(lines) + "\n", "utf-8")
        print(f"wrote {args.write}")
        return 0
    return compare(args.compare, lines)


if __name__ == "__main__":
    sys.exit(main())

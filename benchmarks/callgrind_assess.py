"""Instructions per message of `assess`, `assess_many` or one part of them, under callgrind.

Instruction counts do not depend on the machine's load, unlike the timings of
`bench_assess.py`. Each figure is the difference of two runs that do the same warm-up
(1,000 messages, so memos and compiled groups are filled) and then 0 or N messages:

    .venv/bin/python benchmarks/callgrind_assess.py one many scan tokens logits_many

Needs `valgrind` on the PATH; each part takes a minute or two.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PARTS = ("one", "many", "scan", "tokens", "logits_many", "predict_many", "predict", "assemble")


def run_part(part: str, count: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_assess import make_messages

    from calmdesk.engine import assess, assess_many
    from calmdesk.engine.assess import _assemble
    from calmdesk.engine.model import default_model
    from calmdesk.engine.rules import scan
    from calmdesk.engine.text import tokens_and_dense

    messages = make_messages(3000)
    assess_many(messages[:1000])
    for text in messages[:1000]:
        assess(text)
    model = default_model()
    assert model is not None
    run = messages[1000 : 1000 + count]
    # Run with 0 messages too, so it cancels out: the rows `assemble` reads, and a warm
    # token memo for the model's parts.
    probs = [model.predict(text) for text in messages[1000:3000]][:count]
    batches = [run[start : start + 1000] for start in range(0, len(run), 1000)]
    per_text: dict[str, Callable[[str], object]] = {
        "one": assess,
        "scan": scan,
        "tokens": tokens_and_dense,
        "predict": model.predict,
    }
    per_batch: dict[str, Callable[[list[str]], object]] = {
        "many": assess_many,
        "logits_many": model.logits_many,
        "predict_many": model.predict_many,
    }
    if part in per_text:
        for text in run:
            per_text[part](text)
    elif part in per_batch:
        for batch in batches:
            per_batch[part](batch)
    elif part == "assemble":
        for text, row in zip(run, probs, strict=True):
            _assemble(text, row, model, (), [])


def instructions(part: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                __file__,
                "--run",
                part,
                str(count),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise RuntimeError(result.stderr[-2000:])
    return int(found.group(1))


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        run_part(sys.argv[2], int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("parts", nargs="+", choices=PARTS)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    for part in args.parts:
        per_message = (instructions(part, args.messages) - instructions(part, 0)) / args.messages
        print(f"{part}: {per_message:,.0f} instructions/message")
    return 0


if __name__ == "__main__":
    sys.exit(main())

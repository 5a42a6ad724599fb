"""`calmdesk assess`: read customer messages from the command line, a file or stdin.

- `calmdesk assess "text"`: one message, readable colour output (or --format json).
- `--input FILE|- --format jsonl`: one message per line in, one JSON object per line out,
  in order; an empty line gives all-zero scores; invalid UTF-8 is replaced, never fatal.
- `--input export.csv --column body`: the CSV back on stdout with score columns added,
  with a progress bar on stderr.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

BATCH: Final = 512
# Spreadsheet exports can carry very long cells; the default limit (128 KiB) would abort.
csv.field_size_limit(64 * 1024 * 1024)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "assess",
        help="score customer messages: emotions, risk flags, customer type, topic",
        description=(
            "Assess customer messages. Give TEXT, or --input FILE ('-' for stdin) with one "
            "message per line, or a CSV with --column NAME (scores are added as new columns)."
        ),
    )
    parser.add_argument("text", nargs="?", help="the message to assess")
    parser.add_argument("--input", "-i", help="file to read ('-' for stdin)")
    parser.add_argument("--format", "-f", choices=("text", "json", "jsonl"), default=None)
    parser.add_argument("--column", "-c", help="CSV input: the column holding the message text")
    parser.set_defaults(handler=run)


def _read_bytes(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def _lines(data: str) -> list[str]:
    # Only "\n" ends a message: str.splitlines would also split on form feeds and U+2028,
    # which would break the one-object-per-input-line promise.
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _write(out: IO[bytes], text: str) -> None:
    out.write(text.encode("utf-8", errors="replace"))


def _batched(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    errors = Console(stderr=True)
    if args.text is not None and args.input is not None:
        errors.print("[red]calmdesk assess: give either TEXT or --input, not both")
        return 2
    if args.text is None and args.input is None:
        if sys.stdin.isatty():
            errors.print(
                "[red]calmdesk assess: nothing to assess: give TEXT or --input FILE ('-' for stdin)"
            )
            return 2
        args.input = "-"
    out = sys.stdout.buffer
    if args.text is not None:
        return _single(args.text, args.format or "text", out)
    try:
        data = _read_bytes(args.input).decode("utf-8", errors="replace")
    except OSError as exc:
        errors.print(f"[red]calmdesk assess: cannot read {args.input}: {exc.strerror or exc}")
        return 2
    if args.column:
        return _csv(data, args.column, out, errors)
    return _stream(_lines(data), args.format or "jsonl", out)


def _single(text: str, fmt: str, out: IO[bytes]) -> int:
    from calmdesk.engine import assess

    result = assess(text)
    if fmt == "text":
        _print_readable(text, result)
    else:
        _write(out, json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    out.flush()
    return 0


def _stream(lines: list[str], fmt: str, out: IO[bytes]) -> int:
    from calmdesk.engine import assess_many

    if fmt == "json":
        _write(out, "[")
    first = True
    for chunk in _batched(lines):
        for text, result in zip(chunk, assess_many(chunk), strict=True):
            if fmt == "text":
                _print_readable(text, result)
                continue
            encoded = json.dumps(result.to_dict(), ensure_ascii=False)
            if fmt == "json":
                _write(out, ("" if first else ",\n") + encoded)
            else:
                _write(out, encoded + "\n")
            first = False
    if fmt == "json":
        _write(out, "]\n")
    out.flush()
    return 0


def _csv(data: str, column: str, out: IO[bytes], errors: Any) -> int:
    from rich.progress import Progress

    from calmdesk.engine import SCORE_KEYS, assess_many

    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        errors.print("[red]calmdesk assess: the CSV file is empty")
        return 2
    if column not in header:
        errors.print(
            f"[red]calmdesk assess: no column {column!r}; the columns are: {', '.join(header)}"
        )
        return 2
    position = header.index(column)
    rows = list(reader)
    added = [f"calmdesk_{key}" for key in SCORE_KEYS] + [
        "calmdesk_intensity",
        "calmdesk_customer_type",
        "calmdesk_topic",
        "calmdesk_escalate",
        "calmdesk_flags",
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header + added)
    with Progress(console=errors, transient=False) as progress:
        task = progress.add_task("assessing", total=len(rows))
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            texts = [row[position] if position < len(row) else "" for row in chunk]
            for row, result in zip(chunk, assess_many(texts), strict=True):
                writer.writerow(
                    row
                    + [f"{result.scores[key]:.4f}" for key in SCORE_KEYS]
                    + [
                        f"{result.intensity:.4f}",
                        result.customer_type.type,
                        result.topic,
                        ";".join(result.escalate.reasons),
                        ";".join(sorted({flag.kind for flag in result.flags})),
                    ]
                )
            _write(out, buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
            progress.advance(task, len(chunk))
    out.flush()
    return 0


_KIND_STYLES: Final = {
    "threat": "bold white on red",
    "abuse": "bold red",
    "legal": "bold magenta",
    "public": "magenta",
    "churn": "yellow",
    "refund": "cyan",
    "repeat_contact": "yellow",
    "urgency": "bold yellow",
    "profanity": "red",
    "anger": "red",
    "frustration": "dark_orange",
    "shouting": "bold",
    "punctuation": "bold",
    "gratitude": "green",
    "confusion": "blue",
}


def _print_readable(text: str, result: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    # Text objects never interpret markup, so customer text cannot restyle the output.
    highlighted = Text(text if len(text) <= 2000 else text[:2000] + "…")
    for flag in result.flags:
        if flag.start < 2000:
            highlighted.stylize(
                _KIND_STYLES.get(flag.kind, "underline"), flag.start, min(flag.end, 2000)
            )
    console.print(highlighted)
    table = Table(show_header=False, box=None, padding=(0, 1))
    for key, value in sorted(result.scores.items(), key=lambda item: -item[1]):
        if value < 0.05:
            continue
        colour = "red" if value >= 0.5 else "yellow" if value >= 0.3 else "dim"
        bar = "█" * round(value * 20)
        table.add_row(Text(key), Text(f"{value:.2f}", style=colour), Text(bar, style=colour))
    console.print(table)
    summary = Text()
    summary.append("intensity ", style="dim").append(f"{result.intensity:.2f}  ")
    summary.append("type ", style="dim").append(result.customer_type.type + "  ", style="bold")
    summary.append("topic ", style="dim").append(result.topic + "  ")
    if result.trajectory:
        summary.append("trajectory ", style="dim").append(result.trajectory + "  ")
    if result.escalate.recommended:
        summary.append("ESCALATE: " + ", ".join(result.escalate.reasons), style="bold red")
    console.print(summary)
    for flag in result.flags:
        line = Text("  • ")
        line.append(flag.kind, style=_KIND_STYLES.get(flag.kind, "bold"))
        line.append(f" {flag.evidence[:80]!r} ", style="italic")
        line.append(f"[{flag.start}:{flag.end}] {flag.rule}", style="dim")
        console.print(line)
    console.print()

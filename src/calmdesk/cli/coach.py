"""`calmdesk coach`: coach an agent's draft reply from the command line (no Django)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

SEVERITY_STYLES = {
    "blocking": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "green",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "coach",
        help="coach a draft reply: problem spans, rewrites, techniques, score, promises",
        description=(
            "Coach an agent's draft reply to a customer. With --format jsonl every input line "
            "is one draft (or a JSON object with 'draft' and optional 'customer' or "
            "'conversation') and one JSON object is written per line, in order; otherwise "
            "the whole input is one draft."
        ),
    )
    parser.add_argument("text", nargs="?", help="the draft reply (or use --input)")
    parser.add_argument("--customer", help="the customer's message the draft answers")
    parser.add_argument(
        "--conversation",
        metavar="FILE",
        help="JSON file: a list of {role, text} (role customer|agent), oldest first",
    )
    parser.add_argument("--input", metavar="FILE|-", help="read the draft(s) from FILE or stdin")
    parser.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    parser.add_argument("--now", help="the draft's timestamp, ISO 8601 (default: now)")
    parser.add_argument("--timezone", default="UTC", help="organisation time zone (IANA name)")
    parser.set_defaults(handler=run)


def _clean(text: str) -> str:
    """Command-line text may hold undecodable bytes (surrogate escapes): replace them."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _read_input(source: str) -> str:
    if source == "-":
        return sys.stdin.buffer.read().decode("utf-8", "replace")
    return Path(source).read_bytes().decode("utf-8", "replace")


def _write(stream: IO[str], text: str) -> None:
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(text.encode("utf-8", "replace"))
        buffer.flush()
    else:
        stream.write(text)


def _conversation(args: argparse.Namespace) -> list[tuple[str, str]]:
    turns: list[tuple[str, str]] = []
    if args.conversation:
        raw = json.loads(Path(args.conversation).read_bytes().decode("utf-8", "replace"))
        if not isinstance(raw, list):
            raise ValueError("--conversation must hold a JSON list of {role, text}")
        for item in raw:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                turns.append((str(item.get("role", "")), item["text"]))
    if args.customer is not None:
        turns.append(("customer", _clean(args.customer)))
    return turns


def _line_job(line: str, default: list[tuple[str, str]]) -> tuple[str, list[Any]]:
    """A jsonl input line: a JSON object with a draft, or else the raw text of the draft."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("draft"), str):
            conversation: list[Any] = list(default)
            if isinstance(record.get("conversation"), list):
                conversation = record["conversation"]
            elif isinstance(record.get("customer"), str):
                conversation = [("customer", record["customer"])]
            return record["draft"], conversation
    return line, list(default)


def _print_text(draft: str, result: Any) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console()
    shown = Text(draft)  # a Text object, never markup: the draft is shown as written
    for finding in result.findings:
        if finding.kind == "avoid":
            shown.stylize(SEVERITY_STYLES[finding.severity], finding.start, finding.end)
    for finding in result.findings:
        if finding.kind == "good":
            shown.stylize("underline green", finding.start, finding.end)
    console.print(Text("Draft", style="bold"))
    console.print(shown)
    console.print()
    score = Text(f"Score {result.score}/100", style="bold")
    console.print(score)
    for finding in result.findings:
        if finding.kind != "avoid":
            continue
        line = Text(
            f"  [{finding.severity}] {finding.rule}: ", style=SEVERITY_STYLES[finding.severity]
        )
        line.append(repr(finding.text), style="default")
        if finding.evidence == "model":
            line.append("  (tone model)", style="dim")
        console.print(line)
        console.print(Text(f"      why: {finding.explanation}"))
        for rewrite in finding.rewrites:
            console.print(Text(f"      try: {rewrite}", style="green"))
    console.print(Text("Techniques", style="bold"))
    for technique, probability in result.techniques.items():
        mark = "x" if probability >= 0.5 else " "
        console.print(Text(f"  [{mark}] {technique:<10} {probability:.2f}"))
    if result.promises:
        console.print(Text("Promises", style="bold"))
        for promise in result.promises:
            due = promise.due.isoformat() if promise.due else "no time given"
            console.print(Text(f"  {promise.text!r} -> {promise.action}, due {due}"))


def run(args: argparse.Namespace) -> int:
    from calmdesk.engine.coaching import coach

    try:
        now = datetime.fromisoformat(args.now) if args.now else None
        conversation = _conversation(args)
        if args.input is not None:
            source = _read_input(args.input)
        elif args.text is not None:
            source = _clean(args.text)
        elif not sys.stdin.isatty():
            source = sys.stdin.buffer.read().decode("utf-8", "replace")
        else:
            print("calmdesk coach: give the draft as TEXT or with --input FILE|-", file=sys.stderr)
            return 2
        coach("", now=now, timezone=args.timezone)  # validates the time zone up front
    except OSError as exc:
        # "cannot read FILE: No such file or directory", not Python's "[Errno 2] ..."
        where = exc.filename if exc.filename is not None else args.input
        print(f"calmdesk coach: cannot read {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"calmdesk coach: {exc}", file=sys.stderr)
        return 2

    if args.format == "jsonl":
        lines = source.splitlines()
        if args.input is None and args.text is not None:
            lines = [source]
        for line in lines:
            draft, turns = _line_job(line, conversation)
            result = coach(draft, conversation=turns, now=now, timezone=args.timezone)
            _write(sys.stdout, json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        return 0
    result = coach(source, conversation=conversation, now=now, timezone=args.timezone)
    if args.format == "json":
        _write(sys.stdout, json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_text(source, result)
    return 0

"""`calmdesk generate`: bulk conversations and messages for benchmarks."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from calmdesk.cli._django import setup_django


def _positive(value: str) -> int:
    try:
        number = int(value.replace("_", ""))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "generate",
        help="fill the database with bulk conversations and messages (for benchmarks)",
        description=(
            "Add generated conversations and messages to an organisation (created with teams "
            "and staff if missing). Messages come from a small pool of templates assessed "
            "once by the engine; the same seed gives the same data."
        ),
    )
    parser.add_argument("--conversations", type=_positive, default=100_000)
    parser.add_argument("--messages", type=_positive, default=1_000_000)
    parser.add_argument("--org", default="bench", help="organisation slug (default: bench)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--days", type=_positive, default=365, help="spread conversations over this many days"
    )
    parser.add_argument("--batch", type=_positive, default=2000, help="conversations per batch")
    parser.add_argument(
        "--no-migrate", action="store_true", help="do not apply database migrations first"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from calmdesk.demo.generate import GenerateError, generate_bulk

    if args.messages < args.conversations:
        print("calmdesk generate: --messages must be at least --conversations", file=sys.stderr)
        return 2
    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("Writing messages", total=args.messages)
        try:
            summary = generate_bulk(
                conversations=args.conversations,
                messages=args.messages,
                org_slug=args.org,
                seed=args.seed,
                days=args.days,
                batch_conversations=args.batch,
                on_progress=lambda written: bar.advance(task, written),
            )
        except GenerateError as exc:
            print(f"calmdesk generate: {exc}", file=sys.stderr)
            return 2
    rate = summary.messages / summary.seconds if summary.seconds else 0.0
    print(
        f"Generated {summary.conversations} conversations, {summary.messages} messages and "
        f"{summary.customers} customers in organisation {summary.organisation.slug!r} "
        f"in {summary.seconds:.1f} s ({rate:,.0f} messages/s)"
    )
    return 0

"""`calmdesk demo [--reset]`: load (or reload) the demo organisation and print its logins."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from calmdesk.cli._django import setup_django


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="load the demo organisation (Northwind Home & Energy) and print its logins",
        description=(
            "Load the demo organisation with its teams, staff and hand-written conversations, "
            "through the same services the product uses. Does nothing if it is already "
            "loaded, unless --reset is given. Staff passwords are generated on load and "
            "kept in <data dir>/demo-logins.json."
        ),
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="delete the demo organisation's data first and load it afresh (new passwords)",
    )
    parser.add_argument(
        "--no-migrate", action="store_true", help="do not apply database migrations first"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command

    from calmdesk.demo.services import DemoError, demo_counts, demo_load, logins_path

    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    try:
        summary = demo_load(reset=args.reset, progress=True)
    except DemoError as exc:
        print(f"calmdesk demo: {exc}", file=sys.stderr)
        return 1
    counts = demo_counts(summary.organisation)
    verb = "Loaded" if summary.created else "Already loaded (use --reset to reload):"
    print(
        f"{verb} {summary.organisation.name}: {summary.conversations} conversations, "
        f"{summary.messages} messages ({counts['inbound']} from customers, "
        f"{counts['outbound']} replies, {counts['note']} internal notes)"
    )
    print(f"Demo logins (also in {logins_path()}):")
    for username, password, role in summary.logins:
        print(f"  {username:<10} {password:<20} {role}")
    return 0

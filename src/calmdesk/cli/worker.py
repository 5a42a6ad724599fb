"""`calmdesk worker`: runs background tasks (reminders, notifications, checks).

Any number of workers may run at once, on any number of machines, against the
same database: the database backend hands each task to exactly one of them.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from calmdesk.cli._django import setup_django


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "worker", help="run the background task worker"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--batch", action="store_true", help="exit once the queue is empty")
    parser.add_argument("--max-tasks", type=int, default=None, help="exit after this many tasks")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print only warnings and failures, not a line per task state",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command
    from django.db import transaction

    from calmdesk.supervision.services import periodic_checks_ensure

    # Every worker (re)starts the recurring checks; surplus copies of the chain
    # lose the per-interval claim and stop, so exactly one keeps running.
    with transaction.atomic():
        periodic_checks_ensure()

    # Migrations are `calmdesk serve`'s job (or `calmdesk manage migrate`): several
    # workers starting at once must not race to apply them.
    options: dict[str, Any] = {"interval": args.interval, "reload": False}
    if args.batch:
        options["batch"] = True
    if args.max_tasks is not None:
        options["max_tasks"] = args.max_tasks
    if args.quiet:
        _only_warnings("django_tasks", "django_tasks_db")
    call_command("db_worker", **options)
    return 0


def _warning_or_worse(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def _only_warnings(*logger_names: str) -> None:
    # db_worker sets its loggers' levels itself (verbosity 0 would hide failures too),
    # so the per-task lines are dropped by a filter, which it leaves alone.
    for name in logger_names:
        logging.getLogger(name).addFilter(_warning_or_worse)

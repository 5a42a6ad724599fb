"""`calmdesk manage ...`: Django's management commands, passed through."""

from __future__ import annotations

import argparse
import os
from typing import Any


def run_manage(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calmdesk.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["calmdesk manage", *argv])
    return 0


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "manage", help="run a Django management command (migrate, createsuperuser, shell, ...)"
    )
    parser.add_argument("args", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=lambda args: run_manage(list(args.args)))

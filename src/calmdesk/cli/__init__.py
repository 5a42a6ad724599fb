"""The `calmdesk` command.

Each sub-command lives in its own module under `calmdesk.cli` and exposes
`register(subparsers)`. Engine commands (assess, coach, evaluate, train) never
import Django, so they start fast and work without a database; commands that
need the web app call `calmdesk.cli._django.setup_django()` first.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Order is the order shown in `calmdesk --help`. A module listed here that does
# not exist yet is skipped, so sub-commands can land one at a time.
COMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "worker",
    "demo",
    "token",
    "manage",
    "assess",
    "coach",
    "evaluate",
    "train",
    "practice",
    "import_email",
    "generate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calmdesk",
        description="calmdesk: the helpdesk for difficult customers and the agents who answer them.",
    )
    from calmdesk import __version__

    parser.add_argument("--version", action="version", version=f"calmdesk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"calmdesk.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"calmdesk.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `calmdesk manage ...` hands everything after it to Django untouched, so
    # that options such as `--help` reach the management command.
    if args_list and args_list[0] == "manage":
        from calmdesk.cli.manage import run_manage

        return run_manage(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

"""`calmdesk evaluate`: measure the engine on held-out data (needs the `train` extra)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="per-label precision/recall/F1/ROC-AUC of the engine against a TF-IDF baseline",
        description=(
            "Evaluate the engine. --part assess: GoEmotions test split, a held-out Davidson "
            "slice and the customer dev set, next to a TF-IDF word+char n-gram logistic "
            "regression trained on the same data. --part coach: the reply coach's report."
        ),
    )
    parser.add_argument("--part", choices=("assess", "coach", "all"), default="all")
    parser.add_argument("--data", type=Path, default=None, help="training data directory")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip training the TF-IDF baseline (faster)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    # Piped output (CI logs, files) gets a fixed wide layout so the tables stay readable.
    console = Console() if sys.stdout.isatty() else Console(width=150)
    status = 0
    if args.part in ("assess", "all"):
        try:
            from calmdesk.engine.trainer.data import TrainingDataError, default_data_dir
            from calmdesk.engine.trainer.evaluation import report
        except ImportError as exc:
            console.print(
                f"[red]evaluating assess needs the train extra: pip install 'calmdesk[train]' ({exc})"
            )
            return 2
        try:
            report(console, args.data or default_data_dir(), with_baseline=not args.no_baseline)
        except TrainingDataError as exc:
            console.print(f"[red]{exc}")
            status = 2
    if args.part in ("coach", "all"):
        try:
            coach_evaluation = importlib.import_module("calmdesk.engine.coaching.evaluation")
        except ModuleNotFoundError as exc:
            if exc.name is None or not exc.name.startswith("calmdesk.engine.coaching"):
                raise
            console.print("[yellow]the reply coach has no evaluation module yet; skipped")
        else:
            coach_evaluation.report(console)
    return status

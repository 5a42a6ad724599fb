"""`calmdesk train`: fit the assess model from the public training data (needs the `train` extra)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "engine" / "models"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the engine's assess model from GoEmotions, Davidson and Bitext",
        description=(
            "Train the assess model. Reads GoEmotions, Davidson and Bitext from --data "
            "(default: $CALMDESK_TRAINING_DATA or ../shared/data) and writes "
            "assess_model.npz/.json to --out (default: the package's engine/models)."
        ),
    )
    parser.add_argument("--data", type=Path, default=None, help="training data directory")
    parser.add_argument("--out", type=Path, default=None, help="directory for the artefact")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    try:
        from calmdesk.engine.trainer.data import TrainingDataError, default_data_dir, load_corpus
        from calmdesk.engine.trainer.fit import train_model, training_steps
    except ImportError as exc:
        console.print(
            f"[red]calmdesk train needs the train extra: pip install 'calmdesk[train]' ({exc})"
        )
        return 2
    data_dir: Path = args.data or default_data_dir()
    out_dir: Path = args.out or DEFAULT_OUT
    try:
        with console.status(f"reading training data from {data_dir}"):
            corpus = load_corpus(data_dir)
    except TrainingDataError as exc:
        console.print(f"[red]{exc}")
        return 2
    console.print(
        f"GoEmotions {len(corpus.goemotions_train)} train / {len(corpus.goemotions_dev)} dev, "
        f"Davidson {len(corpus.davidson_train)} train / {len(corpus.davidson_calibration)} "
        f"calibration ({len(corpus.davidson_test)} held out), Bitext {len(corpus.bitext)}"
    )
    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("training", total=training_steps(corpus))

        def report(step: str, units: int) -> None:
            progress.update(task, description=step, advance=units)

        metadata = train_model(corpus, out_dir, report)
    npz = out_dir / "assess_model.npz"
    console.print(
        f"wrote {npz} ({npz.stat().st_size / 1e6:.2f} MB, {metadata['vocabulary_size']} word "
        f"and {metadata.get('char_vocabulary_size', 0)} character n-gram features, "
        f"{len(metadata['heads'])} heads)"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(argparse.Namespace(data=None, out=None)))

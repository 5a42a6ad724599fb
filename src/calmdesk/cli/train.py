"""`calmdesk train`: fit the engine's models (needs the `train` extra).

`--part assess` (the default) fits the assess model from the public training data;
`--part coach` fits the reply coach's tone model from the labelled reply sets;
`--part tone` fits the customer tone head `assess` blends in (issue 3).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "engine" / "models"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the engine's assess model (GoEmotions, Davidson, Bitext) or coach tone model",
        description=(
            "Train the engine's models. --part assess (default) reads GoEmotions, Davidson and "
            "Bitext from --data (default: $CALMDESK_TRAINING_DATA or ../shared/data) and writes "
            "assess_model.npz/.json; --part coach trains the reply coach's tone model on the "
            "packaged development, third, fourth and fifth reply sets, the composed set and the "
            "first four blind sets (never the held-out, sixth or later blind sets) and writes "
            "coach_tone.npz/.json; --part tone trains the customer tone head on "
            "customer_training.jsonl, the customer development set, the first four blind "
            "sets and the three sets written for training (never the held-out or later blind "
            "sets) and a GoEmotions sample from --data, "
            "and writes customer_tone.npz/.json. All write to --out (default: the package's "
            "engine/models)."
        ),
    )
    parser.add_argument("--part", choices=("assess", "coach", "tone", "all"), default="assess")
    parser.add_argument("--data", type=Path, default=None, help="training data directory")
    parser.add_argument("--out", type=Path, default=None, help="directory for the artefact")
    parser.add_argument(
        "--enable",
        action="store_true",
        help="(--part coach) write a tone model the coach uses by default (it is off otherwise)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    part = getattr(args, "part", "assess")
    status = 0
    if part in ("assess", "all"):
        status = _train_assess(args, console)
    if status == 0 and part in ("coach", "all"):
        status = _train_coach(args, console)
    if status == 0 and part in ("tone", "all"):
        status = _train_tone(args, console)
    return status


def _progress(console: Any) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console)


def _train_assess(args: argparse.Namespace, console: Any) -> int:
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
    with _progress(console) as progress:
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


def _train_coach(args: argparse.Namespace, console: Any) -> int:
    try:
        from calmdesk.engine.trainer.coach_tone import train_tone_model, training_steps
    except ImportError as exc:
        console.print(
            f"[red]calmdesk train needs the train extra: pip install 'calmdesk[train]' ({exc})"
        )
        return 2
    out_dir: Path = args.out or DEFAULT_OUT
    with _progress(console) as progress:
        task = progress.add_task("training the tone model", total=training_steps())

        def report(step: str, units: int) -> None:
            progress.update(task, description=step, advance=units)

        result = train_tone_model(out_dir, report, enabled=bool(getattr(args, "enable", False)))
    metadata = result.metadata
    npz = out_dir / "coach_tone.npz"
    cv = metadata["cross_validation"]
    console.print(
        f"wrote {npz} ({npz.stat().st_size / 1e3:.0f} kB, {metadata['vocabulary_size']} word and "
        f"{metadata['char_vocabulary_size']} character n-gram features, "
        f"{metadata['training_sentences']} sentences of {metadata['training_replies']} replies, "
        f"C={metadata['C']:g}); {'on' if metadata['enabled'] else 'off'} by default"
    )
    for rule, row in cv["rules"].items():
        blend = cv["blend"]
        before, after = blend["rules"][rule], blend["rules+model"][rule]
        threshold = "none" if row["threshold"] is None else f"{row['threshold']:.3f}"
        console.print(
            f"  {rule:<20} threshold {threshold:>6}  cross-validated recall "
            f"{_ratio(before[3], before[2])} -> {_ratio(after[3], after[2])}, precision "
            f"{_ratio(before[1], before[0])} -> {_ratio(after[1], after[0])}"
        )
    console.print("measure it on the held-out set: calmdesk evaluate --part coach")
    return 0


def _train_tone(args: argparse.Namespace, console: Any) -> int:
    try:
        from calmdesk.engine.trainer.customer_tone import train_tone_head, training_steps
    except ImportError as exc:
        console.print(
            f"[red]calmdesk train needs the train extra: pip install 'calmdesk[train]' ({exc})"
        )
        return 2
    from calmdesk.engine.trainer.data import TrainingDataError, default_data_dir

    out_dir: Path = args.out or DEFAULT_OUT
    data_dir: Path = args.data or default_data_dir()
    if not (data_dir / "goemotions" / "train.tsv").is_file():
        console.print(f"[red]{TrainingDataError(f'GoEmotions not found under {data_dir}')}")
        return 2
    with _progress(console) as progress:
        task = progress.add_task("training the customer tone head", total=training_steps())

        def report(step: str, units: int) -> None:
            progress.update(task, description=step, advance=units)

        metadata = train_tone_head(out_dir, report, data_dir=data_dir)
    npz = out_dir / "customer_tone.npz"
    console.print(
        f"wrote {npz} ({npz.stat().st_size / 1e3:.0f} kB, {metadata['features']} features, "
        f"C={metadata['C']:g})"
    )
    for head, row in metadata["cross_validation"]["heads"].items():
        shift = "none" if row["shift"] is None else f"{row['shift']:+.2f}"
        line = f"  {head:<12} shift {shift:>6}"
        for name in ("training", "dev", "goemotions"):
            if f"{name}_blend" in row:
                before, after = row[f"{name}_engine_alone"], row[f"{name}_blend"]
                line += (
                    f"  {name} P {before[0]:.2f} -> {after[0]:.2f}, "
                    f"R {before[1]:.2f} -> {after[1]:.2f}"
                )
        console.print(line)
    for key, row in metadata.get("class_cross_validation", {}).items():
        if not isinstance(row, dict) or "rules_weight" not in row:
            continue
        line = f"  {key:<12} rules weight {row['rules_weight']:g}"
        for name in ("training", "dev"):
            if f"{name}_blend" in row:
                before, after = row[f"{name}_engine_alone"], row[f"{name}_blend"]
                line += (
                    f"  {name} accuracy {before['accuracy']:.2f} -> {after['accuracy']:.2f}, "
                    f"macro-F1 {before['macro_f1']:.2f} -> {after['macro_f1']:.2f}"
                )
        console.print(line)
    console.print(
        "cross-validated; measure it on the held-out set: calmdesk evaluate --part assess"
    )
    return 0


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "-"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(argparse.Namespace(data=None, out=None, part="assess", enable=False)))

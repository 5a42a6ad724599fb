"""Where the engine's GoEmotions anger and gratitude F1 come from, on the *dev* split only.

`calmdesk evaluate` compares the engine's blended score at 0.5 with the TF-IDF baseline at
its own calibrated threshold. This splits the engine's figure into its parts on the
GoEmotions dev split (data the blend may be decided on; never the test split):

- the bare model head at 0.5 (its calibrated threshold), the engine at 0.5, and the engine
  at the threshold that would be best on dev (is the threshold the problem?);
- the positives the rules add on top of the head (engine >= 0.5, head < 0.5): true and
  false, and which rule kinds those messages carry;
- the same on the customer dev set, where those rule-only positives are most of the anger.

    .venv/bin/python benchmarks/goemotions_gap.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from calmdesk.engine import assess_many
from calmdesk.engine.model import default_model
from calmdesk.engine.rules import scan
from calmdesk.engine.trainer.data import default_data_dir, load_corpus, load_devset
from calmdesk.engine.trainer.evaluation import devset_path
from calmdesk.engine.trainer.fit import best_threshold, f1_at

LABELS = ("anger", "gratitude")
# The rule kinds that can lift each score on their own (see `_assemble` in engine/assess.py).
LIFTING = {
    "anger": ("anger", "abuse", "threat", "threat_soft", "profanity", "heat", "sarcasm"),
    "gratitude": ("gratitude",),
}


def _report(name: str, texts: Sequence[str], truth: dict[str, npt.NDArray[np.bool_]]) -> None:
    model = default_model()
    if model is None:
        raise SystemExit("no trained model artefact")
    results = assess_many(texts)
    probs = model.predict_many(texts)
    print(f"{name}: {len(texts)} messages")
    for label in LABELS:
        y = truth[label]
        engine = np.asarray([r.scores[label] for r in results])
        head = np.asarray([p[f"emo:{label}"] for p in probs])
        best = best_threshold(engine, y)
        print(
            f"  {label:<10} pos {int(y.sum()):>4}  head@0.5 {f1_at(head, y, 0.5):.3f}"
            f"  engine@0.5 {f1_at(engine, y, 0.5):.3f}"
            f"  engine@{best:.2f} (best here) {f1_at(engine, y, best):.3f}"
        )
        added = (engine >= 0.5) & (head < 0.5)
        dropped = (engine < 0.5) & (head >= 0.5)
        print(
            f"    rules add TP {int((added & y).sum())} FP {int((added & ~y).sum())};"
            f" blend drops TP {int((dropped & y).sum())} FP {int((dropped & ~y).sum())}"
        )
        for outcome, mask in (("true", added & y), ("false", added & ~y)):
            kinds: Counter[str] = Counter()
            for i in np.flatnonzero(mask):
                present = {flag.kind for flag in scan(texts[i])[0]} & set(LIFTING[label])
                kinds.update(present or {"(none: capitals or structure)"})
            if kinds:
                listed = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
                print(f"    rule kinds in the added {outcome} positives: {listed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    args = parser.parse_args()
    corpus = load_corpus(args.data)
    go = corpus.goemotions_dev
    _report(
        "GoEmotions dev split",
        [e.text for e in go],
        {label: np.asarray([label in e.labels for e in go]) for label in LABELS},
    )
    path = devset_path()
    if path is not None:
        rows = load_devset(path)
        _report(
            "Customer dev set",
            [str(row["text"]) for row in rows],
            {
                label: np.asarray([bool(row["labels"].get(label, 0)) for row in rows])  # type: ignore[attr-defined]
                for label in LABELS
            },
        )


if __name__ == "__main__":
    main()

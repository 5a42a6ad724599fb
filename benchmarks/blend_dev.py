"""Engine vs model head vs TF-IDF baseline F1 on the *development* data, label by label.

The quick loop for changing how `assess` blends its model heads with the rules: it scores
the GoEmotions dev split, the Davidson calibration slice and the customer dev set (all
data the blend may be decided on; never the test splits) and prints, per label, the
engine's F1 at its 0.5 threshold next to the bare model head at 0.5 (its calibrated
threshold) and, with --baseline, the TF-IDF baseline of `calmdesk evaluate`.

    .venv/bin/python benchmarks/blend_dev.py [--data ../shared/data] [--baseline]

The baseline takes minutes to train, so its dev scores are cached (--cache) and reused
while the training data's fingerprints are unchanged. The head and baseline figures on the
GoEmotions dev split are a little optimistic: both are calibrated there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from calmdesk.engine import SCORE_KEYS, assess_many
from calmdesk.engine.model import default_model
from calmdesk.engine.trainer.data import default_data_dir, load_corpus, load_devset
from calmdesk.engine.trainer.evaluation import GOEMOTIONS_LABELS, Baseline, Metrics, devset_path

# Each engine score next to the model head it is built on.
HEADS = {
    "anger": "emo:anger",
    "frustration": "goe:frustration",
    "negative": "goe:negative",
    "confusion": "emo:confusion",
    "gratitude": "emo:gratitude",
}


def _baseline_scores(corpus: Any, texts: dict[str, list[str]], cache: Path) -> dict[str, Any]:
    key = json.dumps(corpus.fingerprints, sort_keys=True)
    if cache.is_file():
        stored = json.loads(cache.read_text("utf-8"))
        if stored.get("key") == key:
            return {
                name: {label: np.asarray(v) for label, v in scores.items()}
                for name, scores in stored["scores"].items()
            }
    print("training the TF-IDF baseline (cached afterwards in", cache, ")", file=sys.stderr)
    baseline = Baseline(corpus)
    scores = {name: baseline.scores(values) for name, values in texts.items()}
    cache.write_text(
        json.dumps(
            {
                "key": key,
                "scores": {
                    name: {label: v.tolist() for label, v in by_label.items()}
                    for name, by_label in scores.items()
                },
            }
        ),
        "utf-8",
    )
    return scores


def _cell(metrics: Metrics | None) -> str:
    return "    -" if metrics is None else f"{metrics.f1:.3f}"


def _row(label: str, truth: list[bool], engine: Any, head: Any, base: Any) -> None:
    e = Metrics.of(truth, engine)
    h = Metrics.of(truth, head) if head is not None else None
    b = Metrics.of(truth, base) if base is not None else None
    print(
        f"  {label:<22} {e.positives:>5}  {_cell(e)}  (P {e.precision:.3f} R {e.recall:.3f})"
        f"  {_cell(h)}  {_cell(b)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--baseline", action="store_true", help="add the TF-IDF baseline")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/calmdesk_blend_dev_baseline.json"))
    args = parser.parse_args()

    corpus = load_corpus(args.data)
    model = default_model()
    if model is None:
        raise SystemExit("no trained model artefact")
    devset = devset_path()
    customer = load_devset(devset) if devset else []
    texts = {
        "goemotions_dev": [e.text for e in corpus.goemotions_dev],
        "davidson_calibration": [e.text for e in corpus.davidson_calibration],
        "customer": [str(row["text"]) for row in customer],
    }
    with threadpool_limits(limits=1):
        base = _baseline_scores(corpus, texts, args.cache) if args.baseline else {}
    header = f"  {'label':<22} {'pos':>5}  engine                           head   base"

    go = corpus.goemotions_dev
    results = assess_many(texts["goemotions_dev"])
    probs = model.predict_many(texts["goemotions_dev"])
    print(f"GoEmotions dev split: {len(go)} messages\n{header}")
    for label, members in GOEMOTIONS_LABELS.items():
        truth = [bool(e.labels & members) for e in go]
        _row(
            label,
            truth,
            [r.scores[label] for r in results],
            [p[HEADS[label]] for p in probs],
            base.get("goemotions_dev", {}).get(label),
        )

    dav = corpus.davidson_calibration
    results = assess_many(texts["davidson_calibration"])
    probs = model.predict_many(texts["davidson_calibration"])
    truth = ["offensive" in e.labels for e in dav]
    print(f"Davidson calibration slice: {len(dav)} tweets\n{header}")
    _row(
        "offensive (head only)",
        truth,
        [p["dav:offensive"] for p in probs],
        None,
        base.get("davidson_calibration", {}).get("abuse"),
    )

    if customer:
        results = assess_many(texts["customer"])
        probs = model.predict_many(texts["customer"])
        print(f"Customer dev set: {len(customer)} messages\n{header}")
        for label in SCORE_KEYS:
            truth = [bool(row["labels"].get(label, 0)) for row in customer]  # type: ignore[attr-defined]
            head = HEADS.get(label)
            _row(
                label,
                truth,
                [r.scores[label] for r in results],
                [p[head] for p in probs] if head else None,
                base.get("customer", {}).get(label),
            )
        types = sum(
            r.customer_type.type == row.get("customer_type", "")
            for r, row in zip(results, customer, strict=True)
        )
        print(f"  customer_type accuracy {types / len(customer):.3f}")


if __name__ == "__main__":
    main()

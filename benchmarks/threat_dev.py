"""Threat precision/recall/F1 on the two labelled customer dev sets (never the blind ones),
plus anger/abuse F1 and customer-type accuracy, so a threat change can be checked for side
effects. Optionally dumps per-message scores (JSON) for before/after diffs.

    .venv/bin/python benchmarks/threat_dev.py [--dump out.json] [--show]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from calmdesk.engine import assess

SETS = ("customer_messages.jsonl", "customer_messages_holdout.jsonl")
DEVSETS = Path(__file__).resolve().parents[1] / "src/calmdesk/engine/devsets"


def prf(pairs: list[tuple[int, int]]) -> tuple[float, float, float, int, int, int]:
    tp = sum(1 for gold, pred in pairs if gold and pred)
    fp = sum(1 for gold, pred in pairs if not gold and pred)
    fn = sum(1 for gold, pred in pairs if gold and not pred)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, tp, fp, fn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump")
    parser.add_argument("--show", action="store_true", help="print threat misses/false alarms")
    args = parser.parse_args()
    dump: dict[str, dict[str, object]] = {}
    for name in SETS:
        rows = [json.loads(line) for line in (DEVSETS / name).read_text().splitlines() if line]
        pairs: dict[str, list[tuple[int, int]]] = {"threat": [], "anger": [], "abuse": []}
        type_ok = 0
        for row in rows:
            result = assess(row["text"])
            for key in pairs:
                pairs[key].append((int(row["labels"][key]), int(result.scores[key] >= 0.5)))
            type_ok += result.customer_type.type == row["customer_type"]
            dump[row["id"]] = {
                "threat": round(result.scores["threat"], 4),
                "anger": round(result.scores["anger"], 4),
                "abuse": round(result.scores["abuse"], 4),
                "type": result.customer_type.type,
            }
            if args.show and row["labels"]["threat"] != (result.scores["threat"] >= 0.5):
                what = "MISS" if row["labels"]["threat"] else "FALSE"
                print(f"  {what} {row['id']} {result.scores['threat']:.2f}")
        print(f"{name} ({len(rows)} messages)")
        for key, found in pairs.items():
            p, r, f, tp, fp, fn = prf(found)
            print(f"  {key:7s} P {p:.3f} R {r:.3f} F1 {f:.3f}  (tp {tp} fp {fp} fn {fn})")
        print(f"  type accuracy {type_ok / len(rows):.3f} ({type_ok}/{len(rows)})")
    if args.dump:
        Path(args.dump).write_text(json.dumps(dump, indent=0))


if __name__ == "__main__":
    main()

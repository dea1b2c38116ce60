"""PII redaction measured on the labelled set ``data/pii/labelled.jsonl`` (``shopassist eval pii``).

* **recall**: labelled personal-data substrings that are entirely replaced (any placeholder);
  per label too.
* **false positives**: product titles and order ids (strings labelled with no personal data) in which
  anything was redacted. Target: recall ≥ 0.95 and 0 false positives.

Example::

    result = evaluate()
    result["recall"], result["false_positive_strings"]
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from catalog.privacy import find_pii

DEFAULT_SET = Path(__file__).resolve().parents[1] / "data" / "pii" / "labelled.jsonl"


def _covered(spans: list[tuple[int, int, str]], start: int, end: int) -> bool:
    return all(any(s <= i < e for s, e, _ in spans) for i in range(start, end) if not _skip(i))


def _skip(_: int) -> bool:
    return False


def evaluate(path: Path = DEFAULT_SET) -> dict[str, Any]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    total, found = Counter(), Counter()
    false_positives: list[dict[str, Any]] = []
    misses: list[dict[str, str]] = []
    for row in rows:
        text, spans = row["text"], find_pii(row["text"])
        if not row["pii"]:
            if spans:
                false_positives.append({"text": text, "redacted": [text[s:e] for s, e, _ in spans]})
            continue
        for label, sub in row["pii"]:
            start = text.index(sub)
            total[label] += 1
            if _covered(spans, start, start + len(sub)):
                found[label] += 1
            else:
                misses.append({"label": label, "text": text, "missed": sub})
    n_total, n_found = sum(total.values()), sum(found.values())
    negatives = sum(1 for r in rows if not r["pii"])
    return {"strings": len(rows), "pii_items": n_total, "recall": round(n_found / n_total, 4) if n_total else 0.0,
            "recall_by_label": {k: round(found[k] / total[k], 3) for k in sorted(total)},
            "negative_strings": negatives, "false_positive_strings": len(false_positives),
            "false_positives": false_positives, "misses": misses}


def print_report(result: dict[str, Any], echo=print) -> None:
    echo(f"{result['strings']} strings, {result['pii_items']} labelled personal-data items, "
         f"{result['negative_strings']} titles/order ids")
    echo(f"recall {result['recall']:.3f}  " + "  ".join(f"{k} {v:.2f}" for k, v in result["recall_by_label"].items()))
    echo(f"false positives: {result['false_positive_strings']} of {result['negative_strings']} titles/order ids")
    for miss in result["misses"][:20]:
        echo(f"  missed {miss['label']}: {miss['missed']!r} in {miss['text']!r}")
    for fp in result["false_positives"][:20]:
        echo(f"  redacted by mistake: {fp['redacted']} in {fp['text']!r}")

"""Intent evaluation: accuracy, macro-F1 and the confusion matrix on a labelled CSV.

``shopassist eval intents --data CSV --out RESULT.json`` calls :func:`evaluate_intents`. The CSV has
``utterance,intent`` columns (the Bitext format; extra columns are ignored). The classifier is the
one the assistant uses (trained only on the Bitext *train* split plus our shopping examples, cached
under ``<data_dir>/models/intents``). With ``with_rules=True`` the full rules+classifier decision of
:class:`assistant.understanding.understand.Understander` is scored instead (fresh state per utterance).

Expected on the Bitext test split (810 rows): accuracy ≈ 0.997, macro-F1 ≈ 0.997 (docs/understanding.md).

Example::

    >>> result = evaluate_intents("../shared/data/bitext-customer-service-intents/test.csv",
    ...                           bitext_train="../shared/data/bitext-customer-service-intents/train.csv",
    ...                           data_dir="var")                                   # doctest: +SKIP
    >>> round(result["accuracy"], 3)                                                # doctest: +SKIP
    0.998
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.understanding.intents import IntentClassifier, default_bitext_train, read_labelled_csv


def classification_report(gold: list[str], predicted: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 (over gold ∪ predicted labels), per-label P/R/F1/support, confusion matrix.

    ``confusion[gold][predicted] = count`` (only non-zero cells).
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted lists differ in length")
    labels = sorted(set(gold) | set(predicted))
    pairs = Counter(zip(gold, predicted))
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = pairs[(label, label)]
        fp = sum(n for (g, p), n in pairs.items() if p == label and g != label)
        fn = sum(n for (g, p), n in pairs.items() if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                            "support": sum(1 for g in gold if g == label)}
    confusion: dict[str, dict[str, int]] = {}
    for (g, p), n in sorted(pairs.items()):
        confusion.setdefault(g, {})[p] = n
    accuracy = sum(pairs[(label, label)] for label in labels) / len(gold) if gold else 0.0
    macro = sum(v["f1"] for v in per_label.values()) / len(per_label) if per_label else 0.0
    return {"n": len(gold), "accuracy": round(accuracy, 4), "macro_f1": round(macro, 4), "per_label": per_label,
            "confusion": confusion}


def evaluate_intents(data: str | Path, bitext_train: str | Path | None = None, data_dir: str | Path = "var",
                     with_rules: bool = False) -> dict[str, Any]:
    """Score the intent classifier on ``data`` (CSV utterance,intent) and return the result dict.

    Args:
        data: the labelled CSV to score.
        bitext_train: the training split (default: ../shared/data/bitext-customer-service-intents/train.csv).
        data_dir: the classifier cache lives in ``<data_dir>/models/intents``.
        with_rules: score the Understander's rules+classifier decision instead of the bare classifier.
    """
    rows = read_labelled_csv(data)
    train = Path(bitext_train) if bitext_train else default_bitext_train()
    started = time.perf_counter()
    classifier = IntentClassifier.load_or_train(train, Path(data_dir) / "models" / "intents")
    load_s = time.perf_counter() - started
    texts, gold = [t for t, _ in rows], [i for _, i in rows]
    started = time.perf_counter()
    if with_rules:
        from assistant.understanding.understand import Understander

        understander = Understander(classifier, llm=None)
        predicted = [understander.understand_rules(t).intent for t in texts]
    else:
        predicted = [p.intent for p in classifier.predict_many(texts)]
    elapsed = time.perf_counter() - started
    report = classification_report(gold, predicted)
    errors = [{"utterance": t, "gold": g, "predicted": p} for t, g, p in zip(texts, gold, predicted) if g != p]
    report.update({"data": str(data), "train": str(train), "mode": "rules+classifier" if with_rules else "classifier",
                   "model": f"{classifier.data_hash[:16]} (TF-IDF word+char n-grams, logistic regression)",
                   "load_or_train_s": round(load_s, 2), "ms_per_utterance": round(1000 * elapsed / max(1, len(rows)), 3),
                   "errors": errors[:50]})
    return report


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """A rich table: per-label P/R/F1, then accuracy and macro-F1, then the top confusions."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Intents on {report['data']} ({report['n']} utterances, {report['mode']})")
    for column in ("intent", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for label, row in report["per_label"].items():
        table.add_row(label, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    console.print(table)
    console.print(f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   "
                  f"{report['ms_per_utterance']:.2f} ms/utterance")
    confusions = sorted(((n, g, p) for g, row in report["confusion"].items() for p, n in row.items() if g != p),
                        reverse=True)[:10]
    for n, g, p in confusions:
        console.print(f"  {n:3d} × {g} → {p}")

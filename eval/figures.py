"""The report's figures (matplotlib, Agg): metric bars with confidence intervals, latency per stage,
the scaling curve and the ranker's training curve. Each function writes one PNG and returns its
path, or None when there is nothing to draw."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def metric_bars(tasks: list[dict[str, Any]], path: Path) -> Path | None:
    """One panel per task: its primary metric per system, with the 95 % interval where there is one."""
    tasks = [t for t in tasks if t.get("systems")]
    if not tasks:
        return None
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks) + 1, 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        names = list(task["systems"])
        rows = [task["systems"][n][task["primary"]] for n in names]
        means = [r["mean"] or 0.0 for r in rows]
        errors = [[max(0.0, m - (r["low"] if r.get("low") is not None else m)) for m, r in zip(means, rows)],
                  [max(0.0, (r["high"] if r.get("high") is not None else m) - m) for m, r in zip(means, rows)]]
        ax.bar(range(len(names)), means, yerr=errors, capsize=4, color="tab:blue")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{task['task']}\n{task['primary']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def latency_boxes(samples: dict[str, dict[str, list[float]]], path: Path) -> Path | None:
    """Box plots of latency per stage; ``samples`` is ``{label: {stage: [ms, ...]}}``."""
    series = [(f"{label}\n{stage}", values) for label, stages in samples.items()
              for stage, values in stages.items() if values]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(series) + 2), 4.2))
    ax.boxplot([v for _, v in series], showfliers=False)
    ax.set_xticks(range(1, len(series) + 1), [n for n, _ in series], rotation=45, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("ms per turn (log scale; whiskers 1.5 IQR, no outliers)")
    ax.set_title("latency per stage")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def scaling_curve(points: list[dict[str, Any]], path: Path) -> Path | None:
    """p50 per stage against the catalog size; ``points`` are ``{"items", "stage", "p50_ms", "label"}``."""
    points = [p for p in points if p.get("items") and p.get("p50_ms") is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for stage in sorted({p["stage"] for p in points}):
        mine = sorted((p for p in points if p["stage"] == stage), key=lambda p: p["items"])
        ax.plot([p["items"] for p in mine], [p["p50_ms"] for p in mine], "o-", label=stage)
        for p in mine:
            ax.annotate(p["label"], (p["items"], p["p50_ms"]), fontsize=6, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("catalog size (products)")
    ax.set_ylabel("p50 ms")
    ax.set_title("cost against catalog size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def training_curve(run: Path, path: Path) -> Path | None:
    """The ranker run's ``curve.json``: training loss and validation NDCG@10 against the step."""
    curve_file = Path(run) / "curve.json"
    if not curve_file.exists():
        return None
    curve = json.loads(curve_file.read_text())
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    if curve.get("loss"):
        ax.plot(*zip(*curve["loss"]), color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss", color="tab:blue")
    if curve.get("validation_ndcg10"):
        ax2 = ax.twinx()
        ax2.plot(*zip(*curve["validation_ndcg10"]), "o-", color="tab:red")
        ax2.set_ylabel("validation NDCG@10", color="tab:red")
    if curve.get("best_step") is not None:
        ax.axvline(curve["best_step"], color="grey", linestyle=":")
    ax.set_title(f"ranker training ({Path(run).name}); best step {curve.get('best_step')}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

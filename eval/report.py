"""``shopassist eval report --config EVAL.toml --out DIR``: run the evaluations a TOML lists and write
``report.md``, ``report.json`` and figures (:mod:`eval.figures`).

The TOML (paths relative to the working directory; examples in ``eval/configs/``)::

    [report]
    title = "shared data"
    cache = "results/report-cache"      # default DIR/cache

    [[task]]
    name = "search-homedepot"           # unique
    kind = "search"                     # search | recommend | intents | turns | replay | ranker_curve
    catalog = "../shared/data/homedepot-search-relevance/products.csv.gz"
    judgments = "../shared/data/homedepot-search-relevance/judgments.csv.gz"

    [[task]]
    name = "replay-homedepot"
    kind = "replay"
    log = "results/logs/homedepot.jsonl"
    systems = { ranker = "eval/configs/replay-rules.toml", "no-ranker" = "eval/configs/replay-noranker.toml" }

Every task's result is cached under ``cache/<name>-<key>.json``, the key hashing the task's table,
the content of every input file it names and :data:`CODE_VERSION`: a second run (or one resumed
after an interruption) reruns only what changed. The first lines of the report say which system
wins each task on its primary metric, by how much, with a paired bootstrap interval where the
systems were scored on the same items.
"""
from __future__ import annotations

import hashlib
import json
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.stats import mean_ci, paired_bootstrap, percentiles

CODE_VERSION = "1"  # bump when a runner's output changes meaning
KINDS = ("search", "recommend", "intents", "turns", "replay", "ranker_curve")
_PATH_KEYS = ("catalog", "judgments", "items", "sequences", "data", "log", "model", "run")


def _digest(path: Path) -> str:
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.stat().st_size < 50_000_000
                   and "cache" not in p.parts) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def task_key(task: dict[str, Any]) -> str:
    """Hash of the task's settings, its input files' content and the code version."""
    parts = {"task": task, "code": CODE_VERSION, "files": {}}
    inputs = [task[k] for k in _PATH_KEYS if isinstance(task.get(k), str)]
    inputs += [v for v in (task.get("systems") or {}).values() if isinstance(v, str)]
    for value in inputs:
        if Path(value).exists():
            parts["files"][value] = _digest(Path(value))
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_config(path: Path) -> dict[str, Any]:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    tasks = raw.get("task") or []
    if not tasks:
        raise ValueError(f"{path}: no [[task]] tables")
    names = set()
    for task in tasks:
        if task.get("kind") not in KINDS:
            raise ValueError(f"{path}: task {task.get('name')!r} has kind {task.get('kind')!r}; use one of {KINDS}")
        if not task.get("name") or task["name"] in names:
            raise ValueError(f"{path}: every task needs a unique name ({task.get('name')!r})")
        names.add(task["name"])
    return {"report": raw.get("report", {}), "tasks": tasks}


def _ci(value: float | None) -> dict[str, float | None]:
    return {"mean": value, "low": None, "high": None}


# ---- runners: task table -> {"systems", "primary", "per_item", "latency", "scaling", "details"} ----------------

def _search(task: dict[str, Any], work: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    from catalog.loaders import parse_mapping
    from eval.metrics import ndcg_at_k
    from eval.search_eval import load_judgments, open_cached_search
    from retrieval.embedder import Embedder
    from retrieval.search import FusionConfig

    search, items, _ = open_cached_search(Path(task["catalog"]), parse_mapping(task.get("catalog_map")) or None,
                                          Path(task.get("cache_dir", "var/eval-cache")),
                                          Embedder(threads=task.get("threads")), FusionConfig())
    judgments = load_judgments(task["judgments"])
    qids = sorted(judgments.queries)[: task.get("max_queries")]
    systems = ("bm25", "dense", "hybrid")
    per: dict[str, list[float]] = {s: [] for s in systems}
    times: list[float] = []
    for qid in qids:
        started = time.perf_counter()
        hybrid, _, raw = search.candidates(judgments.queries[qid], "hybrid", max(search.fusion.depth, 100))
        times.append((time.perf_counter() - started) * 1000.0)
        for system, ranked in (("bm25", list(raw["bm25"])), ("dense", list(raw["dense"])), ("hybrid", hybrid)):
            per[system].append(ndcg_at_k(ranked, judgments.gains[qid], 10))
    return {"primary": "ndcg@10", "systems": {s: {"ndcg@10": mean_ci(per[s])} for s in systems}, "per_item": per,
            "latency": {task["name"]: {"retrieve": times}},
            "scaling": [{"items": items, "stage": "retrieve (search only)", "label": task["name"],
                         **{"p50_ms": percentiles(times)["p50_ms"]}}],
            "details": {"queries": len(qids), "items": items}}


def _recommend(task: dict[str, Any], work: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    from eval.rec_eval import evaluate_recommenders

    result = evaluate_recommenders(task["items"], task["sequences"], task["model"], max_users=task.get("max_users"),
                                   threads=task.get("threads"), echo=echo)
    return {"primary": "ndcg@10",
            "systems": {s: {m: _ci(v) for m, v in row.items()} for s, row in result["systems"].items()},
            "details": {k: result[k] for k in ("users", "items", "version", "seconds")}}


def _intents(task: dict[str, Any], work: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    from catalog.settings import Settings
    from eval.intent_eval import evaluate_intents

    result = evaluate_intents(task["data"], bitext_train=task.get("train"), data_dir=Settings().data_dir,
                              with_rules=bool(task.get("with_rules", False)))
    name = "rules+classifier" if task.get("with_rules") else "classifier"
    return {"primary": "accuracy", "systems": {name: {"accuracy": _ci(result["accuracy"]),
                                                      "macro_f1": _ci(result["macro_f1"])}},
            "details": {"n": result["n"]}}


def _turns(task: dict[str, Any], work: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    from assistant.agent import ShoppingAssistant
    from catalog.settings import Settings
    from eval.turn_eval import evaluate_turns, load_conversations

    conversations = load_conversations(task["data"])[: task.get("limit")]
    profile = task.get("llm", "none")
    settings = Settings() if profile == "none" else Settings(llm_profile=profile)
    extra = {"llm": False} if profile == "none" else {}
    assistant = ShoppingAssistant.from_settings(settings, llm_explanations=int(task.get("explanations", 0)), **extra)
    try:
        result = evaluate_turns(assistant, conversations)
    finally:
        assistant.close()
    name = f"assistant ({profile})"
    return {"primary": "good_turn_rate",
            "systems": {name: {k: _ci(result[k]) for k in ("good_turn_rate", "route_accuracy", "precision_at_5")}},
            "details": {"turns": result["turns"], "latency_s": result["latency_s"]}}


def _replay(task: dict[str, Any], work: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    from eval.replay import ReplayConfig, compare, read_turns, replay

    systems, per_item, latency, scaling, details = {}, {}, {}, [], {}
    configs = task.get("systems") or {"as configured": None}
    for name, config in configs.items():
        folder = work / name.replace("/", "-")
        echo(f"  replay {task['log']} with {name} ({config or 'settings as they are'})")
        result = replay(Path(task["log"]), folder, ReplayConfig.load(Path(config) if config else None),
                        limit=task.get("limit"))
        quality = result["quality"]
        systems[name] = {k: v for k, v in quality.items() if isinstance(v, dict)}
        rows = list(read_turns(folder).values())
        primary = "judged_ndcg@10" if quality.get("judged_turns") else "hr@5"
        judged = primary.startswith("judged_")  # a failed turn scores 0
        per_item[name] = [r["metrics"].get(primary.removeprefix("judged_"), 0.0) for r in rows
                          if (bool(r.get("judgments")) if judged else (not r.get("judgments") and r.get("outcomes")))]
        latency[f"{task['name']}/{name}"] = {s: [r["stages_ms"][s] for r in rows if s in r["stages_ms"]]
                                            for s in ("understand", "retrieve", "rerank", "explain")}
        items = result["exposure"].get("catalog_items")
        for stage, row in result["stages"].items():
            scaling.append({"items": items, "stage": stage, "p50_ms": row["p50_ms"], "label": f"{task['name']}/{name}"})
        details[name] = {k: result[k] for k in ("turns", "failed", "stages", "explanation_sources", "escalation_rate",
                                                "exposure", "seconds")}
    names = list(configs)
    if len(names) >= 2:
        details["compare"] = compare(work / names[0].replace("/", "-"), work / names[1].replace("/", "-"))
    return {"primary": primary, "systems": systems, "per_item": per_item, "latency": latency, "scaling": scaling,
            "details": details}


def _ranker_curve(task: dict[str, Any], work: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    curve = json.loads((Path(task["run"]) / "curve.json").read_text())
    return {"primary": None, "systems": {}, "details": {"run": task["run"], "best_step": curve.get("best_step"),
                                                        "validation_ndcg10": curve.get("validation_ndcg10")}}


RUNNERS = {"search": _search, "recommend": _recommend, "intents": _intents, "turns": _turns, "replay": _replay,
           "ranker_curve": _ranker_curve}


def winner_line(task: dict[str, Any]) -> str:
    """One headline: who wins the task's primary metric and by how much."""
    primary, systems = task.get("primary"), task.get("systems") or {}
    if not primary or not systems:
        return f"- **{task['task']}**: {task.get('note') or 'no systems to compare'}"
    ranked = sorted(systems, key=lambda s: -(systems[s].get(primary, {}).get("mean") or 0.0))
    best = ranked[0]
    value = systems[best][primary]["mean"]
    if len(ranked) == 1:
        return f"- **{task['task']}**: {best} {primary} {value:.4f} (one system)"
    second = ranked[1]
    other = systems[second][primary]["mean"] or 0.0
    if value == other:
        return f"- **{task['task']}**: tie on {primary} ({best} = {second} = {value:.4f})"
    line = (f"- **{task['task']}**: **{best}** wins {primary} {value:.4f} vs {second} {other:.4f} "
            f"({value - other:+.4f}, {(value - other) / other * 100 if other else float('inf'):+.1f} %)")
    per = task.get("per_item") or {}
    if best in per and second in per and len(per[best]) == len(per[second]):
        diff = paired_bootstrap(per[best], per[second])
        line += f"; paired 95 % CI [{diff['low']:+.4f}, {diff['high']:+.4f}] over {diff['pairs']} items"
        line += "" if diff["significant"] else " (not significant)"
    return line


def _markdown(title: str, tasks: list[dict[str, Any]], headline: list[str], figures: dict[str, str | None],
              seconds: float) -> str:
    lines = [f"# Evaluation report: {title}", "", *headline, "",
             f"Wall time {seconds:.0f} s (tasks taken from the cache count their original time below).", ""]
    for task in tasks:
        lines += [f"## {task['task']} ({task['kind']})", "",
                  f"{'cached' if task.get('cached') else 'ran'}; {task.get('seconds', 0):.0f} s; key {task['key']}", ""]
        metrics = sorted({m for row in (task.get("systems") or {}).values() for m in row})
        if metrics:
            lines.append("| system | " + " | ".join(metrics) + " |")
            lines.append("|---" * (len(metrics) + 1) + "|")
            for name, row in task["systems"].items():
                cells = []
                for m in metrics:
                    v = row.get(m) or {}
                    mean = v.get("mean")
                    cell = "" if mean is None else f"{mean:.4f}"
                    if v.get("low") is not None:
                        cell += f" [{v['low']:.4f}, {v['high']:.4f}]"
                    cells.append(cell)
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
        details = task.get("details") or {}
        for name, row in details.items():
            if name != "compare" and isinstance(row, dict) and "stages" in row:
                stages = ", ".join(f"{s} p50 {v['p50_ms']} / p95 {v['p95_ms']} / p99 {v['p99_ms']} ms"
                                   for s, v in row["stages"].items())
                lines += [f"- {name}: {row['turns']} turns, {row['failed']} failed; {stages}",
                          f"  - explanation sources {row['explanation_sources']}; escalation rate {row['escalation_rate']}",
                          f"  - exposure {row['exposure']}"]
        if "compare" in details:
            for key, row in details["compare"]["quality"].items():
                lines.append(f"- {key}: {row['diff']:+.4f} [{row['low']:+.4f}, {row['high']:+.4f}] ({row['pairs']} pairs)")
        other = {k: v for k, v in details.items() if not (isinstance(v, dict) and "stages" in v)}
        if other:
            lines += ["", "```", json.dumps(other, default=str)[:1500], "```"]
        lines.append("")
    lines.append("## Figures")
    lines += [f"![{name}]({file})" for name, file in figures.items() if file]
    return "\n".join(lines) + "\n"


def run_report(config: Path, out: Path, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or take from the cache) every task, then write report.json, report.md and the figures."""
    from eval import figures as fig

    started = time.perf_counter()
    cfg = load_config(config)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cfg["report"].get("cache") or out / "cache")
    cache.mkdir(parents=True, exist_ok=True)
    tasks = []
    for task in cfg["tasks"]:
        key = task_key(task)
        cached = cache / f"{task['name']}-{key}.json"
        if cached.exists():
            result = json.loads(cached.read_text())
            result["cached"] = True
            echo(f"{task['name']}: from the cache ({cached})")
        else:
            echo(f"{task['name']}: running ({task['kind']})")
            t0 = time.perf_counter()
            result = RUNNERS[task["kind"]](task, cache / f"{task['name']}-{key}", echo)
            result.update(task=task["name"], kind=task["kind"], key=key, seconds=round(time.perf_counter() - t0, 1))
            cached.write_text(json.dumps(result, default=str) + "\n")  # written whole: resume skips it
            result["cached"] = False
        tasks.append(result)
    headline = [winner_line(t) for t in tasks if t.get("primary")]
    latency = {k: v for t in tasks for k, v in (t.get("latency") or {}).items()}
    curve = next((t["details"]["run"] for t in tasks if t["kind"] == "ranker_curve"), None)
    figures = {"metrics": fig.metric_bars(tasks, out / "metrics.png"),
               "latency": fig.latency_boxes(latency, out / "latency.png"),
               "scaling": fig.scaling_curve([p for t in tasks for p in (t.get("scaling") or [])], out / "scaling.png"),
               "training curve": fig.training_curve(Path(curve), out / "ranker_curve.png") if curve else None}
    figures = {k: (v.name if v else None) for k, v in figures.items()}
    seconds = time.perf_counter() - started
    title = cfg["report"].get("title", Path(config).stem)
    summary = {"title": title, "headline": headline, "seconds": round(seconds, 1), "figures": figures,
               "tasks": [{k: v for k, v in t.items() if k not in ("per_item", "latency")} for t in tasks]}
    (out / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    (out / "report.md").write_text(_markdown(title, tasks, headline, figures, seconds), encoding="utf-8")
    return summary

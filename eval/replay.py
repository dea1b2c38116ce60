"""``shopassist eval replay``: replay a query log through the assistant as configured now.

The log (:mod:`assistant.turn_log`) is replayed in timestamp order: every logged feedback event is
recorded again (so the shopper's history, and with it personalisation, grows as it did), every turn
is answered again by a :class:`assistant.agent.ShoppingAssistant` built from the configuration.

Where it runs: a scratch folder ``DIR/work`` holds a *copy* of the catalog's SQLite store (the
replay's sessions and events never touch the served data; each replay starts from the same copy,
which is what makes two replays give the same numbers), and links to the served folder's models
(ranker, intent classifier, LLM) and knowledge base. The catalog's search indexes are read in
place: the served ``data_dir`` for a server log, or — for a converted log whose header names a
catalog file — the evaluation cache ``<cache_dir>/<catalog hash>/`` that ``eval search`` also
uses (built once, on first use).

Quality, per turn, then averaged:

* turns with outcomes (click / add_to_cart / purchase after the turn: events carrying its
  ``turn_id``, or later events of the same session before its next turn): HR@5 and NDCG@5 (binary
  gain) of the replayed list; the same of the logged list where the log showed one;
* turns with ``judgments`` (converted judgment logs): NDCG@10 and NDCG@5 against the judgments.

Also: latency p50/p95/p99 per stage (``Reply.trace``), explanation sources, routes, escalation
rate, fairness/diversity (:mod:`eval.exposure`) and the turns whose outcome changed most against
the log. ``DIR/turns.jsonl`` keeps one row per turn so two replays can be compared pair by pair.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.turn_log import STAGES, EventRecord, LogHeader, TurnRecord, read_log
from eval.metrics import hit_rate_at_k, ndcg_at_k
from eval.stats import mean_ci, paired_bootstrap, percentiles

POSITIVE = ("click", "add_to_cart", "purchase")
QUALITY_KEYS = ("hr@5", "ndcg@5", "ndcg@10")


@dataclass
class ReplayConfig:
    """What to replay with (a TOML file: ``[settings]``, ``[replay]``, ``[fusion]``; see docs/eval.md)."""

    settings: dict[str, Any] = field(default_factory=dict)  # catalog.settings.Settings fields
    llm: bool = True  # False: no LLM at all (rules-only understanding, template explanations)
    explanations: int = 3  # LLM sentences per reply
    ranker: bool = True  # False: retrieval order
    ranker_model: str | None = None  # a models/ranker folder (default: the served data_dir's); "untrained"
    page_size: int | None = None  # default 10 for judgment logs (NDCG@10), else 5 as served
    fusion: dict[str, Any] = field(default_factory=dict)  # retrieval.fusion.FusionConfig fields
    cache_dir: str = "var/eval-cache"
    name: str = ""

    @classmethod
    def load(cls, path: Path | None) -> "ReplayConfig":
        if path is None:
            return cls()
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(raw) - {"settings", "replay", "fusion"}
        if unknown:
            raise ValueError(f"{path}: unknown table(s) {sorted(unknown)}: use [settings], [replay], [fusion]")
        replay = dict(raw.get("replay", {}))
        allowed = set(cls.__dataclass_fields__) - {"settings", "fusion"}
        if set(replay) - allowed:
            raise ValueError(f"{path}: unknown [replay] key(s) {sorted(set(replay) - allowed)}")
        replay.setdefault("name", Path(path).stem)
        return cls(settings=dict(raw.get("settings", {})), fusion=dict(raw.get("fusion", {})), **replay)

    def describe(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def ordered(records: list[Any], limit: int | None = None) -> tuple[LogHeader | None, list[Any]]:
    """The header (if any) and the turns and events in timestamp order (file order breaks ties),
    cut before the ``limit + 1``-th turn."""
    header = next((r for r in records if isinstance(r, LogHeader)), None)
    rest = sorted((r for r in records if not isinstance(r, LogHeader)), key=lambda r: r.ts)
    if limit is None:
        return header, rest
    out, turns = [], 0
    for record in rest:
        if isinstance(record, TurnRecord):
            if turns >= limit:
                break
            turns += 1
        out.append(record)
    return header, out


def _link(src: Path, dst: Path) -> None:
    if src.exists() and not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src.resolve(), target_is_directory=src.is_dir())


def prepare(config: ReplayConfig, settings: Any, header: LogHeader | None, work: Path, embedder: Any = None,
            catalog: Path | None = None, catalog_map: dict | None = None) -> Any:
    """Build the assistant for a replay in the scratch folder ``work`` (see the module docstring)."""
    from assistant.agent import ShoppingAssistant
    from catalog.settings import Settings
    from catalog.store import Store
    from retrieval.embedder import Embedder
    from retrieval.fusion import FusionConfig
    from retrieval.ingest import IndexPaths
    from retrieval.lexical_index import LexicalIndex
    from retrieval.search import ProductSearch
    from retrieval.vector_index import VectorIndex, open_client

    settings = settings.model_copy(update=config.settings)
    embedder = embedder or Embedder(settings.embedding_model, threads=settings.torch_threads)
    fusion = FusionConfig(**config.fusion)
    catalog = catalog or (Path(header.catalog) if header is not None and header.catalog else None)
    if catalog is not None:
        from eval.search_eval import file_hash, open_cached_search

        mapping = catalog_map if catalog_map is not None else (header.catalog_map if header else None)
        open_cached_search(catalog, mapping, Path(config.cache_dir), embedder, fusion)  # built once
        source = Path(config.cache_dir) / file_hash(catalog, mapping)
    else:
        if settings.database_url and not settings.database_url.startswith("sqlite"):
            raise ValueError("a replay copies the catalog's SQLite store; with PostgreSQL export the products to a "
                             "file and pass --catalog FILE")
        source = Path(settings.data_dir)
    db = source / "shopassist.db"
    if not db.exists():
        raise FileNotFoundError(f"{db} does not exist: ingest the catalog first (shopassist demo --no-serve)")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    with sqlite3.connect(db) as src, sqlite3.connect(work / "shopassist.db") as dst:
        src.backup(dst)  # consistent even while a server writes to it
    served = Path(settings.data_dir)
    if config.ranker_model != "untrained":  # "untrained": no checkpoint, the packaged MiniLM as the ranker
        _link(Path(config.ranker_model) if config.ranker_model else served / "models" / "ranker",
              work / "models" / "ranker")
    for name in ("intents", "llm"):
        _link(served / "models" / name, work / "models" / name)
    _link(served / "knowledge", work / "knowledge")
    run_settings = settings.model_copy(update={"data_dir": work, "database_url": None})
    store = Store.from_settings(run_settings)
    paths = IndexPaths.for_settings(Settings(data_dir=source))
    vectors = VectorIndex(open_client(paths.chroma), paths.collection(embedder), embedder)
    search = ProductSearch(store, embedder, vectors, LexicalIndex.load(paths.bm25), fusion)
    extra: dict[str, Any] = {}
    if not config.llm:
        extra["llm"] = False
    if not config.ranker:
        extra["ranker"] = False
    page_size = config.page_size or (10 if header is not None and header.source == "judgments" else 5)
    assistant = ShoppingAssistant.from_settings(run_settings, store=store, search=search, page_size=page_size,
                                                llm_explanations=config.explanations, **extra)
    for name in ("understander", "ranker", "kinds", "explainer"):  # load now, as the server's warm-up does,
        getattr(assistant.parts, name)                              # so no turn's latency includes loading
    if assistant.parts.llm is not None:
        assistant.parts.llm.chat_model  # noqa: B018 - loads the model file once
    return assistant


def run_log(assistant: Any, records: list[Any], progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Replay ``records`` (ordered) through ``assistant``; returns per-turn rows and counters."""
    from assistant.agent import AssistantInputError

    rows: dict[str, dict[str, Any]] = {}
    last_turn: dict[str, str] = {}  # session -> its latest turn id
    skipped_events, fed_events = 0, 0
    for record in records:
        if isinstance(record, EventRecord):
            turn_id = record.turn_id or (last_turn.get(record.session) if record.session else None)
            if record.event in POSITIVE and turn_id in rows:
                rows[turn_id]["outcomes"].append(record.item_id)
            try:
                assistant.record_event(record.user, record.item_id, record.event, session_id=record.session,
                                       value=record.value)
                fed_events += 1
            except (AssistantInputError, ValueError):
                skipped_events += 1
            continue
        row: dict[str, Any] = {"turn_id": record.turn_id, "ts": record.ts, "session": record.session,
                               "message": record.message, "logged": [s.id for s in record.shown],
                               "judgments": record.judgments, "outcomes": [], "error": None}
        started = time.perf_counter()
        try:
            reply = assistant.respond(record.session, record.message, user_id=record.user)
            row.update(shown=[p.id for p in reply.products], route=reply.route, intent=reply.intent,
                       escalated=reply.escalation is not None,
                       explanation_sources=[p.explanation_source for p in reply.products],
                       stages_ms=dict(reply.trace.stages_ms))
        except Exception as exc:  # noqa: BLE001 - a failed turn is counted and named, the replay goes on
            row.update(shown=[], route="failed", intent=None, escalated=False, explanation_sources=[], stages_ms={},
                       error=f"{type(exc).__name__}: {exc}")
        row["total_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
        rows[record.turn_id] = row
        if record.session:
            last_turn[record.session] = record.turn_id
        if progress is not None:
            progress(1)
    return {"rows": list(rows.values()), "fed_events": fed_events, "skipped_events": skipped_events}


def turn_metrics(row: dict[str, Any]) -> dict[str, float]:
    """The quality numbers of one replayed turn (see the module docstring); empty when it has none."""
    out: dict[str, float] = {}
    if row.get("judgments"):
        out["ndcg@10"] = ndcg_at_k(row["shown"], row["judgments"], 10)
        out["ndcg@5"] = ndcg_at_k(row["shown"], row["judgments"], 5)
    elif row.get("outcomes"):
        targets = set(row["outcomes"])
        gains = {t: 1.0 for t in targets}
        out["hr@5"] = hit_rate_at_k(row["shown"], targets, 5)
        out["ndcg@5"] = ndcg_at_k(row["shown"], gains, 5)
        if row.get("logged"):
            out["logged_hr@5"] = hit_rate_at_k(row["logged"], targets, 5)
            out["logged_ndcg@5"] = ndcg_at_k(row["logged"], gains, 5)
    return out


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 5) if values else None


def summarise(rows: list[dict[str, Any]], exposure: dict[str, Any] | None = None) -> dict[str, Any]:
    """``replay.json``: turns, failed, stages, quality, and the rest."""
    for row in rows:
        row["metrics"] = turn_metrics(row)
    ok = [r for r in rows if r["error"] is None]
    judged = [r for r in ok if r.get("judgments")]
    outcome = [r for r in ok if not r.get("judgments") and r["outcomes"]]
    quality: dict[str, Any] = {"judged_turns": len(judged), "outcome_turns": len(outcome)}
    if judged:
        for key in ("ndcg@10", "ndcg@5"):
            quality[f"judged_{key}"] = mean_ci([r["metrics"][key] for r in judged])
    if outcome:
        for key in ("hr@5", "ndcg@5"):
            quality[key] = mean_ci([r["metrics"][key] for r in outcome])
        logged = [r for r in outcome if "logged_hr@5" in r["metrics"]]
        if logged:
            quality["logged_turns"] = len(logged)
            for key in ("hr@5", "ndcg@5"):
                quality[f"logged_{key}"] = _mean([r["metrics"][f"logged_{key}"] for r in logged])
    sources = Counter(s for r in ok for s in r["explanation_sources"])
    shown = sum(sources.values())
    changed = sorted((r for r in ok if "logged_ndcg@5" in r["metrics"]),
                     key=lambda r: (-abs(r["metrics"]["ndcg@5"] - r["metrics"]["logged_ndcg@5"]), r["ts"]))
    return {
        "turns": len(rows), "failed": len(rows) - len(ok),
        "stages": {s: {**percentiles([r["stages_ms"][s] for r in ok if s in r["stages_ms"]]),
                       "samples": sum(s in r["stages_ms"] for r in ok)} for s in STAGES},
        "total": percentiles([r["total_ms"] for r in ok]),
        "quality": quality,
        "explanation_sources": {**dict(sources), "llm_share": round(sources.get("llm", 0) / shown, 4) if shown else None},
        "escalation_rate": round(sum(r["escalated"] for r in ok) / len(ok), 4) if ok else None,
        "routes": dict(Counter(r["route"] for r in rows)),
        "exposure": exposure or {},
        "changed_most": [{"turn_id": r["turn_id"], "message": r["message"][:80], "logged": r["logged"][:5],
                          "replayed": r["shown"][:5], "outcomes": r["outcomes"],
                          "ndcg@5": r["metrics"]["ndcg@5"], "logged_ndcg@5": r["metrics"]["logged_ndcg@5"]}
                         for r in changed[:10] if r["metrics"]["ndcg@5"] != r["metrics"]["logged_ndcg@5"]],
        "errors": [{"turn_id": r["turn_id"], "error": r["error"]} for r in rows if r["error"]][:20],
    }


def exposure_of(assistant: Any, rows: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    """Fairness and diversity of the replayed top-``k`` lists over the replay's catalog."""
    from catalog.events import EventStore
    from eval.exposure import exposure_report

    lists = [r["shown"][:k] for r in rows if r["error"] is None and r["shown"]]
    brand_of = {p.id: p.brand for p in assistant.store.iter_products()}
    counts = EventStore(assistant.store).item_counts()
    shown_ids = sorted({i for s in lists for i in s})
    vectors: dict[str, Any] = {}
    for start in range(0, len(shown_ids), 5000):
        vectors.update(assistant.parts.search.vectors.vectors(shown_ids[start:start + 5000]))
    return {**exposure_report(lists, list(brand_of), brand_of, counts, vectors), "k": k, "catalog_items": len(brand_of)}


def replay(log: Path, out: Path, config: ReplayConfig, settings: Any = None, limit: int | None = None,
           catalog: Path | None = None, catalog_map: dict | None = None, embedder: Any = None,
           progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Replay ``log`` with ``config``; writes ``out/replay.json`` and ``out/turns.jsonl``; returns the result."""
    from catalog.settings import Settings

    started = time.perf_counter()
    header, records = ordered(read_log(log), limit)
    assistant = prepare(config, settings or Settings(), header, out / "work", embedder, catalog, catalog_map)
    try:
        run = run_log(assistant, records, progress)
        exposure = exposure_of(assistant, run["rows"])
    finally:
        assistant.close()
    result = summarise(run["rows"], exposure)
    result.update(log=str(log), config=config.describe(), fed_events=run["fed_events"],
                  skipped_events=run["skipped_events"], seconds=round(time.perf_counter() - started, 1))
    out.mkdir(parents=True, exist_ok=True)
    (out / "replay.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "turns.jsonl", "w", encoding="utf-8") as handle:
        for row in run["rows"]:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return result


def read_turns(folder: Path) -> dict[str, dict[str, Any]]:
    rows = {}
    for line in (Path(folder) / "turns.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["turn_id"]] = row
    return rows


def compare(this: Path, other: Path) -> dict[str, Any]:
    """This replay minus the other, per quality metric over the turns both have it for (paired
    bootstrap 95 % interval), per stage p50, and the turns whose outcome changed most."""
    mine, theirs = read_turns(this), read_turns(other)
    common = [t for t in mine if t in theirs]
    metrics: dict[str, Any] = {}
    for key in ("judged_ndcg@10", "judged_ndcg@5", "hr@5", "ndcg@5"):
        name, judged = key.removeprefix("judged_"), key.startswith("judged_")
        pairs = [(mine[t]["metrics"][name], theirs[t]["metrics"][name]) for t in common
                 if bool(mine[t].get("judgments")) == judged and name in mine[t].get("metrics", {})
                 and name in theirs[t].get("metrics", {})]
        if pairs:
            metrics[key] = paired_bootstrap([x for x, _ in pairs], [y for _, y in pairs])
    stages = {}
    for stage in (*STAGES, "total"):
        def p50(rows: dict[str, Any]) -> float | None:
            values = [r["total_ms"] if stage == "total" else r["stages_ms"].get(stage) for r in rows.values()
                      if r["error"] is None]
            return percentiles([v for v in values if v is not None])["p50_ms"]
        a, b = p50(mine), p50(theirs)
        stages[stage] = {"p50_ms": a, "other_p50_ms": b, "diff_ms": round(a - b, 3) if a is not None and b is not None else None}
    moved = []
    for t in common:
        ma, mb = mine[t].get("metrics", {}), theirs[t].get("metrics", {})
        key = "ndcg@10" if "ndcg@10" in ma else "ndcg@5"
        if key in ma and key in mb and ma[key] != mb[key]:
            moved.append({"turn_id": t, "message": mine[t]["message"][:80], "metric": key, "this": round(ma[key], 4),
                          "other": round(mb[key], 4), "this_shown": mine[t]["shown"][:5],
                          "other_shown": theirs[t]["shown"][:5]})
    moved.sort(key=lambda m: (-abs(m["this"] - m["other"]), m["turn_id"]))
    return {"this": str(this), "other": str(other), "common_turns": len(common), "quality": metrics,
            "stages": stages, "changed_most": moved[:10]}


def format_replay(result: dict[str, Any]) -> list[str]:
    """The printed summary of a replay."""
    lines = [f"turns {result['turns']}  failed {result['failed']}  escalation rate {result['escalation_rate']}  "
             f"({result.get('seconds')} s)"]
    for stage, row in result["stages"].items():
        lines.append(f"  {stage:<10} p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  p99 {row['p99_ms']} ms  "
                     f"({row['samples']} turns)")
    q = result["quality"]
    for key in ("judged_ndcg@10", "judged_ndcg@5", "hr@5", "ndcg@5"):
        if key in q:
            lines.append(f"  {key:<15} {q[key]['mean']:.4f}  [{q[key]['low']:.4f}, {q[key]['high']:.4f}]")
    for key in ("logged_hr@5", "logged_ndcg@5"):
        if key in q:
            lines.append(f"  {key:<15} {q[key]:.4f} (what the log showed, {q['logged_turns']} turns)")
    lines.append(f"  explanation sources {result['explanation_sources']}")
    lines.append(f"  exposure {result['exposure']}")
    return lines


def format_compare(diff: dict[str, Any]) -> list[str]:
    lines = [f"{diff['this']} minus {diff['other']} over {diff['common_turns']} common turns"]
    for key, row in diff["quality"].items():
        mark = " *" if row["significant"] else ""
        lines.append(f"  {key:<15} {row['diff']:+.4f}  95% CI [{row['low']:+.4f}, {row['high']:+.4f}] "
                     f"({row['pairs']} pairs){mark}")
    for stage, row in diff["stages"].items():
        lines.append(f"  {stage:<10} p50 {row['p50_ms']} ms vs {row['other_p50_ms']} ms ({row['diff_ms']} ms)")
    for m in diff["changed_most"][:5]:
        lines.append(f"  changed {m['turn_id']} {m['message']!r}: {m['metric']} {m['this']} vs {m['other']}")
    return lines


def by_turn(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per-metric lists over turns (for the report's figures)."""
    out: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for key, value in row.get("metrics", {}).items():
            out[key].append(value)
    return dict(out)

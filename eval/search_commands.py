"""CLI: ``shopassist eval search`` (the offline search evaluation, ``eval.search_eval``)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    eval_app.command("search")(eval_search)


def eval_search(catalog: Path = typer.Option(..., help="Catalog file the loaders accept."),
                judgments: Path = typer.Option(..., help="CSV(.gz) with query_id,query,item_id,relevance."),
                catalog_map: Optional[str] = typer.Option(None, "--map", "--catalog-map",
                                                          help="Column mapping, e.g. id=product_uid,title=product_title"),
                out: Path = typer.Option(Path("results/search.json"), help="Where to write RESULT.json."),
                relevant_threshold: float = typer.Option(2.5, help="Relevance counted as a hit for Recall/MRR."),
                cache_dir: Path = typer.Option(Path("var/eval-cache"), help="Indexes cached by catalog hash."),
                max_queries: Optional[int] = typer.Option(None, help="Evaluate only the first N queries."),
                reuse_candidates: bool = typer.Option(
                    True, help="Reuse the cached candidates of these queries on these indexes (the same lists a "
                               "live run computes; `train reranker` caches them)."),
                reranker: Optional[Path] = typer.Option(
                    None, help="Re-ranker root (as `train reranker --out`): adds hybrid+rerank, cross-validated "
                               "on the queries it was trained on."),
                encoder: Optional[Path] = typer.Option(
                    None, help="A fine-tuned encoder (`train encoder` version folder, or its root: the newest good "
                               "one) for the dense side; default the packaged MiniLM."),
                heldout: bool = typer.Option(
                    False, "--heldout", help="Evaluate only the queries `train encoder` holds out (fold 0 of 5 by a "
                                             "hash of the query text; re-ranker fold 0)."),
                fusion_weight: Optional[float] = typer.Option(
                    None, help="Dense weight of the convex fusion (default: the one stored with --encoder, else FusionConfig's).")) -> None:
    """Evaluate bm25, dense and hybrid search (and hybrid+rerank) on graded judgments; prints a table, writes JSON."""
    from catalog.loaders import LoaderError, parse_mapping
    from catalog.settings import Settings
    from eval.search_eval import candidate_depth, evaluate, load_judgments, open_cached_search, print_table
    from retrieval.catalog_cache import cached_candidates, file_hash
    from retrieval.encoder_commands import encoder_option_embedder, fusion_for, meta_summary
    from retrieval.encoder_finetune import FinetuneConfig, is_heldout
    from retrieval.reranker import load_newest

    try:
        mapping = parse_mapping(catalog_map)
        judged = load_judgments(judgments)
    except LoaderError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    settings = Settings()
    try:
        embedder, encoder_meta = encoder_option_embedder(settings, encoder)
    except FileNotFoundError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    config = FinetuneConfig(**{k: v for k, v in ((encoder_meta or {}).get("config") or {}).items()
                               if k in FinetuneConfig.__dataclass_fields__})
    if heldout:
        judged.queries = {q: t for q, t in judged.queries.items() if is_heldout(t, config)}
    trained_on = sum(not is_heldout(t, config) for t in judged.queries.values()) if encoder_meta else 0
    if trained_on:
        typer.secho(f"warning: {trained_on} of these queries trained the encoder; use --heldout for honest numbers",
                    fg="yellow", err=True)
    if max_queries:
        keep = list(judged.queries)[:max_queries]
        judged.queries = {q: judged.queries[q] for q in keep}
    model = None
    if reranker is not None:
        model = load_newest(reranker, with_folds=True)
        if model is None:
            typer.secho(f"error: no usable re-ranker under {reranker}", fg="red", err=True)
            raise typer.Exit(2)
    fusion = fusion_for(encoder_meta, fusion_weight)
    try:
        engine, items, build_s = open_cached_search(catalog, mapping, cache_dir, embedder, fusion)
    except LoaderError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    candidates = cached_candidates(engine, judged.queries, cache_dir / file_hash(catalog, mapping),
                                   candidate_depth(engine)) if reuse_candidates else None
    metrics = evaluate(engine, judged, relevant_threshold, reranker=model, candidates=candidates)
    result = {"systems": metrics, "queries": len(judged.queries), "items": items,
              "encoder": embedder.name, "encoder_meta": meta_summary(encoder_meta),
              "fusion": engine.fusion.__dict__,
              "query_set": "held-out for the encoder (fold 0 of 5)" if heldout else "all given",
              "queries_encoder_trained_on": trained_on,
              "seconds": {"index": round(build_s, 1), "evaluate": round(time.perf_counter() - started, 1)},
              "relevant_threshold": relevant_threshold,
              "queries_with_relevant": sum(any(g >= relevant_threshold for g in judged.gains[qid].values())
                                           for qid in judged.queries)}
    if model is not None:
        seen = sum(model.fold_of(q) is not None for q in judged.queries.values())
        result["reranker"] = {
            "model": str(model.folder), "depth": model.depth, "training_cv": model.meta["cv"],
            "protocol": "hybrid+rerank re-orders the hybrid top-depth; a query the re-ranker was trained on is "
                        "scored by the fold model that did not train on it (query-level cross-validation), "
                        "any other query by the full model",
            "queries_cross_validated": seen, "queries_full_model": len(judged.queries) - seen}
    print_table(metrics, typer.echo)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    typer.echo(f"{len(judged.queries)} queries over {items} items; wrote {out}")

"""CLI: ingest, search and ``train reranker`` (the search evaluation is ``eval.search_commands``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from retrieval.encoder_commands import train_encoder


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("search")(search)
    sub_app(app, "train", "Train models.").command("reranker")(train_reranker)
    sub_app(app, "train", "Train models.").command("encoder")(train_encoder)


def sub_app(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-command group ``name`` of ``app``, created on first use (packages share ``train``)."""
    for group in app.registered_groups:
        if group.name == name:
            return group.typer_instance
    group = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def ingest(path: Path = typer.Argument(..., help="Catalog file: CSV/TSV/JSONL/Parquet, optionally .gz."),
           catalog_map: Optional[str] = typer.Option(None, "--map", help="Column mapping, e.g. id=sku,title=name,category=a+b"),
           no_enrich: bool = typer.Option(False, help="Skip attribute extraction and category assignment.")) -> None:
    """Load a catalog file into the store and both indexes. Safe to re-run: unchanged rows are skipped,
    changed rows updated, and an interrupted ingest is completed."""
    from catalog.loaders import LoaderError, parse_mapping
    from catalog.settings import Settings
    from retrieval.ingest import ingest_file

    try:
        report = ingest_file(Settings(), path, parse_mapping(catalog_map), enrich=not no_enrich)
    except LoaderError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    for error in report.errors[:20]:
        typer.secho(f"skipped {error}", fg="yellow", err=True)
    if len(report.errors) > 20:
        typer.secho(f"... and {len(report.errors) - 20} more bad rows", fg="yellow", err=True)
    typer.echo(f"{report.rows} rows: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
               f"{len(report.errors)} skipped; {report.embedded} embedded in {report.seconds:.1f} s "
               f"({report.products_per_second:.0f} products/s)")


def search(query: str = typer.Argument(..., help="What to look for."),
           k: int = typer.Option(10, help="How many results."),
           price_min: Optional[float] = typer.Option(None), price_max: Optional[float] = typer.Option(None),
           currency: Optional[str] = typer.Option(None, help="Currency of the price bounds, e.g. GBP."),
           brand: list[str] = typer.Option([], help="Only these brands (repeatable)."),
           exclude_brand: list[str] = typer.Option([], help="Not these brands (repeatable)."),
           category: Optional[str] = typer.Option(None, help="Category path contains this text."),
           mode: str = typer.Option("hybrid", help="hybrid | bm25 | dense"),
           as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Search the ingested catalog."""
    from catalog.currency import format_price
    from catalog.settings import Settings
    from retrieval.search import ProductSearch, SearchFilters

    engine = ProductSearch.from_settings(Settings())
    filters = SearchFilters(price_min=price_min, price_max=price_max, currency=currency,
                            brands=tuple(brand), brands_exclude=tuple(exclude_brand), category=category)
    hits = engine.search(query, filters, k, mode=mode)
    if as_json:
        typer.echo(json.dumps([{"id": h.product.id, "title": h.product.title, "price": h.product.price,
                                "currency": h.product.currency, "score": h.score, "scores": h.scores}
                               for h in hits], indent=2))
        return
    for rank, hit in enumerate(hits, 1):
        p = hit.product
        typer.echo(f"{rank:>3}. {p.title[:70]:<70} {format_price(p.price, p.currency):>12}  "
                   f"bm25={hit.scores.get('bm25', 0):.2f} dense={hit.scores.get('dense', 0):.3f}")
    if not hits:
        typer.echo("no products match; try fewer filters or other words")


def train_reranker(catalog: Path = typer.Option(..., help="Catalog file the loaders accept."),
                   judgments: Path = typer.Option(..., help="CSV(.gz) with query_id,query,item_id,relevance."),
                   catalog_map: Optional[str] = typer.Option(None, "--map", help="Column mapping, e.g. id=sku,title=name"),
                   out: Optional[Path] = typer.Option(None, help="Root of the versioned models "
                                                      "(default <data_dir>/models/reranker)."),
                   depth: int = typer.Option(200, help="Fused candidates re-ranked per query (200: measured in docs/search.md)."),
                   folds: int = typer.Option(5, help="Query-level cross-validation folds."),
                   rounds: int = typer.Option(300, help="Boosting rounds."),
                   threads: int = typer.Option(2, help="LightGBM threads."),
                   cache_dir: Path = typer.Option(Path("var/eval-cache"), help="Indexes cached by catalog hash "
                                                  "(shared with `eval search`)."),
                   encoder: Optional[Path] = typer.Option(None, help="Dense encoder of the candidates and features: a "
                                                          "`train encoder` version folder or root (default packaged)."),
                   fusion_weight: Optional[float] = typer.Option(None, help="Dense weight of the convex fusion "
                                                                 "(default: the one stored with --encoder)."),
                   cross_fit: list[Path] = typer.Option([], "--cross-fit", help="A `train encoder --exclude-folds` "
                                                        "version: the training queries of the folds it never saw get "
                                                        "their candidates and dense scores from it (repeatable).")
                   ) -> None:
    """Train the LightGBM LambdaMART re-ranker over the hybrid candidates of the judged queries;
    prints query-level cross-validated NDCG@10 and writes a new version under OUT."""
    from catalog.loaders import LoaderError, parse_mapping
    from catalog.settings import Settings
    from retrieval.catalog_cache import cached_candidates, file_hash, open_cached_search
    from retrieval.encoder_commands import encoder_option_embedder, fusion_for
    from retrieval.judgments import load_judgments
    from retrieval.rerank_train import build_dataset, fold_of, train
    from retrieval.reranker import query_key

    settings = Settings()
    try:
        mapping = parse_mapping(catalog_map)
        judged = load_judgments(judgments)
        embedder, encoder_meta = encoder_option_embedder(settings, encoder)
        fusion = fusion_for(encoder_meta, fusion_weight)
        search, items, _ = open_cached_search(catalog, mapping, cache_dir, embedder, fusion)
    except (LoaderError, FileNotFoundError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    folder = cache_dir / file_hash(catalog, mapping)
    candidates = cached_candidates(search, judged.queries, folder)
    crossed = {}
    for version in cross_fit:  # cross-fitting: dense scores as unseen queries will get them
        other, other_meta = encoder_option_embedder(settings, version)
        untrained = set((other_meta or {}).get("untrained_folds", ())) - {0}  # fold 0 stays the held-out fold
        if not untrained or other_meta["config"]["folds"] != folds:
            typer.secho(f"error: {version} is no cross-fitting encoder for {folds} folds (make one with "
                        "`train encoder --exclude-folds`)", fg="red", err=True)
            raise typer.Exit(2)
        other_search, _, _ = open_cached_search(catalog, mapping, cache_dir, other, search.fusion)
        picks = {qid: q for qid, q in judged.queries.items() if fold_of(query_key(q), folds) in untrained}
        candidates = {**candidates, **cached_candidates(other_search, picks, folder)}
        crossed[other.name] = sorted(untrained)
    products = {p.id: p for p in search.store.iter_products()}
    data = build_dataset(judged.queries, judged.gains, candidates, products, search.lexical, depth)
    rewriter = search.rewriter()
    about = {"catalog": str(catalog), "judgments": str(judgments), "items": items, "encoder": embedder.name,
             "fusion": search.fusion.__dict__, "rewrite": rewriter.config() if rewriter else None,
             "cross_fit": crossed}
    version = train(data, out or settings.data_dir / "models" / "reranker", depth, folds, threads, rounds,
                    about, typer.echo)
    meta = json.loads((version / "meta.json").read_text())
    cv = meta["cv"]
    typer.echo(f"cross-validated NDCG@10 over {cv['queries']} queries: hybrid {cv['hybrid_ndcg@10']:.4f} -> "
               f"rerank {cv['ndcg@10']:.4f} ({'good' if meta['good'] else 'NOT better: search will not use it'}); "
               f"trained in {meta['train_seconds']} s; wrote {version}")

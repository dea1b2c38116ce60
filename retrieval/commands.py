"""CLI: ingest, search and the offline search evaluation."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("search")(search)
    eval_app.command("search")(eval_search)


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


def eval_search(catalog: Path = typer.Option(..., help="Catalog file the loaders accept."),
                judgments: Path = typer.Option(..., help="CSV(.gz) with query_id,query,item_id,relevance."),
                catalog_map: Optional[str] = typer.Option(None, help="Column mapping, e.g. id=product_uid,title=product_title"),
                out: Path = typer.Option(Path("results/search.json"), help="Where to write RESULT.json."),
                relevant_threshold: float = typer.Option(2.5, help="Relevance counted as a hit for Recall/MRR."),
                cache_dir: Path = typer.Option(Path("var/eval-cache"), help="Indexes cached by catalog hash."),
                max_queries: Optional[int] = typer.Option(None, help="Evaluate only the first N queries.")) -> None:
    """Evaluate bm25, dense and hybrid search on graded judgments; prints a table, writes JSON."""
    from catalog.loaders import LoaderError, parse_mapping
    from catalog.settings import Settings
    from eval.search_eval import evaluate, load_judgments, open_cached_search, print_table
    from retrieval.embedder import Embedder
    from retrieval.search import FusionConfig

    try:
        mapping = parse_mapping(catalog_map)
        judged = load_judgments(judgments)
    except LoaderError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    if max_queries:
        keep = list(judged.queries)[:max_queries]
        judged.queries = {q: judged.queries[q] for q in keep}
    settings = Settings()
    embedder = Embedder(settings.embedding_model, threads=settings.torch_threads)
    try:
        engine, items, build_s = open_cached_search(catalog, mapping, cache_dir, embedder, FusionConfig())
    except LoaderError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    import time

    started = time.perf_counter()
    metrics = evaluate(engine, judged, relevant_threshold)
    result = {"systems": metrics, "queries": len(judged.queries), "items": items,
              "seconds": {"index": round(build_s, 1), "evaluate": round(time.perf_counter() - started, 1)},
              "relevant_threshold": relevant_threshold}
    print_table(metrics, typer.echo)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    typer.echo(f"{len(judged.queries)} queries over {items} items; wrote {out}")

"""CLI: ``shopassist train encoder`` — fine-tune the dense encoder, re-embed, check on held-out queries.

Steps (each resumable; the same command again continues where the last one stopped):

1. the catalog's cached store and packaged index (``retrieval.catalog_cache``, shared with ``eval search``);
2. hard negatives from BM25 and training (``retrieval.encoder_finetune``), checkpointed;
3. the catalog re-embedded by the new encoder into its own collection in that cache;
4. dense NDCG@10 / Recall@100 of both encoders on the held-out queries → ``meta.json`` (``good``);
5. the served store (``<data_dir>``), when it has products, re-embedded into the new encoder's
   collection, so ``ProductSearch.from_settings`` can serve it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def train_encoder(catalog: Path = typer.Option(..., help="Catalog file the loaders accept."),
                  judgments: Path = typer.Option(..., help="CSV(.gz) with query_id,query,item_id,relevance."),
                  catalog_map: Optional[str] = typer.Option(None, "--map", help="Column mapping, e.g. id=sku,title=name"),
                  out: Optional[Path] = typer.Option(None, help="Root of the versions (default <data_dir>/models/encoder)."),
                  epochs: float = typer.Option(1.0, help="Passes over the training triples."),
                  batch_size: int = typer.Option(64, help="Triples per batch (in-batch negatives)."),
                  learning_rate: float = typer.Option(5e-5),
                  max_positives: int = typer.Option(3, help="Positives per query."),
                  save_steps: int = typer.Option(50, help="Checkpoint every N steps."),
                  time_limit: Optional[float] = typer.Option(None, help="Stop after a checkpoint once this many "
                                                             "minutes passed (run again to resume)."),
                  threads: int = typer.Option(2, help="torch threads for training."),
                  exclude_folds: str = typer.Option("", help="More query folds (of 5, comma-separated) kept out of "
                                                    "training, e.g. 1,2: an encoder for `train reranker --cross-fit`."),
                  index_served: bool = typer.Option(True, help="Re-embed the served store's products too."),
                  cache_dir: Path = typer.Option(Path("var/eval-cache"), help="Indexes cached by catalog hash "
                                                 "(shared with `eval search`).")) -> None:
    """Fine-tune the dense encoder on the judgments (in-batch + BM25 hard negatives), never on the
    held-out queries (fold 0 of 5 by a hash of the query text); writes a new version under OUT."""
    from catalog.loaders import LoaderError, parse_mapping
    from catalog.settings import Settings
    from retrieval.catalog_cache import file_hash, open_cached_search
    from retrieval.embedder import default_model_path
    from retrieval.encoder_finetune import FinetuneConfig, finetune, mark_evaluated, training_triples
    from retrieval.encoder_versions import encoder_root
    from retrieval.encoders import make_embedder
    from retrieval.judgments import load_judgments
    from retrieval.search import FusionConfig

    settings = Settings()
    try:
        excluded = tuple(sorted({int(f) for f in exclude_folds.split(",") if f.strip()}))
    except ValueError:
        typer.secho(f"error: --exclude-folds takes fold numbers such as 1,2, not {exclude_folds!r}", fg="red", err=True)
        raise typer.Exit(2)
    config = FinetuneConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                            max_positives=max_positives, save_steps=save_steps, also_held_out=excluded)
    if not set(excluded) <= set(range(config.folds)) - {config.holdout_fold}:
        typer.secho(f"error: --exclude-folds must name folds 1..{config.folds - 1}", fg="red", err=True)
        raise typer.Exit(2)
    try:
        mapping = parse_mapping(catalog_map)
        judged = load_judgments(judgments)
        packaged = make_embedder(settings)
        search, items, _ = open_cached_search(catalog, mapping, cache_dir, packaged, FusionConfig())
    except LoaderError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    base = Path(settings.embedding_model) if settings.embedding_model else default_model_path()
    about = {"catalog": file_hash(catalog, mapping), "judgments": file_hash(judgments, None), "base": base.name,
             "base_encoder": packaged.name}
    root = out or encoder_root(settings)
    triples = None
    if not _run_has_triples(root, about, config):
        texts = {p.id: p.search_text() for p in search.store.iter_products()}
        bm25 = {qid: [pid for pid, _ in search.lexical.search(q, config.unjudged_to)]
                for qid, q in judged.queries.items()}
        triples = training_triples(judged.queries, judged.gains, texts, bm25, config)
    version = finetune(base, triples, root, about, config, threads=threads,
                       time_limit_s=time_limit * 60 if time_limit is not None else None, echo=typer.echo)
    if version is None:
        raise typer.Exit(3)
    tuned = make_embedder(settings, model_path=version)
    tuned_search, _, build_s = open_cached_search(catalog, mapping, cache_dir, tuned, FusionConfig())
    typer.echo(f"catalog re-embedded into {tuned_search.vectors.name} ({build_s:.0f} s)")
    heldout = {qid: q for qid, q in judged.queries.items() if _heldout(q, config)}
    before = dense_metrics(search, heldout, judged.gains)
    after = dense_metrics(tuned_search, heldout, judged.gains)
    meta = mark_evaluated(version, {"queries": len(heldout), "dense_ndcg@10_packaged": before[0],
                                    "dense_ndcg@10_finetuned": after[0], "dense_recall@100_packaged": before[1],
                                    "dense_recall@100_finetuned": after[1], "collection": tuned_search.vectors.name})
    typer.echo(f"held-out queries ({len(heldout)}): dense NDCG@10 {before[0]:.4f} -> {after[0]:.4f}, "
               f"Recall@100 {before[1]:.4f} -> {after[1]:.4f} ({'good' if meta['good'] else 'NOT better: not served'})")
    if index_served:
        _index_served(settings, tuned, typer.echo)
    typer.echo(f"wrote {version}")


def _heldout(query: str, config) -> bool:
    from retrieval.encoder_finetune import is_heldout

    return is_heldout(query, config)


def _run_has_triples(root: Path, about: dict, config) -> bool:
    from retrieval.encoder_finetune import run_key

    run = Path(root) / f".run-{run_key(about, config)}"
    return (run / "triples.jsonl").is_file() or (run / "done.json").is_file()


def dense_metrics(search, queries: dict[str, str], gains: dict, threshold: float = 2.5) -> tuple[float, float]:
    """Mean dense NDCG@10 and Recall@100 (relevance ≥ ``threshold``) over ``queries``."""
    from retrieval.rerank_train import ndcg10

    if not queries:
        return 0.0, 0.0
    ids = list(queries)
    vectors = search.embedder.encode([queries[q] for q in ids])
    ndcg = recall = 0.0
    for qid, vector in zip(ids, vectors):
        ranked = [pid for pid, _ in search.vectors.query(vector, 100)]
        ndcg += ndcg10(ranked, gains[qid])
        relevant = {p for p, g in gains[qid].items() if g >= threshold}
        recall += len(relevant & set(ranked)) / len(relevant) if relevant else 0.0
    return round(ndcg / len(ids), 4), round(recall / len(ids), 4)


def _index_served(settings, embedder, echo) -> None:
    """Re-embed the served store into ``embedder``'s collection (skipped when the store is empty)."""
    from catalog.store import Store
    from retrieval.ingest import IndexPaths, ingest_lock, sync_indexes
    from retrieval.vector_index import VectorIndex, open_client

    store = Store.from_settings(settings)
    if not store.count_products():
        echo(f"the served store ({settings.data_dir}) is empty: nothing more to re-embed")
        return
    paths = IndexPaths.for_settings(settings)
    vectors = VectorIndex(open_client(paths.chroma, settings.chroma_url), paths.collection(embedder), embedder)
    with ingest_lock(settings.data_dir, store):
        report = sync_indexes(store, vectors, embedder, paths.bm25)
    echo(f"served store: {report.embedded} products embedded into {vectors.name}")


def encoder_option_embedder(settings, encoder: Path | None):
    """The embedder ``--encoder DIR`` asks for (a version folder, or a root: its newest good version),
    with the version's meta (None for the packaged encoder)."""
    from retrieval.encoder_versions import encoder_folder, read_meta
    from retrieval.encoders import make_embedder

    if encoder is None:
        return make_embedder(settings), None
    folder = encoder_folder(encoder)
    return make_embedder(settings, model_path=folder), read_meta(folder)


def fusion_for(meta: dict | None, dense_weight: float | None):
    """``--fusion-weight`` if given, else the fusion stored with the encoder, else the default."""
    from retrieval.fusion import FusionConfig

    if dense_weight is not None:
        return FusionConfig(dense_weight=dense_weight)
    return FusionConfig(**meta["fusion"]) if meta and meta.get("fusion") else FusionConfig()


def meta_summary(meta: dict | None) -> dict | None:
    return None if meta is None else json.loads(json.dumps({k: meta.get(k) for k in ("created", "config", "heldout",
                                                                                        "triples", "steps", "fusion")}))

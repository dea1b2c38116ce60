"""Measure query rewriting (``retrieval.query_rewrite``) on graded judgments: bm25, dense and hybrid
NDCG@10 / Recall@100 with the query as typed and rewritten, on dev queries and on the held-out fold.

    python -m eval.search_rewrite --catalog ../shared/data/homedepot-search-relevance/products.csv.gz \\
        --judgments ../shared/data/homedepot-search-relevance/judgments.csv.gz --out results/search_rewrite.json

"held-out" is fold 0 of 5 by a hash of the query text (``retrieval.encoder_finetune.is_heldout``: the
fold no encoder or re-ranker fold model trains on); "dev" is the other folds. Rewriter settings are
chosen on dev only (``--grid``: BM25 alone over a few settings), then the chosen one is reported on
both. The vocabulary is the catalog's (the BM25 index's ``words``), never the queries.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from catalog.settings import Settings
from eval.metrics import ndcg_at_k, recall_at_k
from eval.search_eval import load_judgments, open_cached_search
from retrieval.encoder_commands import encoder_option_embedder, fusion_for
from retrieval.encoder_finetune import FinetuneConfig, is_heldout
from retrieval.fusion import fuse
from retrieval.lexical_index import word_text
from retrieval.query_rewrite import QueryRewriter, catalog_words

# searched one setting at a time from DEFAULT, in this order (each keeps the best so far)
GRID = {"max_distance": (1, 2), "short_length": (4, 5, 6), "min_length": (3, 4, 5), "split": (False, True),
        "rare_ratio": (0, 30), "units": (False, True)}
DEFAULT = {"max_distance": 2, "short_length": 5, "min_length": 4, "split": True, "rare_ratio": 0, "units": True}


def metrics(rankings: dict[str, list[str]], judged, qids: list[str], threshold: float) -> dict:
    ndcg = [ndcg_at_k(rankings[q][:10], judged.gains[q], 10) for q in qids]
    recall = [recall_at_k(rankings[q][:100], {i for i, g in judged.gains[q].items() if g >= threshold}, 100)
              for q in qids]
    return {"ndcg@10": round(float(np.mean(ndcg)), 4), "recall@100": round(float(np.mean(recall)), 4)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--judgments", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, default=Path("var/eval-cache"))
    parser.add_argument("--encoder", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("results/search_rewrite.json"))
    parser.add_argument("--grid", action="store_true", help="choose the rewriter settings on dev (BM25 alone)")
    parser.add_argument("--threshold", type=float, default=2.5)
    args = parser.parse_args(argv)

    judged = load_judgments(args.judgments)
    embedder, meta = encoder_option_embedder(Settings(), args.encoder)
    config = FinetuneConfig(**{k: v for k, v in ((meta or {}).get("config") or {}).items()
                               if k in FinetuneConfig.__dataclass_fields__})
    search, _, _ = open_cached_search(args.catalog, None, args.cache_dir, embedder, fusion_for(meta, None))
    fusion, depth = search.fusion, max(search.fusion.depth, 100)
    lexical = search.lexical
    words = lexical.words or catalog_words(word_text(p) for p in search.store.iter_products())
    folds = {"dev": [], "held-out": []}
    for qid, q in judged.queries.items():
        folds["held-out" if is_heldout(q, config) else "dev"].append(qid)
    result: dict = {"queries": {k: len(v) for k, v in folds.items()}, "fusion": fusion.__dict__,
                    "encoder": embedder.name, "catalog_words": len(words)}

    memo: dict[str, list] = {}  # BM25 ranking by query text: most queries are not rewritten

    def bm25_rankings(rewriter, qids):
        texts = {q: rewriter.rewrite(judged.queries[q]).text if rewriter else judged.queries[q] for q in qids}
        for text in texts.values():
            if text not in memo:
                memo[text] = lexical.search(text, depth)
        return texts, {q: memo[texts[q]] for q in qids}

    chosen = dict(DEFAULT)
    if args.grid:
        grid, seen = [], {}
        _, typed = bm25_rankings(None, folds["dev"])
        base = metrics({q: [p for p, _ in r] for q, r in typed.items()}, judged, folds["dev"], args.threshold)
        print("typed", base, flush=True)
        for name, values in GRID.items():
            for value in values:
                settings = {**chosen, name: value}
                key = json.dumps(settings, sort_keys=True)
                if key not in seen:
                    started = time.perf_counter()
                    rewriter = QueryRewriter(words, known_stem=lexical.knows_stem, stem=lexical.stem, **settings)
                    _, ranked = bm25_rankings(rewriter, folds["dev"])
                    seen[key] = {**settings, **metrics({q: [p for p, _ in r] for q, r in ranked.items()}, judged,
                                                       folds["dev"], args.threshold),
                                 "seconds": round(time.perf_counter() - started, 1)}
                    grid.append(seen[key])
                    print(seen[key], flush=True)
            best = max((seen[json.dumps({**chosen, name: v}, sort_keys=True)] for v in values),
                       key=lambda r: r["ndcg@10"])
            chosen = {k: best[k] for k in DEFAULT}
        result["grid_dev_bm25"] = {"typed": base, "settings": grid, "chosen": chosen}

    rewriter = QueryRewriter(words, known_stem=lexical.knows_stem, stem=lexical.stem, **chosen)
    result["rewriter"] = rewriter.config()
    everything = folds["dev"] + folds["held-out"]
    typed_text, typed_bm25 = bm25_rankings(None, everything)
    new_text, new_bm25 = bm25_rankings(rewriter, everything)
    changed = [q for q in everything if new_text[q] != typed_text[q]]
    dense_typed, dense_new = {}, {}
    for q in tqdm(everything, desc="dense"):
        dense_typed[q] = search.vectors.query(search.embedder.encode([typed_text[q]])[0], depth)
    for q in tqdm(changed, desc="dense, rewritten"):
        dense_new[q] = search.vectors.query(search.embedder.encode([new_text[q]])[0], depth)
    variants = {
        "typed": (typed_bm25, dense_typed),
        "rewritten bm25, typed dense": (new_bm25, dense_typed),
        "rewritten bm25 and dense": (new_bm25, {q: dense_new.get(q, dense_typed[q]) for q in everything}),
    }
    for name, (bm25, dense) in variants.items():
        rankings = {"bm25": {q: [p for p, _ in bm25[q]] for q in everything},
                    "dense": {q: [p for p, _ in dense[q]] for q in everything}}
        fused = {q: fuse(bm25[q], dense[q], fusion) for q in everything}
        rankings["hybrid"] = {q: sorted(f, key=f.__getitem__, reverse=True) for q, f in fused.items()}
        result[name] = {fold: {system: metrics(r, judged, qids, args.threshold) for system, r in rankings.items()}
                        for fold, qids in folds.items()}
    result["rewritten_queries"] = {fold: sum(new_text[q] != typed_text[q] for q in qids) for fold, qids in folds.items()}
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()

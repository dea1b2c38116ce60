"""Choose the fusion method and weights on half of the judged queries; report the other half.

    python -m eval.tune_fusion --catalog ../shared/data/homedepot-search-relevance/products.csv.gz \
        --judgments ../shared/data/homedepot-search-relevance/judgments.csv.gz

Candidates of both systems are computed once per query; every setting is then scored from them.
Queries are split by a hash of their id (stable, no leakage between halves).

With a fine-tuned encoder (``--encoder DIR``, a ``shopassist train encoder`` version) the split is the
encoder's instead: tune on the queries it was trained on, report on the ones it held out (fold 0
of 5 by a hash of the query text), so the held-out numbers stay untouched by both steps. (Dense
looks better on its own training queries, so the weight chosen this way leans towards dense.)
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eval.metrics import ndcg_at_k
from eval.search_eval import load_judgments, open_cached_search
from catalog.settings import Settings
from retrieval.encoder_commands import encoder_option_embedder
from retrieval.encoder_finetune import FinetuneConfig, is_heldout, update_meta
from retrieval.encoder_versions import encoder_folder
from retrieval.fusion import FusionConfig, fuse

GRID = {
    "rrf": [dict(k=k, bm25_weight=1.0, dense_weight=w) for k in (5, 10, 20, 60) for w in (0.3, 0.5, 0.7, 1.0)],
    "convex": [dict(bm25_weight=1.0, dense_weight=w) for w in (0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)],
}
DEPTHS = (50, 100, 200, 300)


def half(query_id: str) -> str:
    return "tune" if int(hashlib.sha256(query_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def score(config: FusionConfig, cached: dict, gains: dict, qids: list[str]) -> float:
    values = []
    for qid in qids:
        lexical, dense = cached[qid]
        fused = fuse(lexical[: config.depth], dense[: config.depth], config)
        ranked = sorted(fused, key=fused.__getitem__, reverse=True)[:10]
        values.append(ndcg_at_k(ranked, gains[qid], 10))
    return float(np.mean(values))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--judgments", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, default=Path("var/eval-cache"))
    parser.add_argument("--out", type=Path, default=Path("results/fusion_tuning.json"))
    parser.add_argument("--encoder", type=Path, default=None, help="a fine-tuned encoder (version folder or root)")
    parser.add_argument("--convex-only", action="store_true", help="only convex fusion at depth 200 (quick)")
    parser.add_argument("--heldout-split", action="store_true", help="also for the packaged encoder: tune on "
                        "folds 1-4, report fold 0 (the held-out fold of `eval search --heldout`)")
    parser.add_argument("--save", action="store_true", help="store the chosen fusion in the encoder version's "
                        "meta.json (search then serves it with that encoder)")
    args = parser.parse_args(argv)

    judged = load_judgments(args.judgments)
    embedder, meta = encoder_option_embedder(Settings(), args.encoder)
    search, _, _ = open_cached_search(args.catalog, None, args.cache_dir, embedder, FusionConfig())
    cached = {}
    for qid, query in tqdm(judged.queries.items(), desc="candidates"):
        lexical = search.lexical.search(search.rewritten(query), max(DEPTHS))  # as served (retrieval.query_rewrite)
        dense = search.vectors.query(search.embedder.encode([search.dense_text(query)])[0], max(DEPTHS))
        cached[qid] = (lexical, dense)
    halves = {"tune": [], "test": []}
    config = FinetuneConfig(**{k: v for k, v in ((meta or {}).get("config") or {}).items()
                               if k in FinetuneConfig.__dataclass_fields__})
    for qid, query in judged.queries.items():
        by_fold = meta is not None or args.heldout_split
        part = ("test" if is_heldout(query, config) else "tune") if by_fold else half(qid)
        halves[part].append(qid)

    rows = []
    grid = {"convex": GRID["convex"]} if args.convex_only else GRID
    for method, options in grid.items():
        for params, depth in itertools.product(options, (200,) if args.convex_only else DEPTHS):
            config = FusionConfig(method=method, depth=depth, **params)
            rows.append((score(config, cached, judged.gains, halves["tune"]), config))
    rows.sort(key=lambda r: r[0], reverse=True)
    best_tune, best = rows[0]
    baselines = {name: FusionConfig(method="rrf", bm25_weight=b, dense_weight=d, depth=200)
                 for name, b, d in (("bm25", 1.0, 0.0), ("dense", 0.0, 1.0), ("rrf-60-equal", 1.0, 1.0))}
    result = {
        "encoder": embedder.name,
        "split": "folds 1-4 / held-out fold 0" if meta is not None or args.heldout_split else "query-id hash halves",
        "queries": {k: len(v) for k, v in halves.items()},
        "best": best.__dict__,
        "ndcg@10": {"tune": round(best_tune, 4), "test": round(score(best, cached, judged.gains, halves["test"]), 4)},
        "baselines_test": {n: round(score(c, cached, judged.gains, halves["test"]), 4) for n, c in baselines.items()},
        "top5_tune": [{"config": c.__dict__, "ndcg@10": round(s, 4)} for s, c in rows[:5]],
    }
    if args.save and meta is not None:
        update_meta(encoder_folder(args.encoder), fusion=best.__dict__)
        result["saved_to"] = str(encoder_folder(args.encoder))
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()

"""Latency of full assistant turns: time to the product list (template explanations) and to the final reply.

For each LLM profile the benchmark builds one :class:`assistant.agent.ShoppingAssistant` on an ingested
catalog, warms it up (model load, first query), then plays short multi-turn shopping conversations
through ``respond_stream`` and records, per shopping turn:

* ``first_s`` — until the first yielded Reply (products + template explanations): target p50 ≤ 1 s;
* ``full_s`` — until the final Reply (LLM explanations fact-checked): target p50 ≤ 8 s (qwen1.5b),
  ≤ 3 s (smollm2).

It also reports the share of LLM explanations that passed the fact checker, and the CPU seconds of
each turn (``*_cpu_*``): on a shared machine wall time measures the neighbours; with
``--llm-threads 1 --torch-threads 1`` CPU seconds are what the turn costs on an idle core.

Run (the demo catalog ingested into ``var`` by ``shopassist demo``)::

    python -m eval.turn_bench --data-dir var --profiles qwen1.5b smollm2 --out results/turn_bench.json

or ingest a catalog first into a scratch folder::

    python -m eval.turn_bench --data-dir /tmp/bench --catalog data/demo/products.jsonl

Prints p50/p95 per profile and writes the raw timings to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

CONVERSATIONS: tuple[tuple[str, ...], ...] = (  # over the demo catalog (data/demo/products.jsonl)
    ("black watches for men", "under 1500 rupees", "not that brand"),
    ("board games for kids under £20", "cheaper"),
    ("women's sandals under 800 rupees", "in black", "show more"),
    ("thomas the tank engine toys", "show more"),
    ("red sarees under 2000 rupees", "cheaper"),
    ("wrist watch under 2000 rs", "not that brand"),
    ("kurtas for women", "in blue"),
    ("jigsaw puzzles", "under £15", "compare the first two"),
)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def bench_profile(settings, profile: str, conversations, llm_explanations: int) -> dict:
    """Run the conversations with one LLM profile; returns timings and explanation counts."""
    from assistant.agent import ShoppingAssistant

    profile_settings = settings.model_copy(update={"llm_profile": profile})
    started = time.perf_counter()
    assistant = ShoppingAssistant.from_settings(profile_settings, llm_explanations=llm_explanations)
    list(assistant.respond_stream(f"warm-{uuid.uuid4().hex[:8]}", "red shoes"))  # loads every part once
    warm_s = time.perf_counter() - started
    explainer = assistant.parts.explainer
    explainer.stats.llm_attempted = explainer.stats.llm_passed = explainer.stats.llm_errors = 0
    explainer.stats.rejected = []
    turns = []
    for conversation in conversations:
        session = f"bench-{uuid.uuid4().hex[:10]}"
        for message in conversation:
            t0, c0 = time.perf_counter(), time.process_time()
            first = first_cpu = None
            reply = None
            for reply in assistant.respond_stream(session, message):
                if first is None:
                    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            full, full_cpu = time.perf_counter() - t0, time.process_time() - c0
            turns.append({"message": message, "intent": reply.intent, "products": len(reply.products),
                          "llm_explanations": sum(p.explanation_source == "llm" for p in reply.products),
                          "first_s": round(first, 3), "full_s": round(full, 3),
                          "first_cpu_s": round(first_cpu, 3), "full_cpu_s": round(full_cpu, 3)})
            print(f"  [{profile}] {message!r}: {reply.intent}, {len(reply.products)} products, "
                  f"first {first:.2f}s (cpu {first_cpu:.2f}s), full {full:.2f}s (cpu {full_cpu:.2f}s)",
                  file=sys.stderr, flush=True)
    assistant.close()
    shopping = [t for t in turns if t["products"]]
    stats = explainer.stats
    return {
        "profile": profile, "warmup_s": round(warm_s, 2), "turns": turns,
        "shopping_turns": len(shopping),
        "first_p50_s": round(percentile([t["first_s"] for t in shopping], 50), 3),
        "first_p95_s": round(percentile([t["first_s"] for t in shopping], 95), 3),
        "full_p50_s": round(percentile([t["full_s"] for t in shopping], 50), 3),
        "full_p95_s": round(percentile([t["full_s"] for t in shopping], 95), 3),
        # CPU seconds of this process: with 1 LLM thread and 1 torch thread, what the turn costs on an
        # otherwise idle core (the shared development machine often has a load of 8-12 on 2 cores)
        "first_cpu_p50_s": round(percentile([t["first_cpu_s"] for t in shopping], 50), 3),
        "first_cpu_p95_s": round(percentile([t["first_cpu_s"] for t in shopping], 95), 3),
        "full_cpu_p50_s": round(percentile([t["full_cpu_s"] for t in shopping], 50), 3),
        "full_cpu_p95_s": round(percentile([t["full_cpu_s"] for t in shopping], 95), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "llm_attempted": stats.llm_attempted, "llm_passed": stats.llm_passed, "llm_errors": stats.llm_errors,
        "llm_pass_rate": round(stats.pass_rate, 3),
        "rejected_examples": [{"sentence": s, "problems": p} for s, p in stats.rejected[-10:]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="Folder with the ingested catalog.")
    parser.add_argument("--catalog", type=Path, help="Ingest this catalog file into --data-dir first.")
    parser.add_argument("--profiles", nargs="+", default=["qwen1.5b", "smollm2"])
    parser.add_argument("--llm-explanations", type=int, default=3, help="Top picks explained by the LLM.")
    parser.add_argument("--conversations", type=int, default=len(CONVERSATIONS), help="How many to play.")
    parser.add_argument("--llm-threads", type=int, default=2)
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/turn_bench.json"))
    args = parser.parse_args(argv)

    from catalog.settings import Settings

    settings = Settings(data_dir=args.data_dir, llm_threads=args.llm_threads, torch_threads=args.torch_threads)
    if args.catalog:
        from retrieval.ingest import ingest_file

        ingest_file(settings, args.catalog, progress=False)
    if not (args.data_dir / "shopassist.db").exists() and not settings.database_url:
        print(f"no catalog in {args.data_dir}: run `shopassist demo` or pass --catalog FILE", file=sys.stderr)
        return 2
    results = []
    for profile in args.profiles:
        result = bench_profile(settings, profile, CONVERSATIONS[:args.conversations], args.llm_explanations)
        results.append(result)
        print(f"{profile:>10}: products p50 {result['first_p50_s']:.2f}s p95 {result['first_p95_s']:.2f}s | "
              f"full turn p50 {result['full_p50_s']:.2f}s p95 {result['full_p95_s']:.2f}s | "
              f"CPU-seconds: products p50 {result['first_cpu_p50_s']:.2f} p95 {result['first_cpu_p95_s']:.2f}, "
              f"full p50 {result['full_cpu_p50_s']:.2f} p95 {result['full_cpu_p95_s']:.2f} | "
              f"LLM explanations passing {result['llm_passed']}/{result['llm_attempted']} "
              f"({result['shopping_turns']} shopping turns, warm-up {result['warmup_s']:.1f}s, "
              f"load average {result['load_average'][0]})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": {"llm_threads": args.llm_threads, "torch_threads": args.torch_threads,
                                                 "llm_explanations": args.llm_explanations},
                                    "results": results}, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

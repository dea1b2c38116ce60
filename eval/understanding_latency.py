"""Latency benchmark of understanding (a script, not a timed test).

Measures, on the user turns of a conversation JSONL:

- rules + classifier only (the common case): p50/p90 per message;
- how many turns would ask the LLM at the default threshold (the fallback rate);
- forced LLM fallback (``llm_threshold=1.01``) on the ``--llm-messages`` least confident turns that
  name no product (the ones that reach the LLM in practice) for one profile:
  p50/p90 per message, model load time, and how many answers validated (``source == "llm"``).

    python -m eval.understanding_latency --data data/conversations/dev.jsonl --profile qwen1.5b \\
        --llm-messages 5 --threads 2 --out results/understanding_latency_qwen.json

Report the machine load with the numbers: on 2 shared cores LLM timings vary several-fold.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "n": 0}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, max(0, math.ceil(0.9 * len(ordered)) - 1))]
    return {"p50": round(statistics.median(ordered), 4), "p90": round(p90, 4),
            "n": len(ordered)}


def run(data: Path, profile: str | None, llm_messages: int, threads: int, bitext_train: Path | None,
        data_dir: Path) -> dict[str, Any]:
    """Run the benchmark and return the result dict (see the module docstring)."""
    from assistant.llm import LLMProvider
    from assistant.understanding.understand import Understander
    from catalog.settings import Settings
    from eval.conversation_eval import read_conversations
    from eval.conversation_runners import catalog_vocabulary

    settings = Settings(data_dir=data_dir, llm_threads=threads)
    messages = [t["user"] for c in read_conversations(data) for t in c["turns"]]
    vocab = catalog_vocabulary(settings)
    understander = Understander.from_settings(settings, vocab=vocab, bitext_train=bitext_train)
    understander.understand_rules("warm up")
    rules_times, would_ask, candidates = [], 0, []
    for message in messages:
        started = time.perf_counter()
        request = understander.understand_rules(message)
        rules_times.append(time.perf_counter() - started)
        would_ask += request.confidence < understander.llm_threshold and not request.slots.has_product_signal()
        if not request.slots.has_product_signal():  # the LLM is never asked when a product is named
            candidates.append((request.confidence, message))
    llm_inputs = [m for _, m in sorted(candidates)]  # least confident first: what really reaches the LLM
    result: dict[str, Any] = {"data": str(data), "messages": len(messages), "cpu_count": os.cpu_count(),
                              "load_average_before": os.getloadavg(), "rules_classifier_s": _percentiles(rules_times),
                              "llm_fallback_rate_at_default_threshold": round(would_ask / max(1, len(messages)), 4)}
    if profile and llm_messages > 0:
        llm = LLMProvider.from_settings(settings, profile=profile)
        started = time.perf_counter()
        llm.chat_model  # noqa: B018 - load now, timed separately
        load_s = time.perf_counter() - started
        forced = Understander(understander.classifier, vocab, llm=llm, llm_threshold=1.01)
        times, valid, samples = [], 0, []
        for message in llm_inputs[:llm_messages]:
            started = time.perf_counter()
            request = forced.understand(message)
            times.append(time.perf_counter() - started)
            valid += request.source == "llm"
            samples.append({"message": message, "intent": request.intent, "source": request.source,
                            "llm_error": request.llm_error, "seconds": round(times[-1], 2)})
        result["llm"] = {"profile": profile, "describe": llm.describe(), "load_s": round(load_s, 2),
                         "forced_fallback_s": _percentiles(times), "validated": valid, "asked": len(times),
                         "samples": samples, "load_average_after": os.getloadavg()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/conversations/dev.jsonl"))
    parser.add_argument("--profile", default=None, help="qwen1.5b | smollm2 | ... (omit: rules only)")
    parser.add_argument("--llm-messages", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train", type=Path, default=None, help="Bitext train.csv")
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.data, args.profile, args.llm_messages, args.threads, args.train, args.data_dir)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

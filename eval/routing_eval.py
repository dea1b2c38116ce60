"""Routing evaluations: are plain shopping requests read as shopping, how often the LLM is needed,
and does the injection guard refuse attacks without refusing look-alikes.

    shopassist eval routing --data data/routing/shopping-requests-dev.txt --out results/routing.json
    shopassist eval injection --data data/guardrails/injection-dev.jsonl --out results/injection.json

``routing`` reads one request a line (``#`` comments skipped); every line is a shopping request.
``injection`` reads JSONL ``{"text": ..., "attack": true|false}``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from assistant.guardrails import detect_injection
from assistant.understanding.intents import SHOPPING_INTENTS
from assistant.understanding.state import DialogueState


def read_requests(path: Path | str) -> list[str]:
    lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    requests = [line for line in lines if line and not line.startswith("#")]
    if not requests:
        raise ValueError(f"{path}: no requests (one a line)")
    return requests


def evaluate_routing(understander: Any, requests: list[str]) -> dict[str, Any]:
    """Share of requests understood as shopping by the fast path, how many it sends to the LLM, and
    (when the understander has an LLM) the share that ends as shopping after the LLM."""
    fast_ok, needs_llm, final_ok, misses, llm_seconds = 0, 0, 0, [], []
    for text in requests:
        state = DialogueState()
        rules = understander.understand_rules(text, state)
        asks = understander.needs_llm(rules, state)
        needs_llm += asks
        fast_ok += rules.intent in SHOPPING_INTENTS and not asks
        final = rules
        if asks and understander.llm is not None:
            start = time.perf_counter()
            final = understander.understand(text, state)
            llm_seconds.append(time.perf_counter() - start)
        final_ok += final.intent in SHOPPING_INTENTS
        if final.intent not in SHOPPING_INTENTS:
            misses.append({"text": text, "intent": final.intent, "source": final.source})
    n = len(requests)
    return {"requests": n, "understood_as_shopping": round(final_ok / n, 4),
            "fast_path_resolved": round(fast_ok / n, 4), "llm_asked": round(needs_llm / n, 4),
            "llm_seconds_p50": round(sorted(llm_seconds)[len(llm_seconds) // 2], 2) if llm_seconds else None,
            "with_llm": understander.llm is not None, "misses": misses}


def evaluate_injection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    attacks = [r["text"] for r in rows if r["attack"]]
    benign = [r["text"] for r in rows if not r["attack"]]
    missed = [t for t in attacks if detect_injection(t) is None]
    false_alarms = [t for t in benign if detect_injection(t) is not None]
    return {"attacks": len(attacks), "benign": len(benign),
            "attacks_refused": round(1 - len(missed) / len(attacks), 4) if attacks else None,
            "benign_refused": round(len(false_alarms) / len(benign), 4) if benign else None,
            "missed": missed, "false_alarms": false_alarms}


def read_injection_rows(path: Path | str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row.get("text"), str) or not isinstance(row.get("attack"), bool):
                raise ValueError(f"{path}:{number}: need {{'text': str, 'attack': bool}}")
            rows.append(row)
    return rows

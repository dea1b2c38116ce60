"""Conversation evaluation: intent accuracy, slot P/R/F1 per slot and overall, explanation faithfulness.

``shopassist eval conversations --data JSONL --out RESULT.json`` calls :func:`evaluate_conversations`.
Each JSONL line is one conversation::

    {"id": "c1", "turns": [{"user": "red sneakers under $80", "expect": {"intent": "search",
                            "slots": {"colour": "red", "category": "sneakers", "price_max": 80}}}, ...]}

Expected slots are the *effective* slots after the turn (what the search uses: merged across turns
for shopping intents; the message's own slots, e.g. ``order_id``, for customer-service turns).
Comparison is on (slot, value) pairs after :func:`normalise_slots`: lower case; prices and quantities
as numbers; lists as sets (each element one pair); singular/plural-insensitive categories; "gray" =
"grey"; sizes "medium" = "m", "UK 8" = "8". Always scored: category, brands, brands_exclude, colour,
size, price_min, price_max, exclude_words, sort, quantity, order_id. ``keywords`` and ``currency`` are
scored only in turns whose ``expect.slots`` name them (free words are hard to annotate exhaustively).
A slot given as ``null`` in ``expect.slots`` is "don't care" for that turn (e.g. a cap after "cheaper"
that depends on the prices shown).

Runs the full assistant (``assistant.agent.ShoppingAssistant``) when it can be built, else the
understanding + dialogue-state path alone (the result's ``mode`` says which; in that mode nothing is
shown, so faithfulness is null).
"""
from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.understanding.vocabulary import SIZE_WORDS, Vocabulary, singular_phrase

ALWAYS_SCORED = ("category", "brands", "brands_exclude", "colour", "size", "price_min", "price_max",
                 "exclude_words", "sort", "quantity", "order_id")
OPTIONAL_SCORED = ("keywords", "currency")
ALIASES = {"color": "colour", "brand": "brands", "excluded_brands": "brands_exclude", "exclude_brands": "brands_exclude",
           "brand_exclude": "brands_exclude", "excluded_words": "exclude_words", "exclude": "exclude_words",
           "min_price": "price_min", "max_price": "price_max", "order": "order_id", "orderid": "order_id",
           "keyword": "keywords", "qty": "quantity", "sort_by": "sort"}
_NUMERIC = ("price_min", "price_max", "quantity")


def _norm_value(slot: str, value: Any) -> Any:
    if slot in _NUMERIC:
        match = re.search(r"\d+(?:\.\d+)?", str(value).replace(",", ""))
        return float(match.group(0)) if match else str(value).lower()
    text = " ".join(str(value).lower().replace("’", "'").split())
    if slot == "category":
        return singular_phrase(text.replace("-", " ").replace("&", " ").replace("  ", " "))
    if slot == "colour":
        return Vocabulary.canonical_colour(text) or text
    if slot == "size":
        text = re.sub(r"^(?:uk|us|eu|size)\s*", "", text)
        return SIZE_WORDS.get(text, text)
    if slot == "order_id":
        return text.lstrip("#")
    if slot in ("exclude_words", "keywords"):
        return singular_phrase(text)
    return text


def normalise_slots(slots: dict[str, Any] | None) -> dict[str, set[Any] | None]:
    """{slot: set of normalised values, or None for "don't care"}; empty values dropped."""
    out: dict[str, set[Any] | None] = {}
    for key, value in (slots or {}).items():
        slot = ALIASES.get(key.lower(), key.lower())
        if value is None:
            out[slot] = None
            continue
        values = value if isinstance(value, (list, tuple, set)) else [value]
        normalised = {_norm_value(slot, v) for v in values if v not in (None, "", [])}
        if normalised:
            out[slot] = normalised
    return out


def score_turn(expected: dict[str, Any], predicted: dict[str, Any], counts: dict[str, Counter]) -> None:
    """Add this turn's true/false positives and false negatives per slot into ``counts``."""
    exp, pred = normalise_slots(expected), normalise_slots(predicted)
    for slot in (*ALWAYS_SCORED, *[s for s in OPTIONAL_SCORED if s in exp]):
        if slot in exp and exp[slot] is None:
            continue
        e, p = exp.get(slot) or set(), pred.get(slot) or set()
        counts[slot]["tp"] += len(e & p)
        counts[slot]["fp"] += len(p - e)
        counts[slot]["fn"] += len(e - p)


def prf(c: Counter) -> dict[str, float]:
    """Precision, recall, F1 and support from tp/fp/fn counts (0 when undefined)."""
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": c["tp"] + c["fn"]}


def read_conversations(path: str | Path) -> list[dict[str, Any]]:
    """Parse the JSONL file; raises ValueError naming the line that is malformed."""
    conversations = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            assert isinstance(item.get("turns"), list) and all("user" in t for t in item["turns"])
        except (json.JSONDecodeError, AssertionError, AttributeError) as exc:
            raise ValueError(f"{path}:{number}: expected {{\"id\": …, \"turns\": [{{\"user\": …, \"expect\": "
                             f"{{\"intent\": …, \"slots\": {{…}}}}}}]}}") from exc
        conversations.append(item)
    return conversations


def evaluate_conversations(data: str | Path, runner: Any, limit: int | None = None) -> dict[str, Any]:
    """Run every conversation through ``runner`` (see :mod:`eval.conversation_runners`) and score it."""
    conversations = read_conversations(data)[:limit]
    counts: dict[str, Counter] = {s: Counter() for s in (*ALWAYS_SCORED, *OPTIONAL_SCORED)}
    intents_ok = intents_n = 0
    latencies: list[float] = []
    explanations = Counter()
    confusion: Counter = Counter()
    failures: list[dict[str, Any]] = []
    for conversation in conversations:
        session = runner.new_session(str(conversation.get("id", uuid.uuid4().hex)))
        for index, turn in enumerate(conversation["turns"]):
            started = time.perf_counter()
            outcome = runner.turn(session, turn["user"])
            latencies.append(time.perf_counter() - started)
            for key in ("shown", "llm", "passed"):
                explanations[key] += outcome.get(f"explanations_{key}", 0)
            expect = turn.get("expect") or {}
            if "intent" in expect:
                intents_n += 1
                ok = outcome["intent"] == expect["intent"]
                intents_ok += ok
                if not ok:
                    confusion[(expect["intent"], outcome["intent"])] += 1
            if "slots" in expect:
                before = {s: Counter(c) for s, c in counts.items()}
                score_turn(expect["slots"], outcome["slots"], counts)
                wrong = any(counts[s]["fp"] + counts[s]["fn"] > before[s]["fp"] + before[s]["fn"] for s in counts)
                if wrong or ("intent" in expect and outcome["intent"] != expect["intent"]):
                    failures.append({"id": conversation.get("id"), "turn": index, "user": turn["user"],
                                     "expect": expect, "got": {"intent": outcome["intent"], "slots": outcome["slots"]}})
    total = sum((c for c in counts.values()), Counter())
    per_slot = {s: prf(c) for s, c in counts.items() if c["tp"] + c["fp"] + c["fn"]}
    return {
        "data": str(data), "mode": runner.mode, "llm": runner.llm_description, "conversations": len(conversations),
        "turns": len(latencies),
        "intent_accuracy": round(intents_ok / intents_n, 4) if intents_n else None,
        "slots": {"overall": prf(total), "per_slot": per_slot},
        "faithfulness": {"explanations_shown": explanations["shown"], "from_llm": explanations["llm"],
                         "passed_checker": explanations["passed"],
                         "rate": round(explanations["passed"] / explanations["shown"], 4) if explanations["shown"]
                         else None,
                         "llm_share": round(explanations["llm"] / explanations["shown"], 4) if explanations["shown"]
                         else None},
        "latency_s": {"p50": round(statistics.median(latencies), 4) if latencies else None,
                      "p90": round(sorted(latencies)[max(0, -(-9 * len(latencies) // 10) - 1)], 4) if latencies else None},
        "llm_calls": getattr(runner, "llm_calls", 0),
        "intent_confusions": [{"expected": e, "got": g, "n": n} for (e, g), n in confusion.most_common(20)],
        "failures": failures[:60],
    }


def print_report(result: dict[str, Any], console: Any = None) -> None:
    """A rich table of per-slot P/R/F1 and the headline numbers."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Conversations {result['data']} — {result['turns']} turns, mode: {result['mode']}")
    for column in ("slot", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "slot" else "right")
    rows = dict(result["slots"]["per_slot"])
    rows["OVERALL"] = result["slots"]["overall"]
    for slot, row in rows.items():
        table.add_row(slot, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    console.print(table)
    faith = result["faithfulness"]
    console.print(f"intent accuracy {result['intent_accuracy']}   slot F1 {result['slots']['overall']['f1']:.4f}   "
                  f"turn latency p50 {result['latency_s']['p50']} s   LLM calls {result['llm_calls']}")
    console.print(f"explanations: {faith['explanations_shown']} shown, {faith['from_llm']} from the LLM, "
                  f"faithfulness {faith['rate']}" if faith["explanations_shown"] else
                  "explanations: none shown (understanding-only mode or no products): faithfulness n/a")

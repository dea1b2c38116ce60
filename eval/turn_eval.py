"""``shopassist eval turns``: play whole conversations through the served assistant and judge every turn.

The data is JSONL, one conversation a line::

    {"id": "gift-dino", "user_id": "demo-tom",          # user_id optional
     "turns": [{"user": "a present for a 7 year old who loves dinosaurs, under 20 pounds",
                "route": "products", "need": "dinosaur|dino", "price_max": 20, "currency": "GBP"}]}

``route`` is what the turn should do: ``products`` (a product list), ``answer`` (a policy answer
quoted from the knowledge base), ``escalate`` (a ticket), ``refuse`` (no products, no ticket),
``no_match`` (say the shop does not carry it; anything shown is a labelled alternative matching
``substitute``), ``compare``, ``product_question`` (about a shown item), or ``any``. ``forbid`` is
text the reply must never contain, whatever the route.

A shown product is *relevant* when its title + category path match ``need`` (a case-insensitive
regex), its price converted to ``currency`` is at most ``price_max``, it carries ``colour`` (a whole
word in its title, attributes or description) and its title/brand does not match ``exclude``.
precision@5 = relevant shown / shown (at most 5; nothing shown = 0). A turn is *good* when the route
is right and, for product routes, precision@5 ≥ 0.6.

The judge (:func:`judge_turn`) only reads the :class:`assistant.types.Reply` and the product records,
so it is the same for any assistant configuration. :func:`evaluate_turns` drives a
``ShoppingAssistant`` (``respond_stream``: the time to the first reply with products is measured
separately from the full turn) and counts LLM calls by purpose through a counting wrapper.
"""
from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.currency import convert

ROUTES = ("products", "answer", "escalate", "refuse", "no_match", "compare", "product_question", "any")
PRODUCT_ROUTES = ("products", "no_match")
GOOD_PRECISION = 0.6
NO_MATCH_WORDS = re.compile(r"\b(?:don't|do not|doesn't|does not) (?:carry|sell|stock|have)\b|\bno (?:products?|items?) "
                            r"(?:match|like)|\bnothing (?:like|that|of)|\bnot (?:carry|sell|stock)|\bcouldn't find any\b",
                            re.I)


@dataclass
class TurnSpec:
    """One scripted turn and what it must do (see the module docstring)."""

    user: str
    route: str = "any"
    need: str | None = None
    substitute: str | None = None
    price_max: float | None = None
    currency: str | None = None
    colour: str | None = None
    exclude: str | None = None
    forbid: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> "TurnSpec":
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        if not isinstance(raw.get("user"), str) or not raw["user"].strip():
            raise ValueError(f"{where}: every turn needs a non-empty 'user' message")
        spec = cls(**raw)
        if spec.route not in ROUTES:
            raise ValueError(f"{where}: route {spec.route!r} is not one of {', '.join(ROUTES)}")
        for name in ("need", "substitute", "exclude"):
            value = getattr(spec, name)
            if value is not None:
                try:
                    re.compile(value)
                except re.error as exc:
                    raise ValueError(f"{where}: {name} is not a valid regex ({exc})") from exc
        return spec


@dataclass
class Conversation:
    id: str
    turns: list[TurnSpec]
    user_id: str | None = None


def load_conversations(path: Path | str) -> list[Conversation]:
    """Read and validate the JSONL; errors name the line."""
    conversations = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("turns"), list) or not raw["turns"]:
            raise ValueError(f"{path}:{number}: a conversation needs 'id' and a non-empty 'turns' list")
        turns = [TurnSpec.parse(t, f"{path}:{number} turn {i + 1}") for i, t in enumerate(raw["turns"])]
        conversations.append(Conversation(str(raw.get("id") or number), turns, raw.get("user_id")))
    if not conversations:
        raise ValueError(f"{path}: no conversations")
    return conversations


def observed_route(reply: Any) -> str:
    """What the reply did, in the judge's words (from the reply's route and its content)."""
    if reply.escalation is not None:
        return "escalate"
    route = getattr(reply, "route", None) or ""
    if route in ("refuse", "no_match", "compare", "product_question"):
        return route
    if reply.products:
        return "products"
    if reply.sources:
        return "answer"
    return route or "other"


def relevant(product: Any, spec: TurnSpec) -> bool:
    """Does one shown product satisfy the turn's need, price cap, colour and exclusion?"""
    title_path = f"{product.title} {product.category_path}"
    if spec.need and not re.search(spec.need, title_path, re.I):
        return False
    if spec.price_max is not None:
        if product.price is None or convert(product.price, product.currency, spec.currency) > spec.price_max + 1e-6:
            return False
    if spec.colour:
        attrs = " ".join(str(v) for v in (product.attributes or {}).values())
        text = f"{product.title} {attrs} {product.description}"
        if not re.search(rf"\b{re.escape(spec.colour)}\b", text, re.I):
            return False
    if spec.exclude and re.search(spec.exclude, f"{product.title} {product.brand or ''}", re.I):
        return False
    return True


@dataclass
class TurnVerdict:
    conversation: str
    turn: int
    user: str
    expected: str
    observed: str
    route_ok: bool
    precision: float | None
    good: bool
    reasons: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    reply: str = ""
    first_products_s: float | None = None
    turn_s: float = 0.0


def judge_turn(spec: TurnSpec, reply: Any, products: dict[str, Any], conversation: str = "", turn: int = 0
               ) -> TurnVerdict:
    """Judge one served reply. ``products`` maps the shown ids to their catalog records."""
    observed = observed_route(reply)
    reasons: list[str] = []
    shown = [products.get(p.id) for p in reply.products[:5]]
    route_ok = spec.route == "any" or observed == spec.route
    precision = None
    if spec.route == "products":
        precision = sum(p is not None and relevant(p, spec) for p in shown) / len(shown) if shown else 0.0
    elif spec.route == "no_match":
        if not NO_MATCH_WORDS.search(reply.reply or ""):
            route_ok = False
            reasons.append("the reply does not say the shop does not carry it")
        unlabelled = [p for p in reply.products if not getattr(p, "alternative", False)]
        if unlabelled:
            route_ok = False
            reasons.append(f"{len(unlabelled)} product(s) shown without the 'alternative' label")
        if shown and spec.substitute:
            alt = TurnSpec(user=spec.user, need=spec.substitute, price_max=spec.price_max, currency=spec.currency)
            precision = sum(p is not None and relevant(p, alt) for p in shown) / len(shown)
    elif spec.route == "answer" and (reply.products or not reply.sources):
        route_ok = False
        reasons.append("an answer must quote the knowledge base and show no products")
    elif spec.route == "refuse" and (reply.products or reply.escalation is not None):
        route_ok = False
        reasons.append("a refusal shows no products and opens no ticket")
    if spec.forbid and spec.forbid.lower() in (reply.reply or "").lower():
        route_ok = False
        reasons.append(f"the reply contains the forbidden text {spec.forbid!r}")
    if not route_ok and not reasons:
        reasons.append(f"route {observed}, expected {spec.route}")
    if precision is not None and precision < GOOD_PRECISION:
        reasons.append(f"precision@5 {precision:.2f}")
    good = route_ok and (precision is None or precision >= GOOD_PRECISION or
                         (spec.route == "no_match" and not shown))
    return TurnVerdict(conversation, turn, spec.user, spec.route, observed, route_ok, precision, good, reasons,
                       [f"{p.title[:60]} ({p.price} {p.currency})" for p in reply.products], reply.reply or "")


class CountingLLM:
    """Wraps an LLMProvider and counts calls by purpose (JSON = understanding, text = explanations)."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self.calls: Counter[str] = Counter()

    def generate_json(self, *args: Any, **kwargs: Any) -> str:
        self.calls["understand"] += 1
        return self._llm.generate_json(*args, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> str:
        self.calls["explain"] += 1
        return self._llm.generate(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)


def play(assistant: Any, conversation: Conversation) -> list[TurnVerdict]:
    """Play one conversation in a fresh session and judge each turn."""
    session = f"eval-{re.sub(r'[^A-Za-z0-9_-]', '-', conversation.id)[:40]}-{uuid.uuid4().hex[:8]}"
    verdicts = []
    for index, spec in enumerate(conversation.turns, 1):
        start, first, reply = time.perf_counter(), None, None
        for reply in assistant.respond_stream(session, spec.user, user_id=conversation.user_id):
            if first is None and reply.products:
                first = time.perf_counter() - start
        elapsed = time.perf_counter() - start
        records = assistant.store.get_products([p.id for p in reply.products])
        verdict = judge_turn(spec, reply, records, conversation.id, index)
        verdict.first_products_s, verdict.turn_s = first, elapsed
        verdicts.append(verdict)
    return verdicts


def evaluate_turns(assistant: Any, conversations: list[Conversation], progress: Any = None) -> dict[str, Any]:
    """Play every conversation through ``assistant`` and aggregate the verdicts."""
    counter = None
    llm = getattr(assistant.parts, "llm", None)
    if llm is not None:
        counter = CountingLLM(llm)
        assistant.parts.llm = counter
        for part in ("_understander", "_explainer"):
            obj = getattr(assistant.parts, part, None)
            if obj is not None and hasattr(obj, "llm"):
                obj.llm = counter
    verdicts: list[TurnVerdict] = []
    for conversation in conversations:
        verdicts.extend(play(assistant, conversation))
        if progress is not None:
            progress(1)
    return summarise(verdicts, dict(counter.calls) if counter else {})


def summarise(verdicts: list[TurnVerdict], llm_calls: dict[str, int]) -> dict[str, Any]:
    precisions = [v.precision for v in verdicts if v.expected == "products"]
    firsts = [v.first_products_s for v in verdicts if v.first_products_s is not None]
    totals = [v.turn_s for v in verdicts]
    by_route: dict[str, dict[str, float]] = {}
    for route in sorted({v.expected for v in verdicts}):
        mine = [v for v in verdicts if v.expected == route]
        by_route[route] = {"turns": len(mine), "route_accuracy": round(sum(v.route_ok for v in mine) / len(mine), 4),
                           "good_turn_rate": round(sum(v.good for v in mine) / len(mine), 4)}
    n = len(verdicts)
    return {
        "turns": n,
        "conversations": len({v.conversation for v in verdicts}),
        "route_accuracy": round(sum(v.route_ok for v in verdicts) / n, 4) if n else 0.0,
        "precision_at_5": round(statistics.fmean(precisions), 4) if precisions else None,
        "good_turn_rate": round(sum(v.good for v in verdicts) / n, 4) if n else 0.0,
        "latency_s": {"first_products_p50": _percentile(firsts, 0.5), "first_products_p95": _percentile(firsts, 0.95),
                      "turn_p50": _percentile(totals, 0.5), "turn_p95": _percentile(totals, 0.95)},
        "llm_calls": llm_calls,
        "by_route": by_route,
        "failing": [v.__dict__ for v in verdicts if not v.good],
    }


def print_report(result: dict[str, Any], echo: Any = print) -> None:
    echo(f"turns {result['turns']} in {result['conversations']} conversations")
    echo(f"route accuracy {result['route_accuracy']:.3f}   precision@5 {result['precision_at_5'] or 0:.3f}   "
         f"good-turn rate {result['good_turn_rate']:.3f}")
    lat = result["latency_s"]
    echo(f"latency s: first products p50 {lat['first_products_p50']} p95 {lat['first_products_p95']}; "
         f"turn p50 {lat['turn_p50']} p95 {lat['turn_p95']}")
    echo(f"LLM calls: {result['llm_calls'] or 'none'}")
    for route, row in result["by_route"].items():
        echo(f"  {route:17s} {row['turns']:4d} turns  route {row['route_accuracy']:.2f}  good {row['good_turn_rate']:.2f}")
    for v in result["failing"][:40]:
        echo(f"  FAIL {v['conversation']}#{v['turn']} {v['user'][:60]!r}: {'; '.join(v['reasons'])}")

"""Grounded explanations: one sentence per pick, from the item record, the request and the history.

Two sources, one rule — nothing reaches the shopper unless every fact in it is verified:

* :func:`template_sentence` builds a sentence from verified facts only (price against the cap,
  colour, brand asked for, size, same brand as something bought, rating). Instant; used for the first
  streamed reply and as the fallback.
* :class:`Explainer` asks the LLM for one short sentence per pick (prompt ≈ 80 tokens, the product
  line last so llama.cpp reuses the evaluated prefix across picks; decoding stops at the first
  sentence end), cleans it,
  runs :class:`assistant.answers.factcheck.FactChecker`, and keeps it only when every claim passes;
  otherwise the template sentence is used. :attr:`Explainer.stats` counts how many LLM sentences
  passed — the number reported in docs/assistant.md.

Example::

    explainer = Explainer(llm_provider, known_brands={"nike"})
    facts = ItemFacts.build(product, "red running shoes under $80", {"price_max": 80, "currency": "USD"})
    template_sentence(facts)                 # 'Nike Air Zoom at $69.99, within your $80 budget, in red.'
    text, source = explainer.explain(facts)  # (sentence, "llm") or (template, "template")
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import desc, select

from assistant.answers.factcheck import CheckResult, FactChecker, HistoryFacts, ItemFacts, borrowed_words, mentions
from catalog import schema
from catalog.currency import convert, format_price

SYSTEM_PROMPT = ("You tell a shopper in ONE short sentence (max 25 words) why a product fits their request. "
                 "Use only the facts given. Never invent numbers, brands, colours, sizes, ratings or offers.")
_SENTENCE_END = re.compile(r"[.!?][\"”')]?\s")  # a sentence end *followed by* more text ("$69." is not one)
_PREFIXES = re.compile(r"^\s*(?:sure[,!.]?\s*|here(?:'s| is) (?:the|a|one)? ?sentence:?\s*|sentence:\s*|"
                       r"explanation:\s*|answer:\s*|[-*•\d.)\s]+)", re.IGNORECASE)


@dataclass
class ExplainStats:
    """Counts over the life of an :class:`Explainer` (thread-safe via its lock)."""

    llm_attempted: int = 0
    llm_passed: int = 0
    llm_errors: int = 0
    rejected: list = field(default_factory=list)  # the last 50 (sentence, problems), for diagnosis

    @property
    def pass_rate(self) -> float:
        return self.llm_passed / self.llm_attempted if self.llm_attempted else 0.0


def history_facts(store, user: str | None, limit: int = 50) -> HistoryFacts:
    """What the pseudonymised ``user``'s recent events (newest ``limit``) support, read from the store."""
    if not user or store is None:
        return HistoryFacts()
    with store.engine.connect() as conn:
        rows = conn.execute(select(schema.events.c.item_id, schema.events.c.kind, schema.events.c.value)
                            .where(schema.events.c.user == user).order_by(desc(schema.events.c.ts))
                            .limit(limit)).all()
    if not rows:
        return HistoryFacts()
    products = store.get_products([r[0] for r in rows])
    bought, seen, words = set(), set(), set()
    titles: list[str] = []
    for item_id, kind, value in rows:
        p = products.get(item_id)
        if p is None or kind == "not_interested" or (kind == "rating" and (value or 0) < 4):
            continue
        brand = (p.brand or "").lower()
        if brand:
            seen.add(brand)
            if kind == "purchase":
                bought.add(brand)
        words |= set(re.findall(r"[a-z]{3,}", p.title.lower()))
        if kind == "purchase" and len(titles) < 2:
            titles.append(p.title[:40])
    summary = f"bought {', '.join(titles)}" if titles else ""
    return HistoryFacts(frozenset(bought), frozenset(seen), frozenset(words), bool(bought or titles), summary)


def _short_title(title: str, words: int = 8) -> str:
    parts = title.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def template_sentence(facts: ItemFacts) -> str:
    """A sentence made only of verified facts; always passes :class:`FactChecker`."""
    p, slots = facts.product, facts.slots
    head = _short_title(p.title)
    if p.brand and p.brand.lower() not in p.title.lower():
        head = f"{p.brand} {head}"
    reasons: list[str] = []
    currency = slots.get("currency") or p.currency
    if p.price is not None:
        shown = format_price(p.price, p.currency)
        converted = convert(p.price, p.currency, currency) if currency else p.price
        cap = slots.get("price_max")
        if cap is not None and converted <= float(cap):
            reasons.append(f"at {shown}, within your {format_price(float(cap), currency)} budget")
        else:
            reasons.append(f"at {shown}")
    colour = (slots.get("colour") or "").lower()
    if colour and mentions(facts.record_text, colour):
        reasons.append(f"in {colour} as you asked")
    brands = [b.lower() for b in slots.get("brands") or []]
    if p.brand and p.brand.lower() in brands:
        reasons.append(f"from {p.brand}, the brand you asked for")
    size = str(slots.get("size") or "").lower()
    if size and p.lists_size(size):
        reasons.append(f"available in size {size}")
    age = slots.get("age")
    if age is not None and facts.ages is not None and facts.ages.fits(float(age)):
        reasons.append(f"made for {facts.ages.describe()}, right for a {float(age):g}-year-old")
    reasons += _details(p, colour)
    if p.brand and p.brand.lower() in facts.history.bought_brands and p.brand.lower() not in brands:
        reasons.append(f"the same brand ({p.brand}) as something you bought")
    elif p.brand and p.brand.lower() in facts.history.seen_brands and p.brand.lower() not in brands:
        reasons.append(f"a brand ({p.brand}) you have looked at")
    if p.rating is not None and p.rating >= 4:
        reasons.append(f"rated {p.rating:g}/5")
    if not reasons:
        category = p.category[-1] if p.category else ""
        reasons.append(f"a match for your search{' in ' + category if category else ''}")
    return f"{head} — " + ", ".join(reasons) + "."


# listing attributes worth a few words on the card, in order: who it is for, what it is made of, what it is
_DETAILS = (("ideal for", "for {}"), ("outer material", "{} outer"), ("upper material", "{} upper"),
            ("fabric", "{} fabric"), ("material", "made of {}"), ("type", "{}"))


def _details(p: Any, asked_colour: str, most: int = 2) -> list[str]:
    """Up to ``most`` short facts from the listing's attributes that its title does not already say."""
    title = set(re.findall(r"[a-z0-9]+", p.title.lower()))
    out = []
    for key, form in _DETAILS:
        value = str(p.attribute(key) or "").strip().lower()
        words = set(re.findall(r"[a-z0-9]+", value))
        if not value or len(value) > 30 or not words or words <= title or (asked_colour and asked_colour in value):
            continue
        out.append(form.format(" and ".join(v.strip() for v in value.split(",")[:2] if v.strip())))
        if len(out) == most:
            break
    return out


def _product_facts(p: Any, title_words: int) -> list[tuple[str, str]]:
    """The record facts an LLM sentence may use, in prompt order (whole title words: a cut word reads as a name)."""
    out = [("title", _short_title(p.title, title_words).rstrip("…"))]
    if p.brand:
        out.append(("brand", p.brand))
    if p.price is not None:
        out.append(("price", format_price(p.price, p.currency)))
    out += [(key, str(p.attribute(key))) for key in ("colour", "size", "material") if p.attribute(key)]
    if p.rating is not None:
        out.append(("rating", f"{p.rating:g}/5"))
    return out


def _prompt(facts: ItemFacts) -> list[tuple[str, str]]:
    p, slots = facts.product, facts.slots
    lines = [f"Request: {facts.request_text[:160]}"]
    wanted = {k: v for k, v in slots.items() if k in ("colour", "size", "brands", "price_max", "price_min")
              and v not in (None, [], "")}
    if wanted:
        lines.append("Wanted: " + "; ".join(f"{k}={v}" for k, v in wanted.items()))
    product = [f"{key}: {value}" for key, value in _product_facts(p, 14)]
    if facts.history.summary:
        lines.append(f"Shopper history: {facts.history.summary}")
    # the product line comes last: the lines above are the same for every pick of a turn, so llama.cpp
    # reuses their evaluated prefix and only the product line is prefilled for picks 2, 3, ...
    lines.append("Product: " + "; ".join(product))
    lines.append("One sentence:")
    return [("system", SYSTEM_PROMPT), ("user", "\n".join(lines))]


BATCH_PROMPT = ("For each numbered product write ONE short sentence (max 20 words) telling this shopper why it fits "
                "their request (and their history, when given). Use only the facts given; never invent numbers, "
                "brands, colours, sizes, ages, materials or offers. Reply with the numbered sentences only.")
_NUMBERED = re.compile(r"^\s*(\d+)\s*[.):-]\s*(.+)$")


def _product_line(p: Any) -> str:
    """One numbered line of the batch prompt: "title; brand B; ₹499.00; colour red; rated 4/5"."""
    labels = {"title": "", "brand": "brand ", "price": "", "rating": "rated "}
    return "; ".join(f"{labels.get(key, key + ' ')}{value}" for key, value in _product_facts(p, 12))


def batch_prompt(facts: list[ItemFacts]) -> list[tuple[str, str]]:
    """One prompt for all picks of a turn: the request once, then one numbered line per product."""
    first = facts[0]
    lines = [f"Request: {first.request_text[:160]}"]
    wanted = {k: v for k, v in first.slots.items() if k in ("colour", "size", "brands", "price_max", "price_min")
              and v not in (None, [], "")}
    if wanted:
        lines.append("Wanted: " + "; ".join(f"{k}={v}" for k, v in wanted.items()))
    if first.history.summary:
        lines.append(f"Shopper history: {first.history.summary}")
    lines += [f"{i}. {_product_line(f.product)}" for i, f in enumerate(facts, 1)]
    return [("system", BATCH_PROMPT), ("user", "\n".join(lines))]


def split_numbered(raw: str, count: int) -> list[str]:
    """The numbered sentences of a batch answer, by position ('' where one is missing)."""
    out = [""] * count
    lines = [line for line in (raw or "").splitlines() if line.strip()]
    numbered = False
    for line in lines:
        m = _NUMBERED.match(line)
        if m and 1 <= int(m.group(1)) <= count and not out[int(m.group(1)) - 1]:
            out[int(m.group(1)) - 1], numbered = clean_sentence(m.group(2)), True
    if not numbered:  # a model that dropped the numbers: one sentence per line, in order
        for index, line in enumerate(lines[:count]):
            out[index] = clean_sentence(line)
    return out


def clean_sentence(raw: str) -> str:
    """First non-empty line of ``raw`` without quotes, bullets or "Sentence:" prefixes; '' if nothing left."""
    for line in (raw or "").splitlines():
        line = _PREFIXES.sub("", line.strip()).strip()
        if line:
            first = re.split(r"(?<=[.!?])[\"”'`]?\s+", line, maxsplit=1)[0].strip().strip('"“”\'`').strip()
            if not first:
                continue
            return first if first.endswith((".", "!")) else first.rstrip(",;:") + "."
    return ""


class Explainer:
    """LLM sentences that must pass the fact checker, with the template as the fallback.

    Args:
        llm: an :class:`assistant.llm.LLMProvider` (or anything with ``generate(messages, max_tokens)``);
            None means templates only.
        known_brands: lower-case brands for the checker (see :class:`FactChecker`).
        max_tokens: decode budget per sentence (~25 words ≈ 35 tokens).
    """

    def __init__(self, llm=None, known_brands: Iterable[str] = (), max_tokens: int = 40):
        self.llm = llm
        self.checker = FactChecker(known_brands)
        self.max_tokens = max_tokens
        self.stats = ExplainStats()
        self._lock = threading.Lock()

    def _generate(self, messages: list[tuple[str, str]]) -> str:
        """Stream and stop at the end of the first sentence (small models ramble until max_tokens)."""
        stream = getattr(self.llm, "stream", None)
        if stream is None:
            return self.llm.generate(messages, max_tokens=self.max_tokens)
        text = ""
        pieces = stream(messages, max_tokens=self.max_tokens)
        try:
            for piece in pieces:
                text += piece
                body = text.lstrip()
                if len(body.split()) >= 4 and (_SENTENCE_END.search(body) or "\n" in body.rstrip(" ")):
                    break
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()  # stops decoding and releases the LLM lock
        return text

    def with_brands(self, brands: Iterable[str]) -> FactChecker:
        """A checker that also knows ``brands`` (e.g. the brands of the items shown this turn)."""
        return FactChecker(self.checker.known_brands | {b.lower() for b in brands if b})

    def explain_all(self, facts: list[ItemFacts], checker: FactChecker | None = None) -> list[tuple[str, str]]:
        """One LLM call for every pick (numbered sentences), each fact-checked; a sentence that is missing
        or fails keeps its template. Returns ``[(sentence, source), ...]`` in the order of ``facts``."""
        templates = [(template_sentence(f), "template") for f in facts]
        if self.llm is None or not facts:
            return templates
        checker = checker or self.checker
        try:
            raw = self.llm.generate(batch_prompt(facts), max_tokens=min(30 * len(facts), 150))
        except Exception:  # noqa: BLE001 - a failing or busy model never breaks a turn
            with self._lock:
                self.stats.llm_errors += 1
                self.stats.llm_attempted += len(facts)
            return templates
        out = []
        for fact, sentence, template in zip(facts, split_numbered(raw, len(facts)), templates):
            result = checker.check(sentence, fact) if sentence else CheckResult(False, ["missing from the answer"])
            borrowed = borrowed_words(sentence, fact, facts) if sentence else []
            if borrowed:
                result = CheckResult(False, result.problems + [f"says {', '.join(borrowed)}, from another pick's record"])
            self._count(sentence, result)
            out.append((sentence, "llm") if result.ok else template)
        return out

    def _count(self, shown: str, result: CheckResult) -> None:
        with self._lock:
            self.stats.llm_attempted += 1
            self.stats.llm_passed += int(result.ok)
            if not result.ok:
                self.stats.rejected = (self.stats.rejected + [(shown, result.problems)])[-50:]

    def explain(self, facts: ItemFacts, checker: FactChecker | None = None) -> tuple[str, str, CheckResult | None]:
        """``(sentence, source, check)``: the LLM sentence if it passes, else the template (source "template")."""
        if self.llm is None:
            return template_sentence(facts), "template", None
        checker = checker or self.checker
        try:
            raw = self._generate(_prompt(facts))
        except Exception:  # noqa: BLE001 - a failing model never breaks a turn
            with self._lock:
                self.stats.llm_errors += 1
                self.stats.llm_attempted += 1
            return template_sentence(facts), "template", CheckResult(False, ["LLM error"])
        sentence = clean_sentence(raw)
        result = checker.check(sentence, facts) if sentence else CheckResult(False, ["empty output"])
        self._count(sentence or raw[:120], result)
        if result.ok:
            return sentence, "llm", result
        return template_sentence(facts), "template", result

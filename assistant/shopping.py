"""The shopping step of a turn: search, refine, recommend, compare and questions about shown items.

:func:`shop` turns an understood request into a reply with products (template explanations) and the
facts for each pick, which the agent then hands to the LLM explainer. What it guarantees a shopper:

* **Relevance never collapses.** A candidate is shown only when it names what the topic is about
  (``DialogueState.focus_must``: "dinosaur" for a present for a dinosaur fan) or, for a topic without
  such a word, when its dense similarity clears :data:`DENSE_FLOOR`. Fewer good matches than a page
  are shown as they are, with the count ("Only 2 dinosaur toys match under £10.00").
* **Honest no-match.** A kind the catalog does not carry ("a saree", "a washing machine") gets "We
  don't carry sarees" and the closest products, each labelled ``alternative``.
* **Toy versions are called toy versions.** When every match for a kind is marked as a toy or for
  children ("my first …", "kids' …") and the shopper did not ask for one, the reply says the shop has
  only those, instead of presenting a toy lawn mower as a lawn mower.
* **Questions about the list stay on the list.** "Which of these would suit my nephew?" picks
  among the shown products instead of searching again.
* **"Anything you'd suggest for me?"** ranks the catalog by the shopper's history.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from assistant.answers.explain import history_facts, template_sentence
from assistant.answers.factcheck import ItemFacts
from assistant.answers.replies import (answer_product_question, compare_products, list_reply, no_match_reply,
                                       pick_reply, plural)
from assistant.types import ProductPick, Reply
from assistant.understanding.focus import mentions, request_focus
from assistant.understanding.service import ITEM_POLICY
from assistant.understanding.state import DialogueState, apply, remember_shown
from catalog.ages import product_ages

log = logging.getLogger("shopassist.agent")
DENSE_FLOOR = 0.30  # MiniLM cosine below which a candidate is unrelated to a query (measured on turns-dev)
ALTERNATIVES = 3
ALTERNATIVE_FLOOR = 0.45  # closer than an ordinary match must be, or nothing is offered as an alternative
_ABOUT_SHOWN = re.compile(r"\bwhich (?:one|of (?:these|them|those)|would you|is (?:the )?(?:best|better)|should i)\b|"
                          r"\bwhat would you (?:pick|choose|go for)\b|\bwhich (?:one )?(?:do|would) you (?:recommend|suggest)\b|"
                          r"\bwhich would you pick\b|\bwhich one would you\b")
_FOR_ME = re.compile(r"\b(?:for me|recommend|suggest|suggestions?|surprise me|what should i (?:get|buy))\b")
_GIFT = re.compile(r"\b(?:present|gift|something for (?:my|him|her))\b")
_UNSORTABLE = {"popularity": "popularity", "newest": "date added"}
_TOY_VERSION = re.compile(r"\b(?:toys?|children'?s|childrens|kids'?|my first|pretend)\b")


def shop(parts: Any, turn: Any, page_size: int) -> tuple[Reply, list[ItemFacts]]:
    """Search/refine/recommend/compare/product question: the reply with template explanations,
    and the facts for each pick (for the LLM explanations that follow)."""
    request, state = turn.request, turn.state
    before = state.dialogue
    state.dialogue = apply(before, request)
    dialogue = state.dialogue
    slots = dialogue.reply_slots(request)
    reply = Reply(session_id=turn.session_id, intent=request.intent, slots=slots, route="products")
    history = history_facts(parts.store, turn.user)
    if before.shown and not request.refs and _ABOUT_SHOWN.search(request.message.lower()):
        state.dialogue = before.model_copy(update={"turn": before.turn + 1})
        items = _pick_among_shown(parts, turn, before, reply)
    elif request.intent in ("compare", "product_question"):
        items = _about_products(parts, turn, dialogue, reply)
    else:
        new_topic = dialogue.topic_turns <= 1 and request.intent in ("search", "recommend")
        if new_topic:
            _set_focus(dialogue, request)
        items = _find(parts, turn, dialogue, request, page_size, reply, new_topic, history)
        state.dialogue = remember_shown(dialogue, [p for p, _, _ in items])
    request_text = f"{dialogue.search_query()} {request.message}".strip()
    facts = []
    for product, score, scores in items:
        fact = ItemFacts.build(product, request_text, slots, history)
        facts.append(fact)
        reply.products.append(ProductPick(id=product.id, title=product.title, price=product.price,
                                          currency=product.currency, image_url=product.image_url,
                                          score=float(score), scores={k: float(v) for k, v in scores.items()},
                                          explanation=template_sentence(fact), explanation_source="template",
                                          alternative=reply.route == "no_match"))
    llm_worthy = reply.route in ("products", "no_match")  # elsewhere the reply text is the answer
    return reply, facts if llm_worthy else []


def _set_focus(dialogue: DialogueState, request: Any) -> None:
    """Read what a new topic is about, from the LLM's rewrite when there is one, else the message."""
    focus = request_focus(request.message)
    dialogue.focus_label = focus.kind or focus.interest or dialogue.slots.category
    dialogue.focus_must = list(focus.must)
    dialogue.focus_every = not focus.from_interest
    if request.search_text and focus.vague:  # the LLM's rewrite of a vague wish: its words, the dense floor
        dialogue.search_text = request.search_text
        dialogue.focus_label, dialogue.focus_must = request.search_text, []


def _about_products(parts: Any, turn: Any, dialogue: DialogueState, reply: Reply) -> list[tuple]:
    request = turn.request
    reply.route = request.intent
    wanted = dialogue.focus_ids or [p.id for p in dialogue.shown[:2 if request.intent == "compare" else 1]]
    found = parts.store.get_products(wanted)
    products = [found[i] for i in wanted if i in found]
    if not products:
        reply.reply = "Which product do you mean? Search first, then say e.g. \"the second one\"."
        return []
    if request.intent == "compare":
        reply.reply = compare_products(products, reply.slots.get("currency"))
    else:
        answer = answer_product_question(request.message, products[0])
        if ITEM_POLICY.search(request.message.lower()):  # the listing's word, then the store's policy
            policy = parts.policy_answer("What is your warranty if an item is faulty?")  # the store's side
            listing = answer or f"The listing of {products[0].title[:60]} doesn't mention a warranty."
            answer = f"{listing} {policy.text}" if policy.found else answer
            reply.sources = list(policy.sources) if policy.found else []
        reply.reply = answer or ("The product record doesn't say, so I won't guess. I can ask a person "
                                 "for you — just say \"talk to a person\".")
        turn.useful = answer is not None
    return [(p, 0.0, {}) for p in products]


def _pick_among_shown(parts: Any, turn: Any, dialogue: DialogueState, reply: Reply) -> list[tuple]:
    """'Which one would you recommend?': the best of the shown list for this shopper, not a new search."""
    reply.route = "product_question"
    found = parts.store.get_products([p.id for p in dialogue.shown])
    products = [found[p.id] for p in dialogue.shown if p.id in found]
    if not products:
        reply.reply = "Which products do you mean? Search first, then ask me to pick one."
        return []
    from retrieval.search import SearchHit

    order = products
    ranker = parts.ranker
    if ranker is not None:
        try:
            hits = [SearchHit(p, float(len(products) - i), {"hybrid": float(len(products) - i)})
                    for i, p in enumerate(products)]
            order = [r.product for r in ranker.rerank(turn.user, dialogue.search_query(), hits, len(hits))] or products
        except Exception:  # noqa: BLE001 - ranking is optional
            log.exception("re-ranking the shown list failed; keeping its order")
    if re.search(r"\b(?:rated|rating|reviews?|stars?)\b", turn.request.message.lower()):
        order = sorted(products, key=lambda p: -(p.rating or 0.0))
    best = order[0]
    reply.reply = pick_reply(best, products.index(best) + 1, turn.request.message, reply.slots.get("currency"))
    return [(best, 1.0, {})]


def _relevant(hit: Any, dialogue: DialogueState) -> bool:
    """The relevance floor: the topic's word(s), else dense similarity above :data:`DENSE_FLOOR`.
    A brand the shopper named is already a hard filter, and an interest ("thomas") yields to it."""
    if dialogue.focus_must and not (dialogue.slots.brands and not dialogue.focus_every):
        return mentions(hit.product, dialogue.focus_must, every=dialogue.focus_every)
    return float((hit.scores or {}).get("dense", 0.0)) >= DENSE_FLOOR


def _find(parts: Any, turn: Any, dialogue: DialogueState, request: Any, page_size: int, reply: Reply,
          new_topic: bool, history: Any) -> list[tuple]:
    from retrieval.search import SearchFilters

    kwargs = dialogue.filter_kwargs()
    if dialogue.focus_must:  # the topic's own word is the test; a category name is only a hint
        kwargs["category"] = None
    filters = SearchFilters(**kwargs)
    query = dialogue.search_query()
    ranker = parts.ranker
    message = request.message.lower()
    known = turn.user and ranker is not None and not history.empty
    if known and new_topic and request_focus(request.message).vague and (request.intent == "recommend" or _FOR_ME.search(message)
                                                           or _GIFT.search(message)):
        return _for_this_shopper(ranker, turn, dialogue, filters, page_size, reply)
    if new_topic and dialogue.focus_label and dialogue.focus_must and dialogue.focus_every:
        match = parts.kinds.match(dialogue.focus_label)
        if match != "full":
            return _alternatives(parts, dialogue, filters, reply, match)
    if not query:
        reply.route = "clarify"
        reply.reply = ("What are you looking for? Tell me the kind of product, who it is for or what they like, "
                       "and a budget if you have one.")
        return []
    depth = max(parts.settings.rerank_candidates, 200)  # deep enough that the floor still leaves a page
    hits = parts.search.search(query, filters=filters, k=depth)
    if not hits and filters.category:  # catalog paths rarely use the shopper's noun ("lego sets")
        hits = parts.search.search(query, filters=SearchFilters(**{**kwargs, "category": None}), k=depth)
    relevant = [h for h in hits if _relevant(h, dialogue)]
    note = ""
    if not relevant and dialogue.focus_every and len(dialogue.focus_must) > 1:
        head = dialogue.model_copy(update={"focus_must": dialogue.focus_must[-1:]})  # "running shoes" -> shoes
        relevant = [h for h in hits if _relevant(h, head)]
        if relevant:
            note = f"I found no {dialogue.focus_label} that fit all of that, so here are other {dialogue.focus_must[-1]}s. "
    want = max(page_size, 20) if dialogue.slots.sort else page_size
    age = dialogue.slots.age
    items = _rank(ranker, turn.user, query, relevant, want if age is None else max(want, 3 * page_size))
    items = _stated_age_first(items, age)[:want]
    size = dialogue.slots.size
    if size:  # not a filter (few listings give sizes): the ones that list it first
        items = sorted(items, key=lambda item: not item[0].lists_size(size))
    items = _sort(items, dialogue.slots.sort)[:page_size]
    toy_note = ""
    if not note and new_topic and _only_toy_versions(items, dialogue.focus_label, message):
        toy_note = f"We don't sell full-size {plural(dialogue.focus_label)}, only toy or children's versions. "
    sized = sum(product.lists_size(size) for product, _, _ in items) if size else 0
    header_slots = reply.slots if sized or not size else {**reply.slots, "size": None}  # no "size 8" none lists
    header = note + toy_note + list_reply(len(items), page_size, None if note else dialogue.focus_label,
                                          header_slots, dialogue.page)
    notes = _unstated_age_note(items, age) + _unlisted_size_note(items, size, sized)
    unsortable = _UNSORTABLE.get(dialogue.slots.sort or "")
    if unsortable and items:
        notes += f" I can't sort by {unsortable} (the catalog doesn't record it), so they are in order of relevance."
    reply.reply = header[:-1] + "." + notes if notes and header.endswith(":") else header + notes
    if not items:
        turn.useful = False
        reply.route = "no_match"  # the shop has nothing that fits all of it: said so in words
    return items


def _stated_age_first(items: list[tuple], age: float | None) -> list[tuple]:
    """With a child's age, products whose listing states ages that fit come before those that state none
    (the filter already dropped the ones that state other ages); ranking order otherwise."""
    if age is None:
        return items
    return sorted(items, key=lambda item: product_ages(item[0]) is None)


def _unstated_age_note(items: list[tuple], age: float | None) -> str:
    """Says how many shown listings state no ages, once for the list (not on every card)."""
    unstated = sum(product_ages(product) is None for product, _, _ in items) if age is not None else 0
    if not unstated:
        return ""
    which = ("Its listing doesn't say what ages it suits" if len(items) == 1 else
             "None of these listings says what ages they suit" if unstated == len(items) else
             f"{unstated} of these listings don't say what ages they suit")
    return f" {which}: check before buying for a {age:g}-year-old."


def _unlisted_size_note(items: list[tuple], size: str | None, sized: int) -> str:
    if not size or not items or sized == len(items):
        return ""
    if not sized:
        which = "Its listing doesn't" if len(items) == 1 else "These listings don't"
        return f" {which} say which sizes are available: check size {size} on the product page."
    return f" {sized} of these list size {size}; check the others on the product page."


def _only_toy_versions(items: list[tuple], label: str | None, message: str) -> bool:
    """Every shown product is a toy/children's version of ``label`` and the shopper did not ask for one."""
    if not items or not label or _TOY_VERSION.search(message) or _TOY_VERSION.search(label):
        return False
    return all(_TOY_VERSION.search(product.title.lower()) for product, _, _ in items)


def _rank(ranker: Any, user: str | None, query: str, hits: list, want: int) -> list[tuple]:
    if ranker is not None and hits:
        try:
            return [(r.product, r.score, dict(r.scores or {})) for r in ranker.rerank(user, query, hits, want)]
        except Exception:  # noqa: BLE001 - ranking is optional
            log.exception("re-ranking failed; using retrieval order")
    return [(h.product, h.score, dict(h.scores or {})) for h in hits[:want]]


def _for_this_shopper(ranker: Any, turn: Any, dialogue: DialogueState, filters: Any, page_size: int,
                      reply: Reply) -> list[tuple]:
    """No product named, a known shopper: the catalog ranked by their history (and the filters)."""
    ranked = [r for r in ranker.recommend(turn.user, page_size * 8) if filters.accepts(r.product)][:page_size]
    reply.reply = ("Based on what you've bought and looked at, you might like these:" if ranked else
                   "I don't know your taste yet — tell me what you're looking for, or who it's for.")
    if not ranked:
        reply.route = "clarify"
    return [(r.product, r.score, dict(r.scores or {})) for r in ranked]


def _alternatives(parts: Any, dialogue: DialogueState, filters: Any, reply: Reply, match: str) -> list[tuple]:
    """The catalog has nothing of the kind: say so, then the closest products, labelled as alternatives."""
    reply.route = "no_match"
    query = dialogue.focus_label or dialogue.search_query()  # the kind itself: "red" alone finds red anything
    loose = replace(filters, colour=None, category=None, brands=())  # alternatives may differ in all but price
    hits = parts.search.search(query, filters=loose, k=50)
    head = dialogue.focus_must[-1:]
    compound = any(w.endswith("ing") for w in (dialogue.focus_label or "").split()[:-1])
    near = [h for h in hits if head and not compound and (mentions(h.product, head) or _described(h.product, head[0]))]
    hits = near or [h for h in hits if float((h.scores or {}).get("dense", 0.0)) >= ALTERNATIVE_FLOOR]
    items = [(h.product, h.score, dict(h.scores or {})) for h in hits[:ALTERNATIVES]]
    reply.reply = no_match_reply(dialogue.focus_label or query, [p for p, _, _ in items], match)
    # the topic continues from the alternatives ("which one would you recommend?"), without the lost word
    dialogue.focus_must, dialogue.focus_every = [], False
    return items


def _described(product: Any, word_stem: str) -> bool:
    """The word in the product description ("... by jayanti sarees", "case for apple iphone")."""
    return re.search(rf"\b{re.escape(word_stem)}", (product.description or "").lower()) is not None


def _sort(items: list[tuple], sort: str | None) -> list[tuple]:
    if sort == "price_asc":
        return sorted(items, key=lambda i: (i[0].price is None, i[0].price or 0))
    if sort == "price_desc":
        return sorted(items, key=lambda i: (i[0].price is None, -(i[0].price or 0)))
    if sort == "rating":
        return sorted(items, key=lambda i: (i[0].rating is None, -(i[0].rating or 0)))
    return items

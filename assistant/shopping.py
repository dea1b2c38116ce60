"""The shopping step of a turn: search, refine, recommend, compare and questions about shown items.

:func:`shop` turns an understood request into a reply with products (template explanations) and the
facts for each pick, which the agent then hands to the LLM explainer.
"""
from __future__ import annotations

import logging
from typing import Any

from assistant.answers.explain import history_facts, template_sentence
from assistant.answers.factcheck import ItemFacts
from assistant.answers.replies import answer_product_question, compare_products, search_summary
from assistant.types import ProductPick, Reply
from assistant.understanding.state import DialogueState, apply, remember_shown

log = logging.getLogger("shopassist.agent")


def shop(parts: Any, turn: Any, page_size: int) -> tuple[Reply, list[ItemFacts]]:
    """Search/refine/recommend/compare/product question: the reply with template explanations,
    and the facts for each pick (for the LLM explanations that follow)."""
    request, state = turn.request, turn.state
    state.dialogue = apply(state.dialogue, request)
    dialogue = state.dialogue
    slots = dialogue.reply_slots(request)
    reply = Reply(session_id=turn.session_id, intent=request.intent, slots=slots)
    history = history_facts(parts.store, turn.user)
    request_text = f"{dialogue.search_query()} {request.message}".strip()
    if request.intent in ("compare", "product_question"):
        focus = dialogue.focus_ids or [p.id for p in dialogue.shown[:2 if request.intent == "compare" else 1]]
        found = parts.store.get_products(focus)
        products = [found[i] for i in focus if i in found]
        if not products:
            reply.reply = "Which product do you mean? Search first, then say e.g. \"the second one\"."
            return reply, []
        if request.intent == "compare":
            reply.reply = compare_products(products, slots.get("currency"))
        else:
            answer = answer_product_question(request.message, products[0])
            reply.reply = answer or ("The product record doesn't say, so I won't guess. I can ask a person "
                                     "for you — just say \"talk to a person\".")
            turn.useful = answer is not None
        items = [(p, 0.0, {}) for p in products]
    else:
        items = _find(parts, turn, dialogue, request, page_size)
        reply.reply = search_summary(len(items), slots, dialogue.page)
        if turn.relaxed:
            reply.reply = (f"No {slots.get('category')} match all of that, so I looked beyond that category. "
                           f"{reply.reply}")
        state.dialogue = remember_shown(dialogue, [p for p, _, _ in items])
    facts = []
    llm_worthy = request.intent not in ("compare", "product_question")  # there the reply is the answer
    for product, score, scores in items:
        fact = ItemFacts.build(product, request_text, slots, history)
        facts.append(fact)
        reply.products.append(ProductPick(id=product.id, title=product.title, price=product.price,
                                          currency=product.currency, image_url=product.image_url,
                                          score=float(score), scores={k: float(v) for k, v in scores.items()},
                                          explanation=template_sentence(fact), explanation_source="template"))
    return reply, facts if llm_worthy else []

def _find(parts: Any, turn: Any, dialogue: DialogueState, request: Any, page_size: int) -> list[tuple]:
    from retrieval.search import SearchFilters

    query = dialogue.search_query() or request.query
    ranker = parts.ranker
    if request.intent == "recommend" and not query.strip() and ranker is not None and turn.user:
        return [(r.product, r.score, dict(r.scores or {})) for r in ranker.recommend(turn.user, page_size)]
    filters = SearchFilters(**dialogue.filter_kwargs())
    hits = parts.search.search(query, filters=filters, k=parts.settings.rerank_candidates)
    if not hits and filters.category:
        # a category word is a hint, not a promise: catalog paths rarely use the shopper's noun
        # ("lego sets" vs "Characters & Brands > LEGO"). Price, brand and colour stay hard.
        relaxed = SearchFilters(**{**dialogue.filter_kwargs(), "category": None})
        hits = parts.search.search(query, filters=relaxed, k=parts.settings.rerank_candidates)
        turn.relaxed = bool(hits)
    want = max(page_size, 20) if dialogue.slots.sort else page_size
    if ranker is not None and hits:
        try:
            ranked = ranker.rerank(turn.user, query, hits, want)
            items = [(r.product, r.score, dict(r.scores or {})) for r in ranked]
        except Exception:  # noqa: BLE001 - ranking is optional
            log.exception("re-ranking failed; using retrieval order")
            items = [(h.product, h.score, dict(h.scores or {})) for h in hits[:want]]
    else:
        items = [(h.product, h.score, dict(h.scores or {})) for h in hits[:want]]
    return _sort(items, dialogue.slots.sort)[:page_size]


def _sort(items: list[tuple], sort: str | None) -> list[tuple]:
    if sort == "price_asc":
        return sorted(items, key=lambda i: (i[0].price is None, i[0].price or 0))
    if sort == "price_desc":
        return sorted(items, key=lambda i: (i[0].price is None, -(i[0].price or 0)))
    if sort == "rating":
        return sorted(items, key=lambda i: (i[0].rating is None, -(i[0].rating or 0)))
    return items

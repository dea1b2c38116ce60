"""The parts the agent drives: per-session state, per-turn context, and the lazily loaded components.

* :class:`AgentState` — what the agent keeps per session in ``sessions.state``: the dialogue state
  (``assistant.state.DialogueState``), the count of consecutive turns without a useful answer, and the
  last order id the shopper gave. Loaded and saved every turn; never cached in memory.
* :class:`TurnContext` — one turn's inputs (session, message, pseudonymised user, state, open ticket).
* :class:`Components` — the store, product search, ranker, understander, LLM, explainer and policy
  knowledge base. Each loads on first use, once, under a lock, and is then shared read-only by all
  sessions. Any of them can be passed in ready-made (tests pass fakes).

Example::

    parts = Components(Settings(llm_profile="smollm2"))
    parts.policy_answer("how long do refunds take?").sources     # ['refunds.md § When you get your refund']
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert

from assistant.answers import answer_product_question, compare_products, search_summary
from assistant.explain import Explainer, history_facts, template_sentence
from assistant.factcheck import ItemFacts
from assistant.state import DialogueState, apply, remember_shown
from assistant.types import ProductPick, Reply
from catalog import schema
from catalog.settings import Settings
from catalog.store import Store

log = logging.getLogger("shopassist.agent")


@dataclass
class AgentState:
    """Per-session agent state, stored as JSON in ``sessions.state``."""

    dialogue: DialogueState = field(default_factory=DialogueState)
    failed_turns: int = 0
    last_order_id: str | None = None

    @classmethod
    def load(cls, stored: dict[str, Any] | None) -> "AgentState":
        """From the stored JSON object; anything unreadable gives a fresh state (a turn never crashes on it)."""
        stored = stored or {}
        dialogue = DialogueState.from_json(json.dumps(stored.get("dialogue") or {}))
        return cls(dialogue, int(stored.get("failed_turns") or 0), stored.get("last_order_id"))

    def dump(self) -> dict[str, Any]:
        return {"dialogue": json.loads(self.dialogue.to_json()), "failed_turns": self.failed_turns,
                "last_order_id": self.last_order_id}

    def note(self, useful: bool | None) -> None:
        """Count a turn: True resets the failure count, False adds one, None (small talk) leaves it."""
        if useful is True:
            self.failed_turns = 0
        elif useful is False:
            self.failed_turns += 1


@dataclass
class TurnContext:
    session_id: str
    message: str
    user: str | None
    state: AgentState
    ticket: Any = None
    request: Any = None
    useful: bool | None = None  # set by a step that knows whether the turn helped
    relaxed: bool = False  # the category filter was dropped to find anything


class Components:
    """Lazily loaded, shared parts of the assistant. Pass any part ready-made as a keyword argument.

    Args:
        settings: application settings.
        chat_model: a LangChain chat model replacing ``settings.llm_profile`` (tests: LangChain fakes).
        policy_paths: policy documents (default ``data/policies``).
        bitext_train: the intent classifier's training CSV.
        store, search, ranker, understander, knowledge, llm: ready-made parts. ``ranker=False`` disables
            ranking (retrieval order); ``llm=False`` disables the LLM (template explanations only).
    """

    def __init__(self, settings: Settings, chat_model: Any = None, policy_paths: list | None = None,
                 bitext_train: str | None = None, store: Store | None = None, search: Any = None,
                 ranker: Any = None, understander: Any = None, knowledge: Any = None, llm: Any = None):
        # llama.cpp runs its threads through OpenMP; spinning OpenMP workers collapse on a busy 2-core
        # machine (measured: SmolLM2 30-token answer 6.2 CPU-s spinning vs 1.05 CPU-s passive). Must be set
        # before llama_cpp is first imported; an explicit OMP_WAIT_POLICY in the environment wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.settings = settings
        self.store = store or Store.from_settings(settings)
        self.policy_paths = policy_paths
        self.bitext_train = bitext_train
        self._search, self._ranker, self._understander, self._knowledge = search, ranker, understander, knowledge
        self._ranker_tried = ranker is not None
        if llm is None:
            from assistant.llm import LLMProvider

            llm = LLMProvider(chat_model=chat_model) if chat_model is not None else LLMProvider.from_settings(settings)
        self.llm = llm or None
        self._explainer: Explainer | None = None
        self._lock = threading.RLock()

    # -- lazy parts -----------------------------------------------------------------------------
    @property
    def has_llm(self) -> bool:
        return self.llm is not None

    @property
    def search(self) -> Any:
        if self._search is None:
            with self._lock:
                if self._search is None:
                    from retrieval.search import ProductSearch

                    self._search = ProductSearch.from_settings(self.settings, store=self.store)
        return self._search

    @property
    def ranker(self) -> Any:
        """``ranking.ranker.Ranker`` when importable and loadable, else None (retrieval order)."""
        if not self._ranker_tried:
            with self._lock:
                if not self._ranker_tried:
                    self._ranker_tried = True
                    try:
                        from ranking.ranker import Ranker

                        self._ranker = Ranker.from_settings(self.settings, self.store, embedder=self.search.embedder)
                        # warm the item vectors now (recommend() loads/encodes the whole catalogue once
                        # per catalogue version, saved on disk); otherwise re-ranking encodes the
                        # unseen candidates inside a shopper's turn (measured: 5-11 s on a busy machine)
                        self._ranker.recommend(None, 1)
                    except Exception as exc:  # noqa: BLE001 - ranking is optional: fall back to retrieval order
                        log.warning("ranking unavailable (%s); using retrieval order", exc)
                        self._ranker = None
        return self._ranker or None

    @property
    def understander(self) -> Any:
        if self._understander is None:
            with self._lock:
                if self._understander is None:
                    from assistant.understand import Understander
                    from assistant.vocabulary import Vocabulary

                    vocab = Vocabulary.from_products(self.store.iter_products())
                    self._understander = Understander.from_settings(self.settings, vocab=vocab, llm=self.llm,
                                                                    bitext_train=self.bitext_train)
        return self._understander

    @property
    def knowledge(self) -> Any:
        if self._knowledge is None:
            with self._lock:
                if self._knowledge is None:
                    from assistant.knowledge import PolicyKnowledgeBase

                    embedder = self._search.embedder if self._search is not None else None
                    self._knowledge = PolicyKnowledgeBase.from_settings(self.settings, self.policy_paths, embedder)
        return self._knowledge

    @property
    def explainer(self) -> Explainer:
        if self._explainer is None:
            with self._lock:
                if self._explainer is None:
                    vocab = getattr(self.understander, "vocab", None)
                    # brands that are ordinary words ("unique", "classic") are checked only when written
                    # capitalised, by the checker's name rule
                    brands = set(getattr(vocab, "brands", ())) - set(getattr(vocab, "ambiguous_brands", ()))
                    self._explainer = Explainer(self.llm, known_brands=brands)
        return self._explainer

    # -- what a turn calls -------------------------------------------------------------------
    def understand(self, message: str, dialogue: DialogueState) -> Any:
        """The understood request; never raises (a failing understander gives a plain search)."""
        try:
            return self.understander.understand(message, dialogue)
        except Exception:  # noqa: BLE001 - a turn must survive a broken understander
            log.exception("understanding failed; treating the message as a search")
            from assistant.understand import Request

            return Request(intent="search", query=message[:200], message=message, source="fallback")

    def policy_answer(self, question: str, min_score: float | None = None) -> Any:
        """The knowledge base's answer; with ``min_score``, a weaker match counts as not found."""
        answer = self.knowledge.answer(question)
        if answer.found and min_score is not None and answer.score < min_score:
            answer.found, answer.text, answer.sources = False, "", []
        return answer

    def explain(self, facts: ItemFacts, picks: list[ProductPick]) -> tuple[str, str]:
        checker = self.explainer.with_brands(f.brand for f in self._pick_products(picks) if f.brand)
        sentence, source, _ = self.explainer.explain(facts, checker)
        return sentence, source

    def _pick_products(self, picks: list[ProductPick]) -> list[Any]:
        return list(self.store.get_products([p.id for p in picks]).values())

    def shop(self, turn: Any, page_size: int) -> tuple[Reply, list[ItemFacts]]:
        """Search/refine/recommend/compare/product question: the reply with template explanations,
        and the facts for each pick (for the LLM explanations that follow)."""
        request, state = turn.request, turn.state
        state.dialogue = apply(state.dialogue, request)
        dialogue = state.dialogue
        slots = dialogue.reply_slots(request)
        reply = Reply(session_id=turn.session_id, intent=request.intent, slots=slots)
        history = history_facts(self.store, turn.user)
        request_text = f"{dialogue.search_query()} {request.message}".strip()
        if request.intent in ("compare", "product_question"):
            focus = dialogue.focus_ids or [p.id for p in dialogue.shown[:2 if request.intent == "compare" else 1]]
            found = self.store.get_products(focus)
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
            items = self._find(turn, dialogue, request, page_size)
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

    def _find(self, turn: Any, dialogue: DialogueState, request: Any, page_size: int) -> list[tuple]:
        from retrieval.search import SearchFilters

        query = dialogue.search_query() or request.query
        ranker = self.ranker
        if request.intent == "recommend" and not query.strip() and ranker is not None and turn.user:
            return [(r.product, r.score, dict(r.scores or {})) for r in ranker.recommend(turn.user, page_size)]
        filters = SearchFilters(**dialogue.filter_kwargs())
        hits = self.search.search(query, filters=filters, k=self.settings.rerank_candidates)
        if not hits and filters.category:
            # a category word is a hint, not a promise: catalog paths rarely use the shopper's noun
            # ("lego sets" vs "Characters & Brands > LEGO"). Price, brand and colour stay hard.
            relaxed = SearchFilters(**{**dialogue.filter_kwargs(), "category": None})
            hits = self.search.search(query, filters=relaxed, k=self.settings.rerank_candidates)
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

    def close(self) -> None:
        """Free the LLM (llama.cpp) and the store connections."""
        model = getattr(self.llm, "_model", None) if self.llm else None
        client = getattr(model, "client", None)
        if client is not None and hasattr(client, "close"):
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self.store.close()

    def add_event(self, **values: Any) -> None:
        """Store one event (``catalog.events.EventStore`` when present, else the events table directly)."""
        try:
            from catalog.events import EventStore
            from catalog.records import Event

            EventStore(self.store).add(Event(**{k: v for k, v in values.items() if v is not None}))
            return
        except ImportError:
            pass
        with self.store.engine.begin() as conn:
            conn.execute(insert(schema.events).values(ts=datetime.now(timezone.utc), **values))


def _sort(items: list[tuple], sort: str | None) -> list[tuple]:
    if sort == "price_asc":
        return sorted(items, key=lambda i: (i[0].price is None, i[0].price or 0))
    if sort == "price_desc":
        return sorted(items, key=lambda i: (i[0].price is None, -(i[0].price or 0)))
    if sort == "rating":
        return sorted(items, key=lambda i: (i[0].rating is None, -(i[0].rating or 0)))
    return items

"""The lazily loaded, shared parts of the assistant: store, search, ranker, understander, LLM,
explainer and policy knowledge base. Each loads on first use, once, under a lock, and is then shared
read-only by all sessions. Any of them can be passed in ready-made (tests pass fakes).

Example::

    parts = Components(Settings(llm_profile="smollm2"))
    parts.policy_answer("how long do refunds take?").sources     # ['refunds.md § When you get your refund']
"""
from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert

from assistant.answers.explain import Explainer
from assistant.answers.factcheck import ItemFacts
from assistant.understanding.state import DialogueState
from assistant.types import ProductPick
from catalog import schema
from catalog.settings import Settings
from catalog.store import Store

log = logging.getLogger("shopassist.agent")


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
        self._kinds: Any = None
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
                    from assistant.understanding.understand import Understander
                    from assistant.understanding.vocabulary import Vocabulary

                    vocab = Vocabulary.from_products(self.store.iter_products())
                    self._understander = Understander.from_settings(self.settings, vocab=vocab, llm=self.llm,
                                                                    bitext_train=self.bitext_train)
        return self._understander

    @property
    def kinds(self) -> Any:
        """The :class:`assistant.understanding.focus.KindIndex` of the catalog (what kinds it carries)."""
        if self._kinds is None:
            with self._lock:
                if self._kinds is None:
                    from assistant.understanding.focus import KindIndex

                    self._kinds = KindIndex(self.store.iter_products())
        return self._kinds

    @property
    def knowledge(self) -> Any:
        if self._knowledge is None:
            with self._lock:
                if self._knowledge is None:
                    from assistant.answers.knowledge import PolicyKnowledgeBase

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
            from assistant.understanding.understand import Request

            return Request(intent="search", query=message[:200], message=message, source="fallback")

    def policy_answer(self, question: str, min_score: float | None = None) -> Any:
        """The knowledge base's answer; with ``min_score``, a weaker match counts as not found."""
        answer = self.knowledge.answer(question)
        if answer.found and min_score is not None and answer.score < min_score:
            answer.found, answer.text, answer.sources = False, "", []
        return answer

    def explain_all(self, facts: list[ItemFacts], picks: list[ProductPick]) -> list[tuple[str, str]]:
        """Sentences for all picks in one LLM call (fact-checked; templates where one fails)."""
        checker = self.explainer.with_brands(f.brand for f in self._pick_products(picks) if f.brand)
        return self.explainer.explain_all(facts, checker)

    def _pick_products(self, picks: list[ProductPick]) -> list[Any]:
        return list(self.store.get_products([p.id for p in picks]).values())

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

"""What runs a conversation for :mod:`eval.conversation_eval`: the full assistant, or understanding only.

A runner has ``mode``, ``llm_description``, ``llm_calls``, ``new_session(conversation_id) -> session``
and ``turn(session, message) -> {"intent", "slots", "explanations_shown", "explanations_llm",
"explanations_passed"}``. :func:`build_runner` picks :class:`AssistantRunner` when
``assistant.agent.ShoppingAssistant`` imports and builds from the settings, else
:class:`UnderstandingRunner` (and says why in ``fallback_reason``).
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from assistant.understanding.state import DialogueState, apply
from assistant.understanding.understand import Understander
from assistant.understanding.vocabulary import Vocabulary


class UnderstandingRunner:
    """Understanding + dialogue state, no search: slots and intents only."""

    mode = "understanding+state (no search, no explanations)"

    def __init__(self, understander: Understander) -> None:
        self.understander = understander
        self.llm_calls = 0
        llm = understander.llm
        self.llm_description = llm.describe() if llm is not None else "none (rules + classifier only)"

    def new_session(self, conversation_id: str) -> dict[str, Any]:
        return {"state": DialogueState()}

    def turn(self, session: dict[str, Any], message: str) -> dict[str, Any]:
        request = self.understander.understand(message, session["state"])
        self.llm_calls += request.source in ("llm", "fallback")
        session["state"] = apply(session["state"], request)
        return {"intent": request.intent, "slots": session["state"].reply_slots(request),
                "turn_slots": request.slots.filled(), "source": request.source}


class AssistantRunner:
    """The full ``ShoppingAssistant``: search, rerank, explanations; explanations re-checked here."""

    mode = "full assistant"

    def __init__(self, assistant: Any, settings: Any) -> None:
        self.assistant = assistant
        self.llm_calls = 0
        llm = getattr(assistant, "llm", None)
        self.llm_description = llm.describe() if hasattr(llm, "describe") else settings.llm_profile
        self._checker = None

    def new_session(self, conversation_id: str) -> str:
        return f"eval-{conversation_id}-{uuid.uuid4().hex[:8]}"

    def turn(self, session: str, message: str) -> dict[str, Any]:
        reply = self.assistant.respond(session, message)
        shown = len(reply.products)
        from_llm = sum(p.explanation_source == "llm" for p in reply.products)
        passed = sum(self._passes(p, message, reply.slots) for p in reply.products)
        return {"intent": reply.intent, "slots": dict(reply.slots), "explanations_shown": shown,
                "explanations_llm": from_llm, "explanations_passed": passed}

    def _passes(self, pick: Any, message: str, slots: dict[str, Any]) -> bool:
        """Re-check a shown explanation with the fact checker against the stored product record."""
        try:
            from assistant.answers.factcheck import FactChecker, ItemFacts

            store = getattr(self.assistant, "store", None)
            product = store.get_product(pick.id) if store is not None else None
            if product is None:
                return False
            if self._checker is None:
                self._checker = FactChecker(known_brands=getattr(getattr(self.assistant, "vocab", None), "brands", ()))
            return bool(self._checker.check(pick.explanation, ItemFacts.build(product, request_text=message,
                                                                              slots=slots)).ok)
        except Exception:  # noqa: BLE001 - an unverifiable sentence counts as not faithful
            return False


def build_runner(settings: Any, understanding_only: bool = False, llm_profile: str | None = None,
                 llm_threshold: float = 0.5, bitext_train: str | Path | None = None,
                 vocab: Vocabulary | None = None) -> tuple[Any, str | None]:
    """(runner, fallback_reason). ``llm_profile="none"`` disables the LLM fallback of understanding."""
    reason = None
    if not understanding_only:
        try:
            from assistant.agent import ShoppingAssistant

            return AssistantRunner(ShoppingAssistant.from_settings(settings), settings), None
        except Exception as exc:  # noqa: BLE001 - fall back, and say why
            reason = f"full assistant unavailable ({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})"
    llm = None
    if llm_profile != "none":
        from assistant.llm import LLMProvider

        llm = LLMProvider.from_settings(settings, profile=llm_profile)
    understander = Understander.from_settings(settings, vocab=vocab or catalog_vocabulary(settings), llm=llm,
                                              bitext_train=bitext_train, llm_threshold=llm_threshold)
    return UnderstandingRunner(understander), reason


def catalog_vocabulary(settings: Any) -> Vocabulary:
    """Brands and categories of the products in the store, or the built-in vocabulary when it is empty."""
    try:
        from catalog.store import Store

        store = Store.from_settings(settings)
        if store.count_products():
            return Vocabulary.from_products(store.iter_products())
    except Exception:  # noqa: BLE001 - no store yet: the built-in words still work
        pass
    return demo_vocabulary()


def demo_vocabulary() -> Vocabulary:
    """Brands of the demo catalog files under data/demo when present, else the defaults."""
    root = Path(__file__).resolve().parent.parent / "data" / "demo"
    try:
        from catalog.loaders import load_products

        products = []
        for path in sorted(root.glob("*")):
            if path.suffix in (".csv", ".jsonl", ".parquet", ".gz"):
                products.extend(load_products(path).products)
        if products:
            return Vocabulary.from_products(products)
    except Exception:  # noqa: BLE001
        pass
    return Vocabulary.default()

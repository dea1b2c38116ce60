"""Fixtures for the agent tests: a real store + real search over the 40-product mini catalog (built once
per session), the real intent classifier and policy knowledge base, and scripted LangChain fake chat
models so every path of a turn is deterministic.

``make_assistant(responder)`` builds a fresh :class:`ShoppingAssistant` on the shared parts whose LLM
is a LangChain fake answering with ``responder(messages) -> str``.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.chat_models import SimpleChatModel

from assistant.explain import SYSTEM_PROMPT as EXPLAIN_PROMPT

FIXTURES = Path(__file__).parents[1] / "fixtures"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before llama_cpp loads: see assistant.agent_parts


class ScriptedChatModel(SimpleChatModel):
    """A LangChain fake chat model whose answer is computed from the prompt by ``responder``."""

    responder: Callable[[list[Any]], str]
    calls: list[str] = []

    def _call(self, messages, stop=None, run_manager=None, **kwargs) -> str:  # noqa: ANN001
        self.calls.append(messages[-1].content)
        return self.responder(messages)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"


def is_explanation_prompt(messages: list[Any]) -> bool:
    return any(getattr(m, "content", "") == EXPLAIN_PROMPT for m in messages)


def prompt_field(messages: list[Any], name: str) -> str | None:
    """A field of the explanation prompt's Product line ("title", "brand", "price")."""
    found = re.search(rf"\b{name}: ([^;\n]+)", messages[-1].content)
    return found.group(1).strip() if found else None


def faithful(messages: list[Any]) -> str:
    """An explanation that only repeats the prompt's facts (passes the checker); garbage JSON otherwise."""
    if not is_explanation_prompt(messages):
        return "{not json"
    title = prompt_field(messages, "title") or "this item"
    price = prompt_field(messages, "price")
    return f"{title.capitalize()} fits what you asked for{' at ' + price if price else ''}."


@pytest.fixture(scope="session")
def agent_settings(tmp_path_factory):
    from catalog.settings import Settings

    return Settings(data_dir=tmp_path_factory.mktemp("agent") / "var", torch_threads=1, llm_threads=1)


@pytest.fixture(scope="session")
def shared_parts(agent_settings, embedder):
    """Store, search, understander (rules + classifier, no LLM) and knowledge base, built once."""
    from assistant.knowledge import PolicyKnowledgeBase
    from assistant.understand import Understander
    from assistant.vocabulary import Vocabulary
    from catalog.store import Store
    from retrieval.ingest import ingest_file
    from retrieval.search import ProductSearch

    ingest_file(agent_settings, FIXTURES / "mini_catalog.jsonl", progress=False, embedder=embedder, enrich=False)
    store = Store.from_settings(agent_settings)
    search = ProductSearch.from_settings(agent_settings, store=store, embedder=embedder)
    vocab = Vocabulary.from_products(store.iter_products())
    understander = Understander.from_settings(agent_settings, vocab=vocab, llm=None)
    knowledge = PolicyKnowledgeBase.from_settings(agent_settings, embedder=embedder)
    return {"store": store, "search": search, "understander": understander, "knowledge": knowledge}


@pytest.fixture
def make_assistant(agent_settings, shared_parts):
    """Factory: ``make_assistant(responder=faithful, llm_explanations=3, **parts)`` on the shared parts."""
    from assistant.agent import ShoppingAssistant
    from assistant.llm import LLMProvider

    def build(responder: Callable[[list[Any]], str] | None = faithful, llm_explanations: int = 3,
              **overrides: Any) -> ShoppingAssistant:
        parts = dict(shared_parts, ranker=False)
        parts.update(overrides)
        llm = LLMProvider(chat_model=ScriptedChatModel(responder=responder)) if responder else False
        parts.setdefault("llm", llm)
        return ShoppingAssistant.from_settings(agent_settings, llm_explanations=llm_explanations, **parts)

    return build


@pytest.fixture
def session_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


class FixedIntentUnderstander:
    """Wraps the real understander but forces the intent (to test agent paths independently of it)."""

    def __init__(self, real: Any, intent: str, confidence: float = 0.95):
        self.real, self.intent, self.confidence = real, intent, confidence
        self.vocab = real.vocab

    def understand(self, message: str, state: Any = None) -> Any:
        request = self.real.understand_rules(message, state)
        return request.model_copy(update={"intent": self.intent, "confidence": self.confidence})

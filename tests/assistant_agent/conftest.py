"""Fixtures for the agent tests: a real store + real search over the 40-product mini catalog (built once
per session), the real intent classifier and policy knowledge base, and scripted LangChain fake chat
models so every path of a turn is deterministic.

``make_assistant(responder)`` builds a fresh :class:`ShoppingAssistant` on the shared parts whose LLM
is a LangChain fake answering with ``responder(messages) -> str``.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agent_fakes import ScriptedChatModel, faithful

FIXTURES = Path(__file__).parents[1] / "fixtures"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before llama_cpp loads: see assistant.components


@pytest.fixture(scope="session")
def agent_settings(tmp_path_factory):
    from catalog.settings import Settings

    return Settings(data_dir=tmp_path_factory.mktemp("agent") / "var", torch_threads=1, llm_threads=1)


@pytest.fixture(scope="session")
def shared_parts(agent_settings, embedder):
    """Store, search, understander (rules + classifier, no LLM) and knowledge base, built once."""
    from assistant.answers.knowledge import PolicyKnowledgeBase
    from assistant.understanding.understand import Understander
    from assistant.understanding.vocabulary import Vocabulary
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

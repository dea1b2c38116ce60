"""The real LLMs through llama.cpp: smollm2 (fast) on every path that uses the LLM, and one qwen1.5b
multi-turn conversation. Every shown explanation must pass the fact checker, whoever wrote it."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.answers.factcheck import FactChecker, ItemFacts
from assistant.llm import LLMProvider
from assistant.understanding.understand import Understander

REPO = Path(__file__).parents[2]


def _assistant(make_assistant, shared_parts, llm, explanations):
    real = shared_parts["understander"]
    understander = Understander(real.classifier, real.vocab, llm)  # the LLM also resolves unsure messages
    return make_assistant(None, llm_explanations=explanations, llm=llm, understander=understander)


def _all_shown_pass(assistant, reply, message):
    """Re-check every LLM sentence against the record, the message and the reply's slots."""
    checker = FactChecker(assistant.vocab.brands)
    for pick in reply.products:
        assert pick.explanation
        if pick.explanation_source == "llm":
            facts = ItemFacts.build(assistant.store.get_product(pick.id), message, reply.slots)
            assert checker.check(pick.explanation, facts).ok, pick.explanation


@pytest.fixture(scope="module")
def smollm2(agent_settings):
    llm = LLMProvider("smollm2", threads=1, data_dir=agent_settings.data_dir)
    yield llm
    client = getattr(llm._model, "client", None)
    if client is not None:
        client.close()


@pytest.mark.slow
def test_smollm2_turns(make_assistant, shared_parts, smollm2, session_id):
    assistant = _assistant(make_assistant, shared_parts, smollm2, explanations=2)
    replies = list(assistant.respond_stream(session_id, "bellies under 1000 rupees"))
    final = replies[-1]
    assert replies[0].final is False and final.final and final.products
    assert all(p.explanation_source == "template" for p in replies[0].products)
    _all_shown_pass(assistant, final, "bellies under 1000 rupees")
    stats = assistant.parts.explainer.stats
    assert stats.llm_attempted == 2 and 0 <= stats.llm_passed <= 2
    policy = assistant.respond(session_id, "how long do refunds take?")
    assert policy.sources and "From our" in policy.reply
    unsure = assistant.respond(session_id, "hmm, what about that other thing you mentioned earlier")
    assert unsure.intent and unsure.reply  # the LLM may be asked; whatever it says, the turn completes


@pytest.mark.slow
def test_qwen_multi_turn_conversation(make_assistant, shared_parts, agent_settings, session_id):
    from assistant.model_files import ModelFileError, ensure_qwen_gguf

    try:
        path = ensure_qwen_gguf(REPO / "var")  # assembled once for the whole checkout
    except (ModelFileError, FileNotFoundError, ImportError) as exc:
        pytest.skip(f"qwen1.5b parts not installed: {exc}")
    llm = LLMProvider(str(path), threads=2, data_dir=agent_settings.data_dir)
    try:
        assistant = _assistant(make_assistant, shared_parts, llm, explanations=1)
        started = time.perf_counter()
        first = assistant.respond(session_id, "thomas engine under £20", user_id="qwen-shopper")
        assert first.products and first.slots.get("price_max") == 20
        _all_shown_pass(assistant, first, "thomas engine under £20")
        cheaper = assistant.respond(session_id, "cheaper", user_id="qwen-shopper")
        assert cheaper.intent == "refine" and cheaper.slots["price_max"] < min(p.price for p in first.products
                                                                             if p.price is not None) + 0.01
        _all_shown_pass(assistant, cheaper, "thomas engine under £20 cheaper")
        person = assistant.respond(session_id, "ok I'd like to talk to a person now", user_id="qwen-shopper")
        assert person.escalation is not None and person.escalation.reason == "shopper_request"
        assert time.perf_counter() - started < 240
    finally:
        client = getattr(llm._model, "client", None)
        if client is not None:
            client.close()

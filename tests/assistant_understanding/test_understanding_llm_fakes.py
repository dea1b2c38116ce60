"""The LLM fallback with LangChain fakes: valid, garbage, half JSON, wrong enum, exceptions, grounding."""
from __future__ import annotations

import json

import pytest

from assistant.understanding.understand import Understander

VALID = json.dumps({"intent": "complaint", "category": None, "colour": None, "brands": [], "price_max": None,
                    "price_min": None, "keywords": []})


@pytest.fixture
def forced(classifier, vocab, fake_llm):
    """An Understander that always asks the (fake) LLM when the rules see no product."""
    def make(*responses):
        return Understander(classifier, vocab, llm=fake_llm(*responses), llm_threshold=1.01)
    return make


def test_valid_answer_is_used(forced):
    request = forced(VALID).understand("my parcel never came and nobody answers")
    assert (request.intent, request.source) == ("complaint", "llm")


@pytest.mark.parametrize("garbage", [
    "", "I think the user wants a refund.", '{"intent": "complaint", "category": nu', "{", "[1, 2]",
    '{"intent": "buy_a_yacht"}', '{"intent": 3}', "```json\n{\"intent\": \"refund\"}\n```", "null",
    '{"intent": "search", "price_max": "cheap"}'])
def test_garbage_falls_back_to_rules(forced, garbage):
    request = forced(garbage).understand("hmm what do you think")
    assert request.source == "fallback"
    assert request.llm_error
    assert request.intent  # the rules/classifier result


def test_code_fenced_json_is_accepted(forced):
    request = forced("```json\n" + VALID + "\n```").understand("nobody answers my emails")
    assert request.source == "llm" and request.intent == "complaint"


def test_backend_exception_falls_back(classifier, vocab):
    from assistant.llm import LLMProvider

    class Broken:
        def invoke(self, *args, **kwargs):
            raise RuntimeError("llama_decode returned -3")

    request = Understander(classifier, vocab, llm=LLMProvider(chat_model=Broken()), llm_threshold=1.01) \
        .understand("hmm what do you think")
    assert request.source == "fallback" and "llama_decode" in request.llm_error


def test_llm_slots_must_be_grounded_in_the_message(forced):
    answer = json.dumps({"intent": "search", "category": "yachts", "colour": "crimson", "brands": ["gucci"],
                         "price_max": 999, "price_min": None, "keywords": ["soft", "luxury"]})
    request = forced(answer).understand("something soft and crimson for my sister")
    assert request.intent == "search" and request.source == "llm"
    assert request.slots.category is None and request.slots.brands == [] and request.slots.price_max is None
    assert request.slots.colour == "crimson" and "soft" in request.slots.keywords


def test_common_case_never_calls_the_llm(classifier, vocab, fake_llm):
    llm = fake_llm("this would break the test if used")
    understander = Understander(classifier, vocab, llm=llm, llm_threshold=0.5)
    for message in ["red sneakers under $80", "where is my order 00123842", "compare the first two", "hi"]:
        assert understander.understand(message).source in ("rules", "classifier")


def test_json_helper_and_stream_with_fakes(fake_llm):
    llm = fake_llm('{"a": 1}', "Hello there")
    assert llm.generate_json([("user", "x")], {"type": "object"}) == '{"a": 1}'
    assert "".join(llm.stream([("user", "y")])) == "Hello there"
    assert llm.kind == "injected"

"""Understanding with the real GGUF models (both profiles), forced through the LLM fallback.

One short schema-constrained call per profile (max 60 new tokens). SmolLM2 is too weak to be right
(DESIGN.md), so its test only requires a valid, non-crashing result; Qwen must resolve the message.
"""
from __future__ import annotations

import pytest

from assistant.understanding.intents import ALL_INTENTS
from assistant.understanding.understand import Understander

pytestmark = pytest.mark.slow
MESSAGE = "my parcel never showed up and nobody answers my emails"


def _forced(classifier, vocab, llm):
    return Understander(classifier, vocab, llm=llm, llm_threshold=1.01)


def test_smollm2_understanding_is_valid(classifier, vocab, smollm2_llm):
    request = _forced(classifier, vocab, smollm2_llm).understand(MESSAGE)
    assert request.intent in ALL_INTENTS
    assert request.source in ("llm", "fallback")


def test_qwen_understanding_resolves_a_service_message(classifier, vocab, qwen_llm):
    request = _forced(classifier, vocab, qwen_llm).understand(MESSAGE)
    assert request.source == "llm", request.llm_error
    assert request.intent in {"complaint", "track_order", "delivery_period", "contact_customer_service",
                              "contact_human_agent", "delivery_options"}

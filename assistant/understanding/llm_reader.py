"""The LLM fallback of understanding: a short prompt, a JSON schema with enums, strict validation.

:func:`ask_llm` is called by :class:`assistant.understanding.understand.Understander` only when rules and the
classifier are unsure. The model must answer with ``{"intent": <enum>, "category": …, "colour": …,
"brands": […], "price_max": …, …}``; the schema is enforced while decoding (llama.cpp grammar /
Ollama format / response_format) and the text is then validated with pydantic. Whatever goes wrong —
garbage, half JSON, an intent outside the enum, a timeout-ish exception from the backend — the rules
result comes back with ``source="fallback"`` and ``llm_error`` saying why. Never raises.

LLM slot values are only *added* where the rules found nothing, and only when they are grounded in
the message (the value appears in the text; a price's digits appear in the text), so a weak model
cannot invent a brand or a price.
"""
from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator

from assistant.understanding.intents import ALL_INTENTS, SHOPPING_INTENTS
from assistant.understanding.slots import rewrite_query
from assistant.understanding.vocabulary import Vocabulary

SYSTEM_PROMPT = (
    "You label messages sent to an online shop's assistant. Reply with JSON only. intent: search (find "
    "products), refine (change the last search), compare, product_question (about a shown product), recommend, "
    "a customer-service intent (track_order, get_refund, cancel_order, contact_human_agent, complaint, ...), "
    "chitchat, or other. Fill slots only with words from the message; use null when absent."
)
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("i'd like some crimson trainers for jogging, 60 quid tops",
     '{"intent": "search", "category": "trainers", "colour": "crimson", "brands": [], "price_max": 60, '
     '"price_min": null, "keywords": ["jogging"]}'),
    ("my parcel never showed up and nobody answers",
     '{"intent": "complaint", "category": null, "colour": null, "brands": [], "price_max": null, '
     '"price_min": null, "keywords": []}'),
)


def understanding_schema() -> dict[str, Any]:
    """The JSON schema the LLM must follow (intent enum over all intents)."""
    nullable_str = {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}]}
    nullable_num = {"anyOf": [{"type": "number"}, {"type": "null"}]}
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": list(ALL_INTENTS)},
            "category": nullable_str,
            "colour": nullable_str,
            "brands": {"type": "array", "items": {"type": "string", "maxLength": 30}, "maxItems": 3},
            "price_max": nullable_num,
            "price_min": nullable_num,
            "keywords": {"type": "array", "items": {"type": "string", "maxLength": 30}, "maxItems": 4},
        },
        "required": ["intent", "category", "colour", "brands", "price_max", "price_min", "keywords"],
        "additionalProperties": False,
    }


class LLMUnderstanding(BaseModel):
    """A validated LLM answer. Unknown intents are rejected; slot strings are lower-cased."""

    intent: str
    category: str | None = None
    colour: str | None = None
    brands: list[str] = []
    price_max: float | None = None
    price_min: float | None = None
    keywords: list[str] = []

    @field_validator("intent")
    @classmethod
    def _known_intent(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ALL_INTENTS:
            raise ValueError(f"unknown intent {value!r}")
        return value

    @field_validator("category", "colour")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() or None if isinstance(value, str) else None

    @field_validator("brands", "keywords")
    @classmethod
    def _lower_list(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if isinstance(v, str) and v.strip()]


def parse_llm_json(text: str) -> LLMUnderstanding:
    """Parse and validate the model's text. Raises ValueError with a short reason on anything odd.

    Tolerates code fences and text around one JSON object; does not repair truncated JSON.
    """
    text = (text or "").strip()
    if text.startswith("```"):
        text = re.sub(r"^```[a-z]*\s*|\s*```$", "", text)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError("JSON is not an object")
    try:
        return LLMUnderstanding.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"schema violation: {exc.errors()[0]['msg']}") from exc


def build_messages(message: str) -> list[tuple[str, str]]:
    """System prompt, two worked examples, then the message (about 300 tokens in all)."""
    messages: list[tuple[str, str]] = [("system", SYSTEM_PROMPT)]
    for user, answer in EXAMPLES:
        messages += [("user", user), ("assistant", answer)]
    messages.append(("user", message[:500]))
    return messages


def _grounded(value: str, text: str) -> bool:
    return bool(value) and value.lower() in text


def merge_llm(request: Any, answer: LLMUnderstanding, vocab: Vocabulary) -> Any:
    """The rules request with the LLM's intent and the grounded slots the rules missed."""
    text = request.message.lower()
    slots = request.slots.model_copy(deep=True)
    if answer.intent in SHOPPING_INTENTS:
        if not slots.category and answer.category and _grounded(answer.category, text):
            slots.category = vocab.canonical_category(answer.category, fuzzy=False) or answer.category
        if not slots.colour and answer.colour and _grounded(answer.colour, text):
            slots.colour = vocab.canonical_colour(answer.colour) or answer.colour
        if not slots.brands:
            slots.brands = [b for b in answer.brands if _grounded(b, text) and b not in slots.brands_exclude][:3]
        for name in ("price_max", "price_min"):
            value = getattr(answer, name)
            if getattr(slots, name) is None and value is not None and value >= 0 \
                    and re.search(rf"\b{int(value)}\b", text.replace(",", "")):
                setattr(slots, name, float(value))
        if not slots.keywords:
            slots.keywords = [k for k in answer.keywords if _grounded(k, text)][:4]
    else:
        slots.keywords = []

    return request.model_copy(update={"intent": answer.intent, "slots": slots, "source": "llm",
                                      "confidence": max(request.confidence, 0.6),
                                      "query": rewrite_query(request.message, slots)})


def ask_llm(llm: Any, message: str, request: Any, vocab: Vocabulary, max_tokens: int = 90) -> Any:
    """Ask ``llm`` (an LLMProvider) to resolve ``message``; on any failure return ``request`` as fallback."""
    try:
        text = llm.generate_json(build_messages(message), understanding_schema(), max_tokens=max_tokens)
        answer = parse_llm_json(text)
    except Exception as exc:  # noqa: BLE001 - the LLM must never break a turn
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return request.model_copy(update={"source": "fallback", "llm_error": reason})
    return merge_llm(request, answer, vocab)

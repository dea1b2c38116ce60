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
    "You read messages sent to an online shop's assistant and reply with JSON only. intent: search (find "
    "products), refine (change the last search), compare, product_question (about a shown product), recommend, "
    "a customer-service intent (track_order, get_refund, cancel_order, contact_human_agent, complaint, ...), "
    "chitchat or other. search_query: 2-5 words naming concrete products that would fulfil the wish (a gift "
    "idea, an activity, a problem to solve), using the conversation for references; empty when not shopping. "
    "Other fields only with words from the message, else null."
)
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("something to help my grandad relax in the garden, 60 quid tops",
     '{"intent": "search", "search_query": "garden hammock deck chair", "category": null, "colour": null, '
     '"brands": [], "price_max": 60, "price_min": null}'),
    ("a gift for a 10 year old who wants to be a scientist",
     '{"intent": "search", "search_query": "science experiment kit", "category": null, "colour": null, '
     '"brands": [], "price_max": null, "price_min": null}'),
    ("my parcel never showed up and nobody answers",
     '{"intent": "complaint", "search_query": "", "category": null, "colour": null, "brands": [], '
     '"price_max": null, "price_min": null}'),
)


def understanding_schema() -> dict[str, Any]:
    """The JSON schema the LLM must follow (intent enum over all intents)."""
    nullable_str = {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}]}
    nullable_num = {"anyOf": [{"type": "number"}, {"type": "null"}]}
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": list(ALL_INTENTS)},
            "search_query": {"type": "string", "maxLength": 50},
            "category": nullable_str,
            "colour": nullable_str,
            "brands": {"type": "array", "items": {"type": "string", "maxLength": 30}, "maxItems": 3},
            "price_max": nullable_num,
            "price_min": nullable_num,
        },
        "required": ["intent", "search_query", "category", "colour", "brands", "price_max", "price_min"],
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
    search_query: str = ""

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

    @field_validator("brands")
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


def build_messages(message: str, context: str = "") -> list[tuple[str, str]]:
    """System prompt and worked examples (a fixed prefix, so llama.cpp reuses its evaluated tokens),
    then the dialogue context and the message (about 350 tokens in all)."""
    messages: list[tuple[str, str]] = [("system", SYSTEM_PROMPT)]
    for user, answer in EXAMPLES:
        messages += [("user", user), ("assistant", answer)]
    text = message[:500]
    messages.append(("user", f"[conversation so far: {context[:400]}]\n{text}" if context else text))
    return messages


def dialogue_context(state: Any) -> str:
    """The state the LLM needs to resolve references: the topic, the last shown items, recent turns."""
    if state is None:
        return ""
    parts = []
    topic = state.search_query() if hasattr(state, "search_query") else ""
    if topic:
        parts.append(f"searching for {topic}")
    shown = [f"{i}. {p.title[:40]}" for i, p in enumerate(getattr(state, "shown", [])[:3], 1)]
    if shown:
        parts.append("shown: " + "; ".join(shown))
    recent = getattr(state, "recent", [])[-2:]
    if recent:
        parts.append("shopper said: " + " | ".join(r[:80] for r in recent))
    return ". ".join(parts)


def _grounded(value: str, text: str) -> bool:
    return bool(value) and value.lower() in text


def merge_llm(request: Any, answer: LLMUnderstanding, vocab: Vocabulary) -> Any:
    """The rules request with the LLM's intent, its search query and the grounded slots the rules missed."""
    text = request.message.lower()
    intent = answer.intent
    if request.source == "rules" and request.intent == "search" and answer.search_query.strip() \
            and intent not in ("search", "recommend"):
        intent = "search"  # the rules saw a product request and the model's own query agrees
    slots = request.slots.model_copy(deep=True)
    if intent in SHOPPING_INTENTS:
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
    else:
        slots.keywords = []
    # the rewrite is only a retrieval query (never a filter), so it may use words the shopper did not;
    # prices and currency words are filters already
    query = re.sub(r"[$£€₹]\s*\d+|\b(?:under|below|over|less than)\b.*$", "", answer.search_query).strip()
    search_text = " ".join(query.split()[:6]) if intent in SHOPPING_INTENTS else ""
    return request.model_copy(update={"intent": intent, "slots": slots, "source": "llm",
                                      "confidence": max(request.confidence, 0.6),
                                      "query": rewrite_query(request.message, slots),
                                      "search_text": search_text or None})


def ask_llm(llm: Any, message: str, request: Any, vocab: Vocabulary, max_tokens: int = 90, state: Any = None) -> Any:
    """Ask ``llm`` (an LLMProvider) to resolve ``message`` in the context of ``state`` (a DialogueState);
    on any failure return ``request`` as fallback."""
    try:
        text = llm.generate_json(build_messages(message, dialogue_context(state)), understanding_schema(),
                                 max_tokens=max_tokens)
        answer = parse_llm_json(text)
    except Exception as exc:  # noqa: BLE001 - the LLM must never break a turn
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return request.model_copy(update={"source": "fallback", "llm_error": reason})
    return merge_llm(request, answer, vocab)

"""Fakes shared by the agent tests (a module with a unique name: ``conftest`` is ambiguous across folders)."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from langchain_core.language_models.chat_models import SimpleChatModel

from assistant.answers.explain import BATCH_PROMPT
from assistant.answers.explain import SYSTEM_PROMPT as EXPLAIN_PROMPT


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
    return any(getattr(m, "content", "") in (EXPLAIN_PROMPT, BATCH_PROMPT) for m in messages)


def is_batch_prompt(messages: list[Any]) -> bool:
    return any(getattr(m, "content", "") == BATCH_PROMPT for m in messages)


def prompt_field(messages: list[Any], name: str) -> str | None:
    """A field of the explanation prompt's Product line ("title", "brand", "price")."""
    found = re.search(rf"\b{name}: ([^;\n]+)", messages[-1].content)
    return found.group(1).strip() if found else None


def faithful(messages: list[Any]) -> str:
    """An explanation that only repeats the prompt's facts (passes the checker); garbage JSON otherwise."""
    if not is_explanation_prompt(messages):
        return "{not json"
    if is_batch_prompt(messages):  # "N. title; brand B; ₹499.00; ..." -> "N. Title fits ... at ₹499.00."
        out = []
        for m in re.finditer(r"^(\d+)\. ([^;\n]+)(?:;[^\n]*?([₹£$€][\d,.]+))?", messages[-1].content, re.M):
            price = f" at {m.group(3)}" if m.group(3) else ""
            out.append(f"{m.group(1)}. {m.group(2).strip().capitalize()} fits what you asked for{price}.")
        return "\n".join(out)
    title = prompt_field(messages, "title") or "this item"
    price = prompt_field(messages, "price")
    return f"{title.capitalize()} fits what you asked for{' at ' + price if price else ''}."


class FixedIntentUnderstander:
    """Wraps the real understander but forces the intent (to test agent paths independently of it)."""

    def __init__(self, real: Any, intent: str, confidence: float = 0.95):
        self.real, self.intent, self.confidence = real, intent, confidence
        self.vocab = real.vocab

    def understand(self, message: str, state: Any = None) -> Any:
        request = self.real.understand_rules(message, state)
        return request.model_copy(update={"intent": self.intent, "confidence": self.confidence})

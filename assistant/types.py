"""What one assistant turn returns: the contract shared by the agent, the CLI, the API and the UI.

``Reply.to_json()`` is exactly the JSON of ``shopassist chat --once --json`` and ``POST /api/v1/chat``.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ProductPick(BaseModel):
    id: str
    title: str
    price: float | None = None
    currency: str | None = None
    image_url: str | None = None
    score: float
    scores: dict[str, float] = Field(default_factory=dict)  # breakdown: query relevance, affinity, popularity ...
    explanation: str = ""
    explanation_source: Literal["template", "llm"] = "template"
    alternative: bool = False  # shown as the closest thing the shop has, not as a match


class EscalationInfo(BaseModel):
    id: int
    reason: str
    status: str = "open"
    order_id: str | None = None
    message: str = ""  # what the shopper is told happens next


class TurnTrace(BaseModel):
    """How the turn ran, for the query log (not part of ``to_json``): time per stage and the search query."""

    stages_ms: dict[str, float] = Field(default_factory=dict)  # understand, retrieve, rerank, explain
    search_query: str | None = None


Route = Literal["products", "answer", "escalate", "refuse", "no_match", "compare", "product_question",
                "recommend_shown", "clarify", "chitchat", "other"]


class Reply(BaseModel):
    session_id: str
    intent: str
    route: Route = "other"  # what the turn did (products shown, a policy answer, a refusal, "we don't carry that" ...)
    slots: dict[str, Any] = Field(default_factory=dict)
    products: list[ProductPick] = Field(default_factory=list)
    reply: str = ""
    escalation: EscalationInfo | None = None
    sources: list[str] = Field(default_factory=list)  # knowledge-base documents quoted
    final: bool = True  # False for the early streamed version (template explanations)
    trace: TurnTrace = Field(default_factory=TurnTrace)  # stage timings for the query log

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "route": self.route,
            "slots": self.slots,
            "products": [{"id": p.id, "title": p.title, "price": p.price, "currency": p.currency,
                          "score": round(p.score, 4), "explanation": p.explanation,
                          "alternative": p.alternative} for p in self.products],
            "reply": self.reply,
            "escalation": self.escalation.model_dump() if self.escalation else None,
        }

"""When to hand a conversation to a person, and what to tell the shopper.

:func:`decide` applies the rules, in this order (the first that fires wins):

==========================  ============================================================================
reason                      fires when
==========================  ============================================================================
``shopper_request``         the intent is ``contact_human_agent`` / ``contact_customer_service``, or the
                            message asks for a person ("talk to a human", "real person", "agent")
``negative_sentiment``      :func:`sentiment` ≤ ``-0.6`` (strong anger/frustration), or a ``complaint``
``payment_problem``         ``payment_issue``, or the message describes one ("charged twice", "card
                            declined"): the assistant cannot see payments
``order_problem``           order actions the assistant cannot do (track, cancel, change, refund status,
                            invoices, address change of an order), or a non-shopping message describing
                            one ("where is my parcel", "order arrived damaged") — it has no access to orders
``repeated_failure``        this turn and the one before it were not useful (no products, no policy
                            answer), i.e. ``failed_turns >= 2``
==========================  ============================================================================

:func:`sentiment` is a small lexicon scorer in [-1, 1] (negative words, intensifiers, "!!!", ALL CAPS);
it is cheap, deterministic and only has to find *strong* negative sentiment.

Example::

    d = decide("this is useless, I want a real person NOW", intent="complaint", failed_turns=0)
    d.reason, round(d.sentiment, 2)     # ('shopper_request', -0.8)
    next_steps(d.reason, ticket_id=7, order_id=None)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SHOPPER_REQUEST_INTENTS = ("contact_human_agent", "contact_customer_service")
PAYMENT_INTENTS = ("payment_issue",)
ORDER_INTENTS = ("track_order", "cancel_order", "change_order", "track_refund", "get_refund", "get_invoice",
                 "check_invoice", "change_shipping_address")
_SHOPPING = ("search", "refine", "compare", "product_question", "recommend")
REASONS = ("shopper_request", "negative_sentiment", "payment_problem", "order_problem", "repeated_failure")
NEGATIVE_THRESHOLD = -0.6
MIN_CONFIDENCE = 0.3

_HUMAN = re.compile(r"\b(talk|speak|chat|connect|transfer|put)\b.{0,30}\b(human|person|agent|someone|somebody|"
                    r"representative|operator|manager|supervisor|staff|people)\b|\b(real|live|actual) "
                    r"(person|human|agent)\b|\bhuman (agent|being)\b",
                    re.IGNORECASE)
_ORDER_PROBLEM = re.compile(
    r"\b(where(?: is|'s)|track|late|delayed|missing|lost|stuck|cancel|change|damaged|broken|wrong)\b.{0,40}"
    r"\b(order|parcel|package|delivery|shipment)\b|\b(order|parcel|package|delivery|shipment)\b.{0,40}"
    r"\b(late|delayed|missing|lost|stuck|not arrived|hasn't arrived|never arrived|didn't arrive|never came|"
    r"damaged|broken|wrong)\b", re.IGNORECASE)
_PAYMENT_PROBLEM = re.compile(
    r"\b(charged (twice|two times|double)|double[- ]charged|card (was |got |is )?(declined|rejected)|"
    r"payment (failed|declined|didn't go through|did not go through|was rejected)|unknown charge|"
    r"don't recogni[sz]e (a|the|this) charge|overcharged)\b", re.IGNORECASE)
_NEGATIVE = {
    "useless": 0.6, "terrible": 0.6, "awful": 0.6, "horrible": 0.6, "worst": 0.7, "hate": 0.6, "angry": 0.6,
    "furious": 0.8, "ridiculous": 0.5, "unacceptable": 0.7, "disgusting": 0.7, "pathetic": 0.7, "scam": 0.8,
    "fraud": 0.8, "stupid": 0.5, "rubbish": 0.5, "garbage": 0.5, "joke": 0.3, "annoyed": 0.4, "annoying": 0.4,
    "frustrated": 0.5, "frustrating": 0.5, "disappointed": 0.4, "disappointing": 0.4, "sucks": 0.6, "broken": 0.2,
    "wtf": 0.7, "damn": 0.4, "shit": 0.7, "crap": 0.6, "fed up": 0.6, "sick of": 0.6, "never again": 0.6,
    "waste": 0.4, "incompetent": 0.7, "lied": 0.6, "liar": 0.7, "complaint": 0.3, "complain": 0.3, "upset": 0.5,
    "not happy": 0.4, "unhappy": 0.4, "bad": 0.2, "poor": 0.2, "wrong": 0.1, "lawyer": 0.6, "sue": 0.6,
}
_POSITIVE = {"thanks": 0.3, "thank you": 0.4, "great": 0.3, "love": 0.4, "perfect": 0.4, "awesome": 0.4,
             "excellent": 0.4, "nice": 0.2, "helpful": 0.3, "good": 0.2}
_INTENSIFIERS = re.compile(r"\b(so|very|really|absolutely|totally|completely|extremely|utterly)\b", re.IGNORECASE)


@dataclass(frozen=True)
class EscalationDecision:
    """Why to escalate, with the turn's intent and sentiment (stored on the ticket)."""

    reason: str
    intent: str | None
    sentiment: float


def sentiment(message: str) -> float:
    """Lexicon sentiment in [-1, 1]; ≤ -0.6 means strongly negative."""
    text = (message or "").lower()
    if not text.strip():
        return 0.0
    score = 0.0
    for table, sign in ((_NEGATIVE, -1.0), (_POSITIVE, 1.0)):
        for phrase, weight in table.items():
            hits = len(re.findall(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text))
            if hits and sign > 0 and re.search(rf"\bnot\s+{re.escape(phrase)}", text):
                sign_weight = -weight  # "not great"
            else:
                sign_weight = sign * weight
            score += sign_weight * min(hits, 2)
    if score < 0:
        boost = 1.0 + 0.25 * len(_INTENSIFIERS.findall(text))
        if message.count("!") >= 2:
            boost += 0.25
        letters = [c for c in message if c.isalpha()]
        if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
            boost += 0.5
        score *= boost
    return max(-1.0, min(1.0, score))


def asks_for_person(message: str) -> bool:
    """True when the message asks for a human ("can I talk to a real person?")."""
    return bool(_HUMAN.search(message or ""))


def decide(message: str, intent: str | None, failed_turns: int = 0,
           confidence: float = 1.0, general_question: bool = False) -> EscalationDecision | None:
    """The escalation this turn calls for, or None.

    Args:
        message: the shopper's message (raw; only read here).
        intent: the understood intent.
        failed_turns: consecutive turns without a useful answer, *including* this one.
        confidence: how sure understanding is of ``intent``; order, payment and complaint intents
            escalate only from ``MIN_CONFIDENCE`` up (a shaky guess must not open a ticket).
        general_question: a general policy question ("how can I cancel an order?"): answered from the
            knowledge base, so the order/payment wording alone does not open a ticket.
    """
    mood = sentiment(message)
    sure = confidence >= MIN_CONFIDENCE
    if intent in SHOPPER_REQUEST_INTENTS and sure or asks_for_person(message):
        return EscalationDecision("shopper_request", intent, mood)
    if mood <= NEGATIVE_THRESHOLD or (intent == "complaint" and sure):
        return EscalationDecision("negative_sentiment", intent, mood)
    if general_question:
        return EscalationDecision("repeated_failure", intent, mood) if failed_turns >= 2 else None
    if intent in PAYMENT_INTENTS and sure or _PAYMENT_PROBLEM.search(message or ""):
        return EscalationDecision("payment_problem", intent, mood)
    if intent in ORDER_INTENTS and sure or (intent not in _SHOPPING and _ORDER_PROBLEM.search(message or "")):
        return EscalationDecision("order_problem", intent, mood)
    if failed_turns >= 2:
        return EscalationDecision("repeated_failure", intent, mood)
    return None


def next_steps(reason: str, ticket_id: int, order_id: str | None = None) -> str:
    """What the shopper is told: who takes over, what they will see, what to do meanwhile."""
    opening = {
        "shopper_request": "I've asked a person from our support team to join.",
        "negative_sentiment": "I'm sorry this has been frustrating. I've asked a person from our support team "
                              "to take over.",
        "payment_problem": "I can't see or change payments, so I've passed this to a person from our support team.",
        "order_problem": "I can't look up or change orders myself, so I've passed this to a person from our "
                         "support team.",
        "repeated_failure": "I haven't been able to help with this, so I've asked a person from our support team "
                            "to take over.",
    }.get(reason, "I've passed this conversation to a person from our support team.")
    order = f" They will have your order number {order_id}." if order_id else ""
    return (f"{opening} Your ticket number is #{ticket_id}.{order} They can read this conversation, so you won't "
            "need to repeat yourself, and their reply will appear right here in this chat. "
            "Please don't share card numbers or passwords in the chat.")


def summary(intent: str | None, reason: str, user_messages: list[str], order_id: str | None,
            products: list[str]) -> str:
    """A short, redaction-ready summary for the person taking over (callers redact the result)."""
    asks = "; ".join(m.strip()[:120] for m in user_messages[-3:] if m.strip())
    parts = [f"Escalated ({reason.replace('_', ' ')}); intent {intent or 'unknown'}."]
    if order_id:
        parts.append(f"Order {order_id}.")
    if asks:
        parts.append(f"Shopper said: {asks}.")
    if products:
        parts.append(f"Products shown: {', '.join(products[:5])}.")
    return " ".join(parts)

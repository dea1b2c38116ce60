"""The shopping assistant: one object that runs a turn, for the CLI, the HTTP API and the web UI.

One turn::

    message ─► guardrails (injection? refuse, change nothing)
            ─► understand (rules + classifier; LLM only when unsure) ─► dialogue state (merge slots)
            ─► shopping: search ─► rerank (ranking/ when available) ─► picks + template explanations
                         ─► yield Reply(final=False)  (products within ~1 s)
                         ─► LLM explanations, fact-checked, streamed in ─► final Reply
            ─► service:  policy knowledge base (quote + source, or "I don't know")
            ─► escalation rules (person asked, order/payment problem, anger, two failed turns)
            ─► state + redacted transcript saved in the store

Sessions live in the store (``sessions``/``messages``), never in this object: two sessions never see
each other's state, and a session continues across processes. Raw user ids are pseudonymised here,
at the boundary. The LLM, the search indexes and the knowledge base are loaded lazily, once per
object, and shared by all sessions (the LLM serialises generation with its own lock).

Example::

    assistant = ShoppingAssistant.from_settings(Settings(llm_profile="smollm2"))
    reply = assistant.respond("s1", "red running shoes under $80", user_id="alice")
    reply.to_json()        # {"intent": "search", "slots": {...}, "products": [...], "reply": "...", ...}
    for partial in assistant.respond_stream("s1", "cheaper"):
        print(partial.final, [p.explanation_source for p in partial.products])
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from assistant import escalation as rules
from assistant.components import Components
from assistant.session import AgentState, TurnContext
from assistant.stage_timing import StageTimer
from assistant.shopping import shop
from assistant.answers.replies import GREETING, NOT_UNDERSTOOD
from assistant.guardrails import detect_injection, refusal
from assistant.types import EscalationInfo, Reply
from catalog.conversations import ConversationStore, check_session_id
from catalog.escalations import EscalationStore, relay_reply
from catalog.privacy import pseudonymise, redact
from catalog.records import EVENT_KINDS
from catalog.settings import Settings
from catalog.store import Store

log = logging.getLogger("shopassist.agent")
MAX_MESSAGE_CHARS = 2000
ESCALATION_QUOTE_MIN = 0.4  # policy match a ticket reply still quotes (set on hand-written dev probes, docs/assistant.md)


class AssistantInputError(ValueError):
    """Bad input to the assistant (empty or too long message, bad session id, unknown event kind)."""


class ShoppingAssistant:
    """The contract object of docs/CONTRACTS.md (``respond``, ``respond_stream``, ``record_event``,
    ``escalate``, ``pending_agent_messages``).

    Args:
        settings: application settings (data folder, LLM profile, threads, user-id key).
        components: the lazily loaded parts (:class:`assistant.components.Components`); tests pass
            fakes here (a LangChain fake chat model, a tiny search).
        page_size: products per reply.
        llm_explanations: how many of the top picks get an LLM sentence (the rest keep the template);
            0 = templates only. All are written in one LLM call (about 90 tokens for three).
    """

    def __init__(self, settings: Settings, components: Components, page_size: int = 5, llm_explanations: int = 3):
        self.settings = settings
        self.parts = components
        self.store: Store = components.store
        self.conversations = ConversationStore(self.store)
        self.escalations = EscalationStore(self.store)
        self.page_size = page_size
        self.llm_explanations = llm_explanations

    @classmethod
    def from_settings(cls, settings: Settings, *, chat_model: Any = None, policy_paths: list | None = None,
                      bitext_train: str | None = None, page_size: int = 5, llm_explanations: int = 3,
                      **overrides: Any) -> "ShoppingAssistant":
        """Build from settings. Nothing heavy loads here; the first turn loads what it needs.

        Args:
            chat_model: a LangChain chat model to use instead of ``settings.llm_profile`` (tests).
            policy_paths: policy documents for the knowledge base (default ``data/policies``).
            bitext_train: the intent classifier's training CSV (default: the shared Bitext train split).
            overrides: ready-made components (``search``, ``ranker``, ``understander``, ``knowledge``,
                ``llm``, ``store``) — see :class:`assistant.components.Components`.
        """
        components = Components(settings, chat_model=chat_model, policy_paths=policy_paths,
                                bitext_train=bitext_train, **overrides)
        return cls(settings, components, page_size=page_size, llm_explanations=llm_explanations)

    @property
    def ranker(self) -> Any:
        """The ranking.ranker.Ranker in use, or None (retrieval order)."""
        return self.parts.ranker

    @property
    def llm(self) -> Any:
        """The shared :class:`assistant.llm.LLMProvider`, or None when the LLM is disabled."""
        return self.parts.llm

    @property
    def vocab(self) -> Any:
        """The catalog vocabulary (brands, categories) the understander and the fact checker use."""
        return getattr(self.parts.understander, "vocab", None)

    # -- the contract --------------------------------------------------------------------------
    def respond(self, session_id: str, message: str, user_id: str | None = None) -> Reply:
        """Run one turn and return the final :class:`Reply`."""
        final = None
        for final in self.respond_stream(session_id, message, user_id=user_id):
            pass
        return final

    def respond_stream(self, session_id: str, message: str, user_id: str | None = None) -> Iterator[Reply]:
        """Run one turn, yielding partial replies (``final=False``) and the final one last.

        For a product list the first yield carries the products with template explanations (no LLM
        wait); each LLM explanation that passes the fact checker then replaces its template.

        Raises:
            AssistantInputError: empty/too long message, or invalid session id (nothing is stored).
        """
        session_id, message, user = self._check(session_id, message, user_id)
        with self.conversations.turn_lock(session_id):  # per session, exact; across processes on PostgreSQL
            yield from self._turn(session_id, message, user)

    def record_event(self, user_id: str, item_id: str, kind: str, session_id: str | None = None,
                     value: float | None = None) -> None:
        """Store a feedback event (click, add_to_cart, purchase, rating, like, not_interested, view)."""
        if kind not in EVENT_KINDS:
            raise AssistantInputError(f"unknown event kind {kind!r}: use one of {', '.join(EVENT_KINDS)}")
        if not user_id:
            raise AssistantInputError("record_event needs a user id (events build the shopper's history)")
        if self.store.get_product(item_id) is None:
            raise AssistantInputError(f"unknown product id {item_id!r}: events must refer to catalog products")
        user = pseudonymise(user_id, self.settings.user_id_key)
        query = None
        if session_id:
            check_session_id(session_id)
            query = AgentState.load(self.conversations.load_state(session_id)).dialogue.search_query() or None
        self.parts.add_event(user=user, item_id=item_id, kind=kind, value=value, session_id=session_id, query=query)

    def escalate(self, session_id: str, reason: str = "shopper_request", user_id: str | None = None) -> EscalationInfo:
        """Hand the session to a person now (the "talk to a person" button); returns the ticket info.

        An open ticket of the session is returned instead of opening a second one.
        """
        check_session_id(session_id)
        user = pseudonymise(user_id, self.settings.user_id_key) if user_id else None
        if reason not in rules.REASONS:
            raise AssistantInputError(f"unknown reason {reason!r}: use one of {', '.join(rules.REASONS)}")
        session = self.conversations.open(session_id, user)
        state = AgentState.load(session.state)
        info = self._open_ticket(session_id, session.user, state, rules.EscalationDecision(reason, None, 0.0))
        self.conversations.append(session_id, "assistant", info.message, {"escalation": info.model_dump()})
        self.conversations.save_state(session_id, state.dump())
        return info

    def pending_agent_messages(self, session_id: str) -> list[str]:
        """Messages a person wrote to this session that were not shown yet (marked delivered now)."""
        check_session_id(session_id)
        taken = self.escalations.take_undelivered(session_id)
        for message in taken:
            self.conversations.append(session_id, "agent", message.content)
        return [m.content for m in taken]

    def close(self) -> None:
        """Free the LLM and the database connections (the object is unusable afterwards)."""
        self.parts.close()

    # -- one turn ------------------------------------------------------------------------------
    def _check(self, session_id: str, message: str, user_id: str | None) -> tuple[str, str, str | None]:
        try:
            check_session_id(session_id)
        except ValueError as exc:
            raise AssistantInputError(str(exc)) from exc
        if not isinstance(message, str) or not message.strip():
            raise AssistantInputError("the message is empty: type what you are looking for")
        if len(message) > MAX_MESSAGE_CHARS:
            raise AssistantInputError(f"the message has {len(message)} characters; keep it under "
                                      f"{MAX_MESSAGE_CHARS} (nothing was stored)")
        user = pseudonymise(user_id, self.settings.user_id_key) if user_id else None
        return session_id, message.strip(), user

    def _turn(self, session_id: str, message: str, user: str | None) -> Iterator[Reply]:
        session = self.conversations.open(session_id, user)
        user = user or session.user
        state = AgentState.load(session.state)
        self.conversations.append(session_id, "user", redact(message))
        ticket = self.escalations.active_for_session(session_id)
        if ticket is not None:
            self.escalations.add_message(ticket.id, "shopper", redact(message))
            if ticket.status == "assigned":  # a person holds the ticket: relay, do not answer
                reply = Reply(session_id=session_id, intent="human_handoff", reply=relay_reply(ticket),
                              escalation=EscalationInfo(id=ticket.id, reason=ticket.reason, status=ticket.status,
                                                        order_id=ticket.order_id, message=relay_reply(ticket)))
                self._finish(session_id, state, reply)
                yield reply
                return

        finding = detect_injection(message)
        if finding is not None:
            log.info("injection attempt refused", extra={"kinds": finding.kinds})
            reply = Reply(session_id=session_id, intent="other", route="refuse", reply=refusal(finding))
            self._finish(session_id, state, reply)
            yield reply
            return

        turn = TurnContext(session_id=session_id, message=message, user=user, state=state, ticket=ticket)
        turn.timer = StageTimer()
        with turn.timer.stage("understand"):
            request = self.parts.understand(redact(message), state.dialogue)  # no personal data reaches the LLM
        turn.request = request
        state.last_order_id = request.slots.order_id or state.last_order_id
        from assistant.understanding.intents import SHOPPING_INTENTS

        nothing_shown = request.intent in ("compare", "product_question") and not state.dialogue.shown
        # "my card was charged twice" read as a search for chargers: a person-worthy problem wins over shopping
        urgent = rules.decide(turn.message, request.intent, 0, confidence=getattr(request, "confidence", 1.0),
                              general_question=getattr(request, "policy_question", False))
        if request.intent in SHOPPING_INTENTS and not nothing_shown and urgent is None:
            yield from self._shopping_turn(turn)
        else:
            yield self._service_turn(turn)

    def _shopping_turn(self, turn: TurnContext) -> Iterator[Reply]:
        reply, facts = shop(turn.timer.wrap(self.parts), turn, self.page_size)
        reply.trace = turn.timer.trace()
        turn.state.note(useful=turn.useful if turn.useful is not None else bool(reply.products))
        escalation = self._maybe_escalate(turn)
        if escalation is not None:
            reply.escalation = escalation
            reply.route = "escalate"
            reply.reply = f"{reply.reply} {escalation.message}".strip()
        self.conversations.save_state(turn.session_id, turn.state.dump())  # the list is shown: save now
        count = min(self.llm_explanations, len(facts)) if self.parts.has_llm else 0
        if count == 0:
            self._log_reply(turn.session_id, reply)
            yield reply
            return
        yield reply.model_copy(update={"final": False}, deep=True)
        try:  # one LLM call writes every sentence (one decode, not one per pick)
            with turn.timer.stage("explain"):
                written = self.parts.explain_all(facts[:count], reply.products)
            for index, (sentence, source) in enumerate(written):
                reply.products[index].explanation = sentence
                reply.products[index].explanation_source = source
            reply.trace = turn.timer.trace()
        finally:  # also when the caller stops reading: the transcript gets what was shown
            self._log_reply(turn.session_id, reply)
        yield reply

    def _service_turn(self, turn: TurnContext) -> Reply:
        """Customer service, small talk and anything else: policy quotes, escalation, or "I don't know".

        A question about "the first one" with nothing shown yet also lands here: it is usually a
        store question ("what is your policy on ..."), answered from the knowledge base or not at all.
        """
        request, state = turn.request, turn.state
        reply = Reply(session_id=turn.session_id, intent=request.intent, slots=state.dialogue.reply_slots(request),
                      route="chitchat" if request.intent == "chitchat" else "other")
        answer = None
        if request.intent == "chitchat":
            reply.reply = GREETING
        elif request.intent not in rules.SHOPPER_REQUEST_INTENTS:
            strict = request.intent in rules.ORDER_INTENTS + rules.PAYMENT_INTENTS + ("complaint",)
            answer = self.parts.policy_answer(turn.message, min_score=0.5 if strict else None)
            reply.reply = answer.text if answer.found else ""
            reply.sources = list(answer.sources)
            reply.route = "answer" if answer.found else "other"
        state.note(useful=None if answer is None else answer.found)
        escalation = self._maybe_escalate(turn)
        if escalation is not None:
            if answer is not None and answer.found and answer.score < ESCALATION_QUOTE_MIN:  # a person takes it:
                reply.reply, reply.sources = "", []  # no loosely related policy ("how to return" for "never arrived")
            reply.escalation = escalation
            reply.route = "escalate"
            reply.reply = f"{reply.reply} {escalation.message}".strip()
        elif not reply.reply:
            policy_like = request.intent not in ("other", "chitchat")
            reply.reply = answer.text if (answer is not None and policy_like and answer.text) else NOT_UNDERSTOOD
        reply.trace = turn.timer.trace()
        self._finish(turn.session_id, state, reply)
        return reply

    def _maybe_escalate(self, turn: TurnContext) -> EscalationInfo | None:
        decision = rules.decide(turn.message, turn.request.intent, turn.state.failed_turns,
                                confidence=getattr(turn.request, "confidence", 1.0),
                                general_question=getattr(turn.request, "policy_question", False))
        if decision is None:
            return None
        if turn.ticket is not None:  # already with a person: do not open a second ticket
            return EscalationInfo(id=turn.ticket.id, reason=turn.ticket.reason, status=turn.ticket.status,
                                  order_id=turn.ticket.order_id,
                                  message=f"A person already has your conversation (ticket #{turn.ticket.id}); "
                                          "their reply will appear here.")
        user = turn.user
        info = self._open_ticket(turn.session_id, user, turn.state, decision)
        turn.state.failed_turns = 0
        return info

    def _open_ticket(self, session_id: str, user: str | None, state: AgentState,
                     decision: rules.EscalationDecision) -> EscalationInfo:
        active = self.escalations.active_for_session(session_id)
        if active is not None:
            return EscalationInfo(id=active.id, reason=active.reason, status=active.status, order_id=active.order_id,
                                  message=rules.next_steps(active.reason, active.id, active.order_id))
        transcript = [m.as_dict() for m in self.conversations.transcript(session_id, limit=40)]
        products = [{"id": p.id, "title": p.title, "price": p.price, "currency": p.currency}
                    for p in state.dialogue.shown]
        user_lines = [m["content"] for m in transcript if m["role"] == "user"]
        text = redact(rules.summary(decision.intent, decision.reason, user_lines, state.last_order_id,
                                    [p["title"][:40] for p in products]))
        ticket = self.escalations.create(session_id, decision.reason, intent=decision.intent,
                                         sentiment=round(decision.sentiment, 3), summary=text,
                                         transcript=transcript, products=products, order_id=state.last_order_id,
                                         user=user)
        return EscalationInfo(id=ticket.id, reason=ticket.reason, status=ticket.status, order_id=ticket.order_id,
                              message=rules.next_steps(ticket.reason, ticket.id, ticket.order_id))

    def _finish(self, session_id: str, state: AgentState, reply: Reply) -> None:
        self.conversations.save_state(session_id, state.dump())
        self._log_reply(session_id, reply)

    def _log_reply(self, session_id: str, reply: Reply) -> None:
        payload = reply.to_json()
        payload["sources"] = reply.sources
        payload["explanation_sources"] = [p.explanation_source for p in reply.products]
        self.conversations.append(session_id, "assistant", redact(reply.reply), payload)

"""The Gradio shopping chat: streaming answers, product cards with feedback, "Talk to a person".

Every browser tab gets its own ``gr.State`` (session id, shopper, cart, products on screen), so two
browsers never see each other's chat, cart or history. Card buttons record events through the
backend at once, so the next answer already reflects them. After an escalation a ``gr.Timer``
polls for the agent's replies and appends them to the chat.

Element ids (stable, used by the browser test): ``shopper``, ``profile``, ``chat``, ``msg``,
``send``, ``talk``, ``forget``, ``status``, ``cart``, ``details``, and per card slot ``i``: ``card-i``,
``card-i-body`` (``.product-card`` with ``.title``, ``.price``, ``.why`` and a ``details.scores``
breakdown), ``card-i-details``, ``card-i-like``, ``card-i-cart``, ``card-i-buy``, ``card-i-skip``.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any

import gradio as gr

from ui.backend import NotReady, ShopBackend, effective_user
from ui.cards import MAX_CARDS, card_updates, cart_markdown, details_markdown, reply_markdown
from ui.ratelimit import Limit, RateLimiter
from ui.shoppers import DemoShopper

log = logging.getLogger("shopassist.web")

#: (button label, event kind, elem-id suffix) for the buttons under every card.
CARD_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("View details", "click", "details"),
    ("Like", "like", "like"),
    ("Add to cart", "add_to_cart", "cart"),
    ("Buy now", "purchase", "buy"),
    ("Not interested", "not_interested", "skip"),
)
WORKING = "_Searching the catalog…_"
POLL_SECONDS = 2.0
CSS = """
.product-card {display:flex; gap:12px; align-items:flex-start}
.product-card img {width:96px; height:96px; object-fit:contain; border-radius:6px; background:#fff}
.product-card .price {font-weight:600}
.product-card .why {opacity:.85; font-size:.95em}
.product-card details.scores {font-size:.85em; margin-top:4px}
.product-card details.scores td {padding:0 8px 0 0}
"""


def new_session(user_id: str | None) -> dict[str, Any]:
    """Fresh per-browser state. ``user_id`` is a demo shopper id or None (anonymous)."""
    return {"session_id": "w-" + secrets.token_urlsafe(16), "user_id": user_id or None,
            "products": [], "cart": [], "escalation": None}


def build_blocks(backend: ShopBackend, shoppers: list[DemoShopper], limiter: RateLimiter | None = None,
                 limit: Limit | None = None) -> gr.Blocks:
    """The page. ``backend``, ``shoppers`` and the rate limiter are captured by the handlers (no globals).

    Args:
        limiter, limit: when given, each browser session may send ``limit`` chat messages per window
            (the same per-session limit as the API).
    """
    choices = [("Anonymous shopper", "")] + [(s.label, s.id) for s in shoppers]

    with gr.Blocks(title="shopassist", analytics_enabled=False) as blocks:
        sess = gr.State(None)
        gr.Markdown("## shopassist — your shopping assistant")
        with gr.Row():
            shopper = gr.Dropdown(choices, value="", label="Shopping as", elem_id="shopper", scale=2)
            profile = gr.Markdown("", elem_id="profile")
            forget = gr.Button("Forget my history", elem_id="forget", size="sm", scale=0)
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", elem_id="chat", height=460)
                with gr.Row():
                    msg = gr.Textbox(placeholder="e.g. a wooden toy train under £30", show_label=False,
                                     elem_id="msg", scale=5, max_length=2000, submit_btn=False)
                    send = gr.Button("Send", variant="primary", elem_id="send", scale=1)
                talk = gr.Button("Talk to a person", elem_id="talk", size="sm")
                status = gr.Markdown("", elem_id="status")
            with gr.Column(scale=4):
                gr.Markdown("### Picks for you")
                card_cols, card_bodies, card_buttons = [], [], []
                for i in range(MAX_CARDS):
                    with gr.Column(visible=False, elem_id=f"card-{i}", variant="panel") as col:
                        body = gr.HTML("", elem_id=f"card-{i}-body")
                        with gr.Row():
                            buttons = [gr.Button(label, size="sm", elem_id=f"card-{i}-{suffix}")
                                       for label, _, suffix in CARD_ACTIONS]
                    card_cols.append(col), card_bodies.append(body)
                    card_buttons.append(buttons)
                details = gr.Markdown("", elem_id="details")
                cart = gr.Markdown(cart_markdown([]), elem_id="cart")
        timer = gr.Timer(POLL_SECONDS, active=False)
        cards = [c for i in range(MAX_CARDS) for c in (card_cols[i], card_bodies[i])]

        def start(shopper_id: str | None):
            state = new_session(shopper_id)
            summary = ""
            if shopper_id:
                try:
                    summary = backend.profile_summary(shopper_id) or ""
                except NotReady:
                    summary = ""
                known = {s.id: s for s in shoppers}.get(shopper_id)
                summary = f"**{known.name}** (synthetic demo shopper). {summary}" if known else summary
            return (state, [], cart_markdown([]), "", summary, "", gr.Timer(active=False),
                    *card_updates([]))

        start_outputs = [sess, chat, cart, details, profile, status, timer, *cards]

        def start_unless_chatting(shopper_id: str | None, state: dict | None):
            """On page load: a fresh session, unless a message sent before the load finished has
            already started one (its turn must not be wiped)."""
            return (gr.skip(),) * len(start_outputs) if state is not None else start(shopper_id)

        blocks.load(start_unless_chatting, inputs=[shopper, sess], outputs=start_outputs)
        shopper.change(start, inputs=[shopper], outputs=start_outputs)

        def forget_me(shopper_id: str | None, state: dict):
            """Erase this shopper everywhere (events, sessions, transcripts, profile), then start afresh."""
            if state is None:
                return (gr.skip(),) * len(start_outputs)
            user = effective_user(state["session_id"], state["user_id"])
            try:
                removed = backend.forget_user(user, session_id=state["session_id"])
            except NotReady as exc:
                return (*[gr.skip()] * 5, f"Not yet: {exc}", *[gr.skip()] * (len(start_outputs) - 6))
            out = list(start(shopper_id))
            out[5] = (f"Forgotten: {sum(removed.values())} stored records "
                      "about you were deleted; recommendations start from scratch.")
            return tuple(out)

        forget.click(forget_me, [shopper, sess], start_outputs, show_progress="hidden", concurrency_limit=8)

        def respond(message: str, history: list[dict], state: dict | None, shopper_id: str | None = None):
            text = (message or "").strip()[:2000]
            if not text:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *[gr.skip()] * len(cards)
                return
            if state is None:  # sent before the page's load event gave this tab a session
                state = new_session(shopper_id)
            history = list(history or []) + [{"role": "user", "content": text},
                                             {"role": "assistant", "content": WORKING}]
            if limiter is not None and limit is not None:
                decision = limiter.hit("session", state["session_id"], limit)
                if not decision.allowed:
                    history[-1] = {"role": "assistant", "content": "You are sending messages very fast; please "
                                   f"wait {decision.retry_after_s:.0f} s and try again."}
                    yield history, "", state, "Done.", gr.skip(), *[gr.skip()] * len(cards)
                    return
            yield history, "", state, "Working on it…", gr.skip(), *[gr.skip()] * len(cards)
            user = effective_user(state["session_id"], state["user_id"])
            timer_update: Any = gr.skip()
            try:
                for reply in backend.respond_stream(state["session_id"], text, user_id=user):
                    state["products"] = [p.model_dump(mode="json") for p in reply.products]
                    history[-1] = {"role": "assistant", "content": reply_markdown(reply)}
                    if reply.escalation is not None:
                        state["escalation"] = reply.escalation.id
                        timer_update = gr.Timer(active=True)
                    note = "Done." if reply.final else "Products found; writing explanations…"
                    yield history, "", state, note, timer_update, *card_updates(state["products"])
            except NotReady as exc:
                history[-1] = {"role": "assistant", "content": f"The assistant is still starting ({exc}). "
                                                               "Please try again in a few seconds."}
                yield history, "", state, "Failed: still starting.", timer_update, *[gr.skip()] * len(cards)
            except Exception:  # noqa: BLE001 - the shopper gets a message, the log gets the trace
                log.exception("chat turn failed")
                history[-1] = {"role": "assistant", "content": "Sorry, something went wrong on our side. "
                                                               "Please try again, or talk to a person."}
                yield history, "", state, "Failed: see the server log.", timer_update, *[gr.skip()] * len(cards)

        chat_inputs, chat_outputs = [msg, chat, sess, shopper], [chat, msg, sess, status, timer, *cards]
        # A message sent while a turn is still writing explanations runs right after it ("always_last").
        for trigger in (send.click, msg.submit):
            trigger(respond, chat_inputs, chat_outputs, show_progress="minimal", show_progress_on=[chat],
                    trigger_mode="always_last", concurrency_id="chat")

        def make_action(slot: int, kind: str):
            def act(state: dict):
                products = (state or {}).get("products") or []
                if slot >= len(products):
                    return gr.skip(), "That card is gone; ask again.", gr.skip(), gr.skip(), *[gr.skip()] * len(cards)
                item = products[slot]
                user = effective_user(state["session_id"], state["user_id"])
                try:
                    backend.record_event(user, item["id"], kind, session_id=state["session_id"])
                except NotReady as exc:
                    return gr.skip(), f"Not recorded yet: {exc}", gr.skip(), gr.skip(), *[gr.skip()] * len(cards)
                shown_details: Any = gr.skip()
                title = item["title"]
                note = {"click": f"Details for **{title}**", "like": f"Noted: you like **{title}**.",
                        "add_to_cart": f"Added **{title}** to your cart.",
                        "purchase": f"Ordered **{title}** (demo: nothing is charged).",
                        "not_interested": f"Got it — fewer like **{title}**."}[kind]
                if kind in ("add_to_cart", "purchase"):
                    state["cart"] = state["cart"] + [{"id": item["id"], "title": title, "price": item.get("price"),
                                                      "currency": item.get("currency"), "bought": kind == "purchase"}]
                if kind == "click":
                    shown_details = details_markdown(backend.product(item["id"]), item)
                if kind == "not_interested":
                    state["products"] = [p for i, p in enumerate(products) if i != slot]
                    card_list = card_updates(state["products"])
                else:
                    card_list = [gr.skip()] * len(cards)
                return state, note + " The next answer takes it into account.", cart_markdown(state["cart"]), \
                    shown_details, *card_list
            return act

        for i in range(MAX_CARDS):
            for button, (_, kind, _) in zip(card_buttons[i], CARD_ACTIONS):
                button.click(make_action(i, kind), [sess], [sess, status, cart, details, *cards],
                             show_progress="hidden", concurrency_limit=8)

        def talk_to_person(history: list[dict], state: dict):
            if state is None:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            user = effective_user(state["session_id"], state["user_id"])
            try:
                info = backend.escalate(state["session_id"], reason="shopper_request", user_id=user)
            except NotReady as exc:
                return gr.skip(), gr.skip(), gr.skip(), f"Please try again in a moment ({exc})."
            state["escalation"] = info.id
            text = info.message or "I've asked a person from our team to join; their replies will appear here."
            if f"#{info.id}" not in text and f"is {info.id}" not in text:
                text = f"{text} (ticket #{info.id})"
            history = list(history or []) + [{"role": "assistant", "content": text}]
            return history, state, gr.Timer(active=True), f"Ticket #{info.id} opened: a person will answer here."

        talk.click(talk_to_person, [chat, sess], [chat, sess, timer, status], show_progress_on=[status],
                   concurrency_limit=8)

        def poll(history: list[dict], state: dict):
            if not state or not state.get("escalation"):
                return gr.skip()
            try:
                messages = backend.pending_agent_messages(state["session_id"])
            except NotReady:
                return gr.skip()
            if not messages:
                return gr.skip()
            return list(history or []) + [{"role": "assistant", "content": f"**Customer service:** {m}"}
                                          for m in messages]

        timer.tick(poll, [chat, sess], [chat], show_progress="hidden", concurrency_limit=16)
    blocks.queue(default_concurrency_limit=4)
    return blocks

"""How products, replies and the cart look on the page (pure functions: data in, HTML/Markdown out).

All catalog text is HTML-escaped; images are shown only for http(s) URLs.
"""
from __future__ import annotations

import html
from typing import Any

import gradio as gr

from assistant.types import Reply

MAX_CARDS = 5
_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "INR": "₹"}
_SCORE_NAMES = {"query_relevance": "matches your request", "personal_affinity": "fits your history",
                "cooccurrence": "bought together with your items",
                "ease": "chosen by shoppers with items like yours", "popularity": "popular with shoppers",
                "bm25": "keyword match", "dense": "meaning match", "hybrid": "search relevance"}


def money(price: float | None, currency: str | None) -> str:
    """``£12.99``, ``₹499.00``, ``12.99 CHF``; ``price unknown`` when missing."""
    if price is None:
        return "price unknown"
    symbol = _SYMBOLS.get((currency or "").upper())
    if symbol:
        return f"{symbol}{price:,.2f}"
    return f"{price:,.2f} {currency}" if currency else f"{price:,.2f}"


def card_html(product: dict[str, Any]) -> str:
    """One product card: image when known, title, price, the one-sentence explanation."""
    image = product.get("image_url") or ""
    img = (f'<img src="{html.escape(image, quote=True)}" alt="" loading="lazy" onerror="this.style.display=\'none\'">'
           if image.startswith(("http://", "https://")) else "")
    return (f'<div class="product-card" data-product-id="{html.escape(str(product["id"]), quote=True)}">{img}'
            f'<div><div class="title"><b>{html.escape(product["title"])}</b></div>'
            f'<div class="price">{html.escape(money(product.get("price"), product.get("currency")))}</div>'
            f'<div class="why">{html.escape(product.get("explanation") or "")}</div>'
            f'{scores_html(product)}</div></div>')


def scores_html(product: dict[str, Any]) -> str:
    """The score breakdown, folded under each card (shown on demand; a native ``<details>``)."""
    rows = [f"<tr><td>total</td><td>{float(product.get('score') or 0):.3f}</td></tr>"]
    for name, value in sorted((product.get("scores") or {}).items()):
        label = html.escape(f"{_SCORE_NAMES.get(name, name)} ({name})")
        rows.append(f"<tr><td>{label}</td><td>{float(value):.3f}</td></tr>")
    return ('<details class="scores"><summary>Score breakdown</summary>'
            f'<table>{"".join(rows)}</table></details>')


def card_updates(products: list[dict[str, Any]]) -> list[Any]:
    """Updates for every card slot: (column visibility, body HTML) × MAX_CARDS."""
    updates: list[Any] = []
    for i in range(MAX_CARDS):
        if i < len(products):
            updates += [gr.update(visible=True), card_html(products[i])]
        else:
            updates += [gr.update(visible=False), ""]
    return updates


def reply_markdown(reply: Reply) -> str:
    """The assistant's chat bubble: its text, then a short numbered list of the picks."""
    parts = [reply.reply.strip()] if reply.reply.strip() else []
    if reply.products:
        parts.append("\n".join(f"{n}. **{p.title}** — {money(p.price, p.currency)}"
                               for n, p in enumerate(reply.products[:MAX_CARDS], 1)))
    if reply.sources:
        parts.append("_Sources: " + ", ".join(reply.sources) + "_")
    if not reply.final:
        parts.append("_writing explanations…_")
    return "\n\n".join(parts) or "…"


def cart_markdown(cart: list[dict[str, Any]]) -> str:
    """The cart panel (per browser)."""
    if not cart:
        return "### Cart\n_empty_"
    lines = [f"- {'bought: ' if c.get('bought') else ''}{c['title']} — {money(c.get('price'), c.get('currency'))}"
             for c in cart]
    return f"### Cart ({len(cart)})\n" + "\n".join(lines)


def details_markdown(product: Any, pick: dict[str, Any]) -> str:
    """The "View details" panel from the catalog record (falls back to what the card knows)."""
    if product is None:
        return f"### {pick['title']}\n{money(pick.get('price'), pick.get('currency'))}"
    lines = [f"### {product.title}", f"**Price:** {money(product.price, product.currency)}"]
    if product.brand:
        lines.append(f"**Brand:** {product.brand}")
    if product.category:
        lines.append(f"**Category:** {' › '.join(product.category)}")
    if product.rating is not None:
        lines.append(f"**Rating:** {product.rating:.1f} / 5")
    for name, attribute in sorted(product.attributes.items()):
        lines.append(f"**{name.capitalize()}:** {attribute.value}")
    if product.description:
        lines.append("\n" + product.description[:800])
    return "\n\n".join(lines)

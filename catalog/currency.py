"""Fixed reference exchange rates for comparing prices across currencies.

These are approximate, documented constants (not live rates): good enough to apply a shopper's
"under $80" to a catalog priced in pounds or rupees, and labelled as approximate in replies.
"""
from __future__ import annotations

USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "INR": 0.012, "CAD": 0.73, "AUD": 0.66, "JPY": 0.0067}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "CAD": "C$", "AUD": "A$", "JPY": "¥"}


def convert(amount: float, source: str | None, target: str | None) -> float:
    """Convert ``amount`` from ``source`` to ``target``; unknown or missing currencies pass through."""
    if not source or not target or source == target:
        return amount
    if source not in USD_PER_UNIT or target not in USD_PER_UNIT:
        return amount
    return amount * USD_PER_UNIT[source] / USD_PER_UNIT[target]


def format_price(amount: float | None, currency: str | None) -> str:
    if amount is None:
        return "price unknown"
    symbol = SYMBOLS.get(currency or "", f"{currency} " if currency else "")
    return f"{symbol}{amount:,.2f}"

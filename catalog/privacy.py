"""Pseudonymise user ids at the boundary (keyed HMAC) and redact personal data from text.

Raw user ids never reach the store or a log: every entry point (CLI, API, agent) turns them into
``pseudonymise(raw, settings.user_id_key)`` first. Free text that is stored or shown to a person
(transcripts, escalation summaries, logs) goes through :func:`redact`.

Example::

    pseudonymise("alice@example.com", "secret")       # 'u_3f1c...' (24 hex digits)
    redact("card 4111 1111 1111 1111, call +1 (555) 010-9999, mail a@b.co, order 112233445566778")
    # 'card [card], call [phone], mail [email], order 112233445566778'

Card numbers are recognised by length (13–19 digits), a card-network prefix *and* the Luhn checksum, so long order ids
(Bitext order numbers are 8–15 digits) are not mistaken for cards. Phone numbers need a separator
or a leading ``+``; a bare run of digits is an order id unless a word such as "phone" or "call"
precedes it.
"""
from __future__ import annotations

import hashlib
import hmac
import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w])")


def pseudonymise(user_id: str, key: str) -> str:
    """Keyed, stable, irreversible id: raw user ids are never stored or logged.

    Args:
        user_id: the raw id from the UI/API (an email, a login, a number).
        key: ``settings.user_id_key``; the same key always maps a raw id to the same pseudonym.
    """
    if user_id is None or not str(user_id).strip():
        raise ValueError("user id is empty: pass a non-empty id or None for an anonymous shopper")
    return "u_" + hmac.new(key.encode(), str(user_id).strip().encode(), hashlib.sha256).hexdigest()[:24]


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (only 0-9) passes the Luhn checksum used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return len(digits) > 0 and total % 10 == 0


_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[0689]|6")  # Visa, Mastercard, Amex, Diners, Discover/UnionPay


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    if 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and luhn_valid(digits):
        return "[card]"
    return match.group()


_DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}")
_PHONE_WORDS = re.compile(r"(?i)\b(?:phone|call|tel|mobile|cell|whatsapp|text me|number is)\b[^\d]{0,12}(\+?\d{7,15})\b")


def _phone(match: re.Match) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15 or _DATE.fullmatch(text):
        return text
    return "[phone]"


def redact(text: str) -> str:
    """Replace emails, card numbers (Luhn-valid) and phone numbers with ``[email]``, ``[card]``, ``[phone]``.

    Order ids, prices, sizes and dates are kept. Safe on any string; returns ``""`` for ``None``.
    """
    if not text:
        return ""
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub(_card, text)
    text = _PHONE.sub(_phone, text)
    # a bare run of digits is only a phone when the shopper says so ("call me on 07700900123")
    return _PHONE_WORDS.sub(lambda m: m.group().replace(m.group(1), "[phone]"), text)

"""Pseudonymise user ids at the boundary (keyed HMAC) and redact personal data from text."""
from __future__ import annotations

import hashlib
import hmac
import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{7,}\d(?!\w)")


def pseudonymise(user_id: str, key: str) -> str:
    """Keyed, stable, irreversible id: raw user ids are never stored or logged."""
    return "u_" + hmac.new(key.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:24]


def redact(text: str) -> str:
    """Replace emails, card numbers and phone numbers with placeholders."""
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub(lambda m: "[card]" if len(re.sub(r"\D", "", m.group())) >= 13 else m.group(), text)
    return _PHONE.sub("[phone]", text)

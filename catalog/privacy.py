"""Pseudonymise user ids at the boundary (keyed HMAC) and redact personal data from text.

Raw user ids never reach the store or a log: every entry point (CLI, API, agent) turns them into
``pseudonymise(raw, settings.user_id_key)`` first. Free text that is stored or shown to a person
(transcripts, escalation summaries, logs) goes through :func:`redact`.

Redaction = Microsoft Presidio's pattern recognizers (a maintained library: payment cards with the
Luhn check, phone numbers through Google's ``phonenumbers`` for UK, India and the US) plus our own
patterns for what those miss: cards written with dots, CVV/CVC codes, expiry dates, e-mail addresses,
street addresses (house number + street word, UK postcodes, US ZIP after a state, Indian PIN codes),
names after "my name is", and phone numbers in the shapes ``phonenumbers`` rejects (fictional ranges,
``(555) 010-9999``). No spaCy model is needed (Presidio's NER is not used).

Kept on purpose: order ids (a bare run of digits after "order", "#", "ref"... is an order id, not a
phone), prices, sizes, dates that are not expiry dates, product titles and model numbers.
``shopassist eval pii`` prints recall and false positives on the labelled set in
``data/pii/labelled.jsonl``.

Example::

    pseudonymise("alice@example.com", "secret")       # 'u_3f1c...' (24 hex digits)
    redact("card 4111.1111.1111.1111 exp 09/27 cvv 123, call 07700 900123, I'm at 221B Baker Street")
    # 'card [card] exp [expiry] cvv [cvv], call [phone], I'm at [address]'
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
from typing import Any

LABELS = ("email", "card", "cvv", "expiry", "phone", "address", "name")


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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<![\w.-])\d(?:[ .-]?\d){12,18}(?![\w-])")
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[05689]|6")  # Visa, Mastercard, Amex, Diners, Discover/UnionPay
_CVV = re.compile(r"(?i)\b(?:cvv2?|cvc2?|csc|cid|security code|card verification(?: code| value)?|"
                  r"(?:3|three|4|four)[- ]digit code(?: on the back)?)\b[^\d\n]{0,16}(\d{3,4})(?!\d)")
_EXPIRY = re.compile(r"(?i)\b(?:exp(?:iry|iration|ires|ire|\.)?(?: date)?|valid (?:thru|through|until|to)|"
                     r"good thru|expiring)\b[^\d\n]{0,12}(\d{1,2}\s?[/.-]\s?(?:20)?\d{2})(?!\d)")
_AFTER_CARD = re.compile(r"[,;]?\s+(\d{2}/\d{2,4})(?:[,;]?\s+(\d{3,4}))?(?!\d)")
_CITY_PIN = re.compile(r"\b[A-Z][a-z]{2,20}\s(\d{6})\b(?=\s*(?:[,.;!?]|$))")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,6}){1,4}(?![\w])"
                    r"|(?<![\w+])\+\d{10,14}\b")
_PHONE_WORDS = re.compile(r"(?i)\b(?:phone|call|ring|tel|telephone|mobile|cell|whatsapp|text me|sms|contact|"
                          r"number is|reach me)\b[^\d\n]{0,14}(\+?\d[\d ().-]{6,18}\d)")
_ORDER_WORDS = re.compile(r"(?i)(?:order|ord|ref|reference|tracking|invoice|ticket|case|sku|model|item|"
                          r"product|asin|part|isbn|#)(?:\W{0,3}(?:no\.?|number|num|id|is|was|of))*\W{0,3}$")
_DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}")
_STREET_WORDS = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Court|Ct|Boulevard|Blvd|Terrace|"
                 r"Crescent|Way|Place|Pl|Square|Gardens|Parkway|Highway|Hwy|Nagar|Marg|Mews|Row|Grove")
_STREET = re.compile(r"(?i:(?:\b(?:flat|apt|apartment|unit|suite)\s*\d+[A-Za-z]?,?\s+)?)\b\d{1,5}[A-Za-z]?,?\s+"
                     r"(?:[A-Z][A-Za-z'-]+\s+){1,3}(?:" + _STREET_WORDS + r")\b\.?"
                     r"(?:,?\s+(?:[A-Z][a-z]+)(?:\s+[A-Z][a-z]+)?(?=[,.\s]|$))?")
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
_US_ZIP = re.compile(r"\b(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|PA|RI|"
                     r"S[CD]|T[NX]|UT|V[TA]|W[AVIY])\s+\d{5}(?:-\d{4})?\b")
_IN_PIN = re.compile(r"(?i)\b(?:pin(?:\s?code)?|postal code|zip(?:\s?code)?|post ?code)\s*(?:is|:|-)?\s*(\d{6}|\d{5}(?:-\d{4})?)\b"
                     r"|(?<=[A-Za-z],\s)\d{6}\b|(?<=[A-Za-z]\s-\s)\d{6}\b")
_ADDRESS_WORDS = re.compile(r"(?i)\b(?:my address is|i live at|i'm at|i am at|ship(?:ping)? (?:it )?to|"
                            r"deliver(?:y)? (?:it )?to|send (?:it )?to|address:)\s+([^.!?\n]{6,90})")
_NAME_TRIGGER = r"(?i:\b(?:my name is|my name's|name's|i am called|i'm called|call me|name:|i am|i'm|signed|regards,?))"
_NAME = re.compile(_NAME_TRIGGER + r"\s+((?:Mr|Mrs|Ms|Miss|Dr)\.?\s+)?([A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+){0,2})")
_NAME_LOWER = re.compile(r"(?i)\b(?:my name is|my name's|i am called|i'm called)\s+([a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?)")
_NOT_NAMES = frozenset({"looking", "interested", "trying", "after", "here", "not", "just", "going", "from", "a", "an",
                        "the", "so", "very", "really", "back", "still", "happy", "unhappy", "sorry", "done", "in",
                        "on", "at", "and", "but", "with", "about", "searching", "shopping", "buying", "fine",
                        "good", "great", "okay", "ok", "new", "annoyed", "angry", "waiting", "me", "calling"})


@functools.lru_cache(maxsize=1)
def _presidio() -> tuple[Any, Any]:
    """Presidio's card and phone recognizers (built once; importing Presidio takes a few seconds)."""
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, PhoneRecognizer

    return CreditCardRecognizer(), PhoneRecognizer(supported_regions=("GB", "IN", "US"))


def warm() -> None:
    """Build the recognizers now (a server does it at start-up, not in a shopper's first turn)."""
    _presidio()


def _card_digits_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn_valid(digits)


def _looks_like_order_id(text: str, start: int, candidate: str) -> bool:
    """A bare digit run right after "order", "#", "ref"... (or a date) is not a phone number."""
    if _DATE.fullmatch(candidate.strip()):
        return True
    end = start + len(candidate)
    if (start >= 2 and text[start - 1] in "-." and text[start - 2].isdigit()) or \
            (end + 1 < len(text) and text[end] in "-." and text[end + 1].isdigit()):
        return True  # one piece of a longer hyphenated number (an ISBN, a part number)
    return bool(_ORDER_WORDS.search(text[max(0, start - 24):start]))


def find_pii(text: str) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, label)`` of personal data in ``text``, non-overlapping, in order."""
    if not text:
        return []
    spans: list[tuple[int, int, str]] = []
    spans += [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    card, phone = _presidio()
    dotted = re.sub(r"(?<=\d)\.(?=\d)", " ", text)  # same length: cards written with dots, for Presidio
    for r in card.analyze(dotted, entities=["CREDIT_CARD"], nlp_artifacts=None):
        if _card_digits_ok(text[r.start:r.end]) and not _ORDER_WORDS.search(text[max(0, r.start - 24):r.start]):
            spans.append((r.start, r.end, "card"))
    spans += [(m.start(), m.end(), "card") for m in _CARD.finditer(text) if _card_digits_ok(m.group())]
    spans += [(m.start(1), m.end(1), "cvv") for m in _CVV.finditer(text)]
    spans += [(m.start(1), m.end(1), "expiry") for m in _EXPIRY.finditer(text)]
    for r in phone.analyze(text, entities=["PHONE_NUMBER"], nlp_artifacts=None):
        candidate = text[r.start:r.end]
        bare = candidate.isdigit()
        if not _looks_like_order_id(text, r.start, candidate) and (not bare or len(candidate) >= 10):
            spans.append((r.start, r.end, "phone"))
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 7 <= len(digits) <= 15 and not _looks_like_order_id(text, m.start(), m.group()):
            spans.append((m.start(), m.end(), "phone"))
    spans += [(m.start(1), m.end(1), "phone") for m in _PHONE_WORDS.finditer(text)
              if 7 <= len(re.sub(r"\D", "", m.group(1))) <= 15 and not _looks_like_order_id(text, m.start(1), m.group(1))]
    spans += [(m.start(), m.end(), "address") for m in _STREET.finditer(text)]
    spans += [(m.start(), m.end(), "address") for m in _UK_POSTCODE.finditer(text)]
    spans += [(m.start(), m.end(), "address") for m in _US_ZIP.finditer(text)]
    for m in _IN_PIN.finditer(text):
        group = 1 if m.group(1) else 0
        spans.append((m.start(group), m.end(group), "address"))
    spans += [(m.start(1), m.end(1), "address") for m in _ADDRESS_WORDS.finditer(text) if re.search(r"\d", m.group(1))]
    spans += [(m.start(1), m.end(1), "address") for m in _CITY_PIN.finditer(text)
              if not _looks_like_order_id(text, m.start(1), m.group(1))]
    for start, end, label in list(spans):  # a card followed by its expiry and code: "4111 ... 09/27 123"
        if label == "card":
            after = _AFTER_CARD.match(text, end)
            if after:
                spans.append((after.start(1), after.end(1), "expiry"))
                if after.group(2):
                    spans.append((after.start(2), after.end(2), "cvv"))
    for m in _NAME.finditer(text):
        words = m.group(2).split()
        if words and words[0].lower() not in _NOT_NAMES:
            spans.append((m.start(1) if m.group(1) else m.start(2), m.end(2), "name"))
    for m in _NAME_LOWER.finditer(text):
        words = m.group(1).split()
        if words and words[0].lower() not in _NOT_NAMES:
            keep = [w for w in words if w.lower() not in _NOT_NAMES]
            if keep:
                spans.append((m.start(1), m.start(1) + len(" ".join(words[:len(keep)])), "name"))
    return _merge(spans)


_PRIORITY = {label: i for i, label in enumerate(("email", "card", "address", "cvv", "expiry", "phone", "name"))}


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans become one; the label of the longest (then the more specific) wins."""
    out: list[tuple[int, int, str]] = []
    for start, end, label in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]), _PRIORITY[s[2]])):
        if out and start < out[-1][1]:
            prev_start, prev_end, prev_label = out[-1]
            if end > prev_end:
                out[-1] = (prev_start, end, prev_label)
            continue
        out.append((start, end, label))
    return out


def redact(text: str) -> str:
    """Replace personal data with ``[email]``, ``[card]``, ``[cvv]``, ``[expiry]``, ``[phone]``,
    ``[address]`` and ``[name]``. Safe on any string; returns ``""`` for ``None``."""
    if not text:
        return ""
    out = text
    for start, end, label in reversed(find_pii(text)):
        out = out[:start] + f"[{label}]" + out[end:]
    return out

"""General questions about the shop's policies, recognised by rules before any product reading.

"Can I send back a doll that came with a broken arm?" names a product word (toy) but asks about
returns: it goes to the policy knowledge base, never to product search. A question about the
shopper's *own* order ("confirm my refund for order 1234567") is not general: it carries an order id
and is left to the classifier and the escalation rules (a person can see orders; the assistant cannot).

    >>> policy_intent("How do returns work for sale items?")
    'check_refund_policy'
    >>> policy_intent("red running shoes under $80") is None
    True
"""
from __future__ import annotations

import re

# service intents that act on the shopper's own order or payment (a person does them): a general
# question is never given one of these
ACTION_INTENTS = ("track_order", "cancel_order", "change_order", "track_refund", "get_refund", "get_invoice",
                  "check_invoice", "change_shipping_address", "payment_issue", "complaint", "contact_human_agent",
                  "contact_customer_service")

# (intent, topic words): the first topic that matches names the intent
_TOPICS: tuple[tuple[str, str], ...] = (
    ("check_cancellation_fee", r"\bcancel\w*"),
    ("check_refund_policy", r"\b(?:returns?|return polic\w*|returning|refunds?|money back|exchange\w*|warrant\w*|"
                            r"guarantee[sd]?|damaged|faulty|broken|stopped working|doesn't work|defective)\b"),
    ("delivery_period", r"\b(?:deliver\w*|ship(?:s|ping|ped)?|arriv\w*|dispatch\w*|postage|courier|next day|"
                        r"same day|international|abroad|outside the uk|overseas)\b"),
    ("check_payment_methods", r"\b(?:pay(?:ment|ing|pal)?|instal?ments?|klarna|credit card|debit card|cash on delivery|"
                              r"discount codes?|promo(?:tion(?:al)?)? codes?|coupons?|vouchers?|gift cards?|"
                              r"price match\w*|student discount|codes? for)\b"),
    ("delivery_options", r"\b(?:gift ?wrap\w*|gift receipt|click and collect|collect in store)\b"),
    ("recover_password", r"\b(?:password|log ?in|sign ?in|account|e-?mail address)\b"),
    ("contact_customer_service", r"\b(?:opening hours|customer service hours|phone number|contact you)\b"),
)
_QUESTION = re.compile(r"\?\s*$|^\s*(?:and |so |also |ok,? )?(?:what|what's|whats|how|when|can|could|do|does|is|are|will|"
                       r"would|may|which|why|if|tell me|i'd like to know|i want to know|any)\b|\b(?:polic(?:y|ies)|rules|"
                       r"terms|how long|how much|how do i|can i)\b")
_OWN_ORDER = re.compile(r"\border\s*(?:#|no\.?|number|id)?\s*[a-z]{0,3}\d{5,}|\b(?:my|our) (?:order|parcel|package|refund|"
                        r"payment|delivery|money|card)\b.{0,30}\b(?:is|was|has|hasn't|have|haven't|never|didn't|still|"
                        r"not|late|wrong|missing)\b|\bcharged\b")
ITEM_POLICY = re.compile(r"\b(?:warrant\w*|guarantee[sd]?)\b")  # policy words a listing can answer of the item itself
_PRODUCT_REQUEST = re.compile(r"^\s*(?:i (?:need|want)|i'm looking for|looking for|show me|find me|search for)\b")


def policy_intent(message: str) -> str | None:
    """The service intent of a general policy question, or None (not a policy question)."""
    text = (message or "").lower().replace("’", "'")
    if not _QUESTION.search(text) or _OWN_ORDER.search(text) or _PRODUCT_REQUEST.search(text):
        return None
    for intent, pattern in _TOPICS:
        if re.search(pattern, text):
            return intent
    return None


_REQUEST_SHAPE = re.compile(r"^\s*(?:(?:hi|hello|hey)\b[,!.]?\s*)?(?:(?:i(?:'m| am)? (?:really )?(?:need|want|after|looking for|"
                            r"searching for|shopping for)|i'd like|i would like|i'd love|looking for|show me|find me|get me|"
                            r"buy|do you (?:have|sell|stock|carry|do)|have you got|got any|any|a|an|the|some|two|three|"
                            r"\d+|pair of|set of)\b)")
_PERSON_OR_PROBLEM = re.compile(r"\b(?:person|human|agent|someone|complain\w*|refund|cancel\w*|track\w*|invoice|"
                                r"password|account|charged|damaged|broken|late|missing|never arrived)\b")


def request_shape(message: str) -> bool:
    """Does the message open like a product request ("do you have ...", "a ...", "i need ...")?"""
    return bool(_REQUEST_SHAPE.search((message or "").lower().replace("’", "'")))


def product_request(message: str, has_product_words: bool, has_interest: bool = False) -> bool:
    """A plain shopping request ("i need a vanity light with clear glass", "a gaming laptop with an
    rtx card", "my niece loves unicorns, any ideas?") whatever the intent classifier
    thinks: a request shape or an interest, words that name a product, and nothing of a person, an
    order problem or an account."""
    text = (message or "").lower().replace("’", "'")
    if not has_product_words or _PERSON_OR_PROBLEM.search(text) or _OWN_ORDER.search(text):
        return False
    return has_interest or bool(_REQUEST_SHAPE.search(text)) or len(text.split()) <= 6

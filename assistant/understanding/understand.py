"""Understanding one message: intent + slots + a rewritten query, rules first, the LLM last.

:class:`Understander` runs, in order:

1. the deterministic extractors (:func:`assistant.understanding.slots.extract`, ~1 ms),
2. the intent classifier (:class:`assistant.understanding.intents.IntentClassifier`, ~3 ms),
3. rules that reconcile the two with the dialogue state ("in blue" after a search is ``refine``;
   "compare the first two" is ``compare``; a customer-service guess on a message that names a
   product category is ``search``),
4. only when that is still unsure (confidence below ``llm_threshold`` and no product signal), the LLM
   with JSON-schema constrained output (intent enum + slots), validated by pydantic
   (:mod:`assistant.understanding.llm_reader`). Any LLM failure — garbage, half JSON, a wrong enum, an
   exception — falls back to the rules result. Understanding never raises on a message.

Example::

    >>> u = Understander.from_settings(Settings())                      # doctest: +SKIP
    >>> r = u.understand("red running shoes under $80, not Nike")        # doctest: +SKIP
    >>> r.intent, r.slots.price_max, r.slots.brands_exclude, r.source    # doctest: +SKIP
    ('search', 80.0, ['nike'], 'rules')
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.understanding.intents import SERVICE_INTENTS, SHOPPING_INTENTS, IntentClassifier, IntentPrediction, default_bitext_train
from assistant.understanding.llm_reader import ask_llm
from assistant.understanding.slots import Extraction, Slots, extract, rewrite_query
from assistant.understanding.focus import request_focus
from assistant.understanding.service import ACTION_INTENTS, ITEM_POLICY, policy_intent, product_request, request_shape
from assistant.understanding.state import DialogueState
from assistant.understanding.vocabulary import Vocabulary

Source = Literal["rules", "classifier", "llm", "fallback"]
_INJECTION = re.compile(r"ignore (?:all |your |the |previous |prior )*(?:instructions|rules)|system prompt|"
                        r"(?:sell|give) (?:it|this|that|me [\w ]{0,30}?) for (?:\$|£|€|₹)?\s?(?:0|1)\b|"
                        r"you are now|pretend (?:to be|you are)|developer mode|jailbreak")
_RECOMMEND = re.compile(r"\b(?:gift|present|recommend|suggest|ideas?|what should i|surprise|popular|trending)\b")
_PERSON_INTENTS = ("complaint", "contact_human_agent", "contact_customer_service", "payment_issue")
_FOR_ME = re.compile(r"\bfor me\b|\bmy (?:taste|style)\b|\bsurprise me\b|^\s*(?:any )?(?:recommendations?|suggestions?)\b")
_QUESTION = re.compile(r"\?|^(?:is|are|does|do|can|what|how|which|will|has|have|tell me)\b|\b(?:made of|material|"
                       r"warranty|waterproof|dimensions|size chart|in stock|batteries)\b")


class Request(BaseModel):
    """The understood message.

    Attributes:
        intent: one of :data:`assistant.understanding.intents.ALL_INTENTS`.
        slots: what this message said (not merged; :func:`assistant.understanding.state.apply` merges).
        query: a rewritten search query for this message ("red running shoes").
        confidence: 0..1, how sure understanding is of ``intent``.
        source: "rules" (rules decided), "classifier" (the classifier's guess stood), "llm" (the LLM
            resolved it), "fallback" (the LLM was asked but failed; the rules result was kept).
        cues: state cues: cheaper, pricier, more, other_brand, reset, compare, new_topic.
        refs: 1-based positions in the last shown list (-1 = the last one).
        message: the original text.
        llm_error: why the LLM answer was rejected, when ``source == "fallback"``.
        search_text: a search query the LLM wrote for a request the rules could not focus
            ("something to keep a 3 year old busy on a flight" -> "travel activity toys").
    """

    intent: str
    slots: Slots = Field(default_factory=Slots)
    query: str = ""
    confidence: float = 0.0
    source: Source = "rules"
    cues: list[str] = Field(default_factory=list)
    refs: list[int] = Field(default_factory=list)
    message: str = ""
    llm_error: str | None = None
    search_text: str | None = None  # the LLM's rewrite of a vague request into a search query
    policy_question: bool = False  # a general question about the shop's policies (no order of the shopper's)



class Understander:
    """Rules + classifier first, the LLM only when they cannot resolve.

    Args:
        classifier: a fitted :class:`IntentClassifier`.
        vocab: brands and categories of the catalog (:meth:`Vocabulary.from_products`).
        llm: an :class:`assistant.llm.LLMProvider` or None (no LLM fallback at all).
        llm_threshold: below this classifier confidence (after rules), and with no product signal,
            the LLM is asked. 0 disables the fallback; 1.01 forces it (tests, evaluation).
        mode: ``rules_first`` (default on a CPU: the LLM only where rules fail, see :meth:`needs_llm`)
            or ``llm_first`` (every message, for a served LLM on a GPU).
    Thread-safe: holds no per-session data.
    """

    def __init__(self, classifier: IntentClassifier, vocab: Vocabulary | None = None, llm: Any = None,
                 llm_threshold: float = 0.5, mode: str = "rules_first") -> None:
        if mode not in ("rules_first", "llm_first"):
            raise ValueError(f"understanding mode {mode!r}: use rules_first or llm_first")
        self.classifier = classifier
        self.vocab = vocab or Vocabulary.default()
        self.llm = llm
        self.llm_threshold = llm_threshold
        self.mode = mode

    @classmethod
    def from_settings(cls, settings: Any, vocab: Vocabulary | None = None, llm: Any = None,
                      bitext_train: str | Path | None = None, llm_threshold: float = 0.5) -> Understander:
        """Load (or train and cache under ``<data_dir>/models/intents``) the classifier.

        ``bitext_train`` defaults to ``../shared/data/bitext-customer-service-intents/train.csv``.
        """
        train = Path(bitext_train) if bitext_train else default_bitext_train()
        classifier = IntentClassifier.load_or_train(train, Path(settings.data_dir) / "models" / "intents")
        return cls(classifier, vocab, llm, llm_threshold, getattr(settings, "understanding", "rules_first"))

    def understand(self, message: str, state: DialogueState | None = None) -> Request:
        """Understand one message in the context of ``state`` (None = a fresh conversation)."""
        state = state or DialogueState()
        request = self.understand_rules(message, state)
        if self.llm is None or not self.needs_llm(request, state):
            return request
        return ask_llm(self.llm, message, request, self.vocab, state=state)

    def needs_llm(self, request: Request, state: DialogueState) -> bool:
        """``rules_first``: only what the rules cannot resolve — an unsure classifier with no product
        words, or a new product request that names neither a product nor an interest ("something to
        keep a 3 year old busy on a flight"). ``llm_first``: every message but injections."""
        if request.intent == "other" and request.confidence >= 0.95:  # an injection the rules caught
            return False
        if self.mode == "llm_first" or self.llm_threshold > 1:  # llm_threshold 1.01 forces it (tests, evaluation)
            return True
        if request.policy_question:
            return False
        focus = request_focus(request.message)
        named = request.intent in SHOPPING_INTENTS and bool(focus.kind or focus.interest)  # "i need a toaster"
        unsure = request.confidence < self.llm_threshold and not request.slots.has_product_signal() and not named
        vague = (request.intent == "search" or (request.intent == "recommend" and not _FOR_ME.search(
            request.message.lower()))) and focus.vague \
            and not (state.has_topic() and request.intent != "search")
        return unsure or vague

    def understand_rules(self, message: str, state: DialogueState | None = None) -> Request:
        """Rules and classifier only (never calls the LLM)."""
        state = state or DialogueState()
        message = message or ""
        extraction = extract(message, self.vocab)
        prediction = self.classifier.predict(message) if message.strip() else IntentPrediction("chitchat", 0.3)
        policy = policy_intent(message)
        if policy is not None and extraction.refs and state.shown and ITEM_POLICY.search(message.lower()):
            # "does the second one have a warranty?": its listing answers (the store's policy beside it)
            intent, confidence, source = "product_question", 0.9, "rules"
        elif policy is not None:  # the classifier's service label is kept when it is more specific and harmless
            # (policy_question=True keeps an order word from opening a ticket, whatever the label)
            specific = prediction.intent in SERVICE_INTENTS and (prediction.intent not in ACTION_INTENTS or (
                prediction.confidence >= 0.5 and prediction.intent not in _PERSON_INTENTS))
            intent, confidence, source = (prediction.intent, max(prediction.confidence, 0.8), "classifier") \
                if specific else (policy, 0.95, "rules")
        else:
            new_kind = state.has_topic() and _names_new_kind(message, extraction, state)
            intent, confidence, source = _decide(message, extraction, prediction, state, self.vocab, new_kind)
            misread = intent not in SHOPPING_INTENTS or (intent in ("compare", "product_question") and not state.has_topic()
                                                         and not extraction.refs)
            small_talk = intent == "chitchat" and confidence >= 0.5  # "thanks, that is all"
            if misread and not small_talk and not _INJECTION.search(message.lower()):
                focus = request_focus(message)  # a product request the classifier took for something else
                if product_request(message, bool(focus.kind or focus.interest), bool(focus.interest)):
                    intent, confidence, source = "search", max(confidence, 0.85), "rules"
            if new_kind and intent == "search":  # also a request the classifier misread: a new topic
                extraction.cues.append("new_topic")
        slots = extraction.slots
        if intent not in SHOPPING_INTENTS:  # customer service / chitchat: only the order facts matter
            slots = Slots(order_id=slots.order_id, quantity=slots.quantity)
        return Request(intent=intent, slots=slots, query=rewrite_query(message, slots), confidence=confidence,
                       policy_question=policy is not None,
                       source=source, cues=extraction.cues, refs=extraction.refs, message=message)


_POINTS_BACK = re.compile(r"\b(?:one|ones|it|them|those|these|that|this|same|also|too|instead)\b")


def _names_new_kind(message: str, ex: Extraction, state: DialogueState) -> bool:
    """A request for another kind of product in the middle of a topic ("do you have any lego star
    wars sets?" while looking at dinosaurs) starts a new topic instead of refining the old one. It
    needs the shape of a request, a kind other than the brands it names, no word that points back at
    the topic ("a wooden one"), and nothing in common with the topic's nouns."""
    if ex.refs or not request_shape(message) or _POINTS_BACK.search(message.lower()):
        return False
    focus = request_focus(message)
    if not focus.kind or focus.from_interest:
        return False
    brand_words = {w for b in ex.slots.brands for w in b.lower().split()}
    own = [w for w in focus.must if w not in brand_words]
    return bool(own) and not set(own) & set(state.focus_must)


def _decide(message: str, ex: Extraction, pred: IntentPrediction, state: DialogueState,
            vocab: Vocabulary, new_kind: bool = False) -> tuple[str, float, Source]:
    """Reconcile the classifier with the extracted slots and the state: (intent, confidence, source)."""
    slots, cues, low = ex.slots, set(ex.cues), message.lower()
    product = slots.has_product_signal()
    if _INJECTION.search(low):
        return "other", 0.95, "rules"
    if "reset" in cues and not product and pred.intent not in SERVICE_INTENTS:
        return "search", 0.8, "rules"
    intent, confidence = pred.intent, pred.confidence
    has_topic = state.has_topic()
    modifier = bool(cues & {"cheaper", "pricier", "more", "other_brand"}) or bool(slots.brands_exclude
                                                                                 or slots.exclude_words)
    if "compare" in cues and (ex.refs or has_topic or len(slots.brands) >= 2):
        return "compare", max(confidence, 0.9), "rules"
    if has_topic and cues & {"cheaper", "pricier", "more", "other_brand"} \
            and not (intent in SERVICE_INTENTS and confidence >= 0.9):
        return "refine", max(confidence, 0.8), "rules"
    if intent in SERVICE_INTENTS or intent in ("chitchat", "other"):
        if slots.order_id and intent in SERVICE_INTENTS:
            return intent, max(confidence, 0.8), "classifier"
        if (slots.category or (product and slots.brands)) and confidence < 0.9:
            return ("refine" if has_topic and not slots.category else "search"), 0.8, "rules"
        if has_topic and (modifier or ex.refs) and confidence < 0.9:
            return ("product_question" if ex.refs and _QUESTION.search(message.lower()) else "refine"), 0.75, "rules"
        return intent, confidence, "classifier"
    if ex.refs and intent in ("search", "refine") and _QUESTION.search(message.lower()) and not modifier:
        return "product_question", max(confidence, 0.7), "rules"
    if intent in ("search", "refine"):
        new_category = bool(slots.category and state.slots.category
                            and not vocab.narrower_or_same(slots.category, state.slots.category))
        if not has_topic or new_category or "reset" in cues or (new_kind and not modifier):
            return "search", max(confidence, 0.8 if product else confidence), "rules"
        return "refine", max(confidence, 0.8), "rules"
    if intent == "product_question" and not has_topic and product and not ex.refs:
        return "search", 0.7, "rules"
    if intent == "recommend" and slots.category and not _RECOMMEND.search(low):
        return "search", max(confidence, 0.7), "rules"
    return intent, confidence, "classifier"

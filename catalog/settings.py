"""One typed settings object for the whole application.

Every knob is documented where it is defined. Values come from keyword arguments,
then environment variables prefixed ``SHOPASSIST_`` (e.g. ``SHOPASSIST_DATA_DIR``),
then the defaults below. Unknown keys are rejected. Pass the object down; never
read the environment deep inside a module.
"""
from __future__ import annotations

from pathlib import Path

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPASSIST_", extra="forbid")

    data_dir: Path = Field(Path("var"), description="Folder for the SQLite file, Chroma, BM25 and model checkpoints.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: sqlite file <data_dir>/shopassist.db. "
                                     "PostgreSQL: postgresql+psycopg://user@127.0.0.1:5432/db")
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server; default: on-disk PersistentClient.")
    embedding_model: str | None = Field(None, description="sentence-transformers model folder; default: the packaged all-MiniLM-L6-v2.")
    torch_threads: int = Field(2, description="torch intra-op threads (set deliberately: the LLM shares the cores).")
    llm_profile: str = Field("qwen1.5b", description="qwen1.5b | smollm2 | a .gguf path | ollama:<model> | openai:<model>.")
    llm_threads: int = Field(2, description="llama.cpp threads.")
    understanding: Literal["rules_first", "llm_first"] = Field(
        "rules_first", description="rules_first: the LLM reads only what rules cannot (CPU); llm_first: every message "
        "(a served LLM on a GPU).")
    openai_base_url: str | None = Field(None, description="OpenAI-compatible endpoint for llm_profile openai:<model>.")
    user_id_key: str = Field("shopassist-dev-key", description="Secret key for pseudonymising user ids (HMAC-SHA256). "
                             "Change it in production.")
    agent_api_key: str = Field("dev-agent-key", description="API key required on customer-service agent endpoints.")
    redis_url: str | None = Field(None, description="redis://127.0.0.1:6379/0 to share rate limits across server processes.")
    rerank_candidates: int = Field(200, description="Candidates retrieved before re-ranking.")
    # --- search (docs/search.md) ---------------------------------------------------------------------
    encoder_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "torch", description="Sentence encoder for ingest and queries: torch (sentence-transformers), onnx "
        "(ONNX Runtime, same vectors) or onnx-int8 (quantised; its own vector collection). Training uses torch.")
    ranker_backend: Literal["torch", "onnx"] = Field(
        "onnx", description="Runtime of the recommender's user tower for the one context a turn encodes: onnx "
        "(ONNX Runtime, same vectors, exported once per checkpoint) or torch.")
    search_reranker: bool = Field(True, description="Re-order hybrid candidates with the newest good learned "
                                  "re-ranker under search_reranker_dir, when there is one.")
    search_reranker_dir: Path | None = Field(None, description="Root of the re-ranker versions; default "
                                             "<data_dir>/models/reranker (`shopassist train reranker --out`).")
    # --- trust boundaries (docs/RELIABILITY.md) ---------------------------------------------------
    mode: Literal["demo", "production"] = Field("demo", description="demo: a raw user_id in POST /sessions is "
                                                "accepted (the demo's shopper picker). production: shopper identity "
                                                "only from the shop's signed JWT; default or short secrets refuse to start.")
    shopper_jwt_secret: str | None = Field(None, description="HS256 secret the shop signs shopper JWTs with "
                                           "(claim sub = shopper id, exp required). At least 32 characters in production.")
    shopper_jwt_public_key: str | None = Field(None, description="RS256 public key (PEM text, or a path to a PEM file) "
                                               "that verifies the shop's shopper JWTs; use instead of the HS256 secret.")
    shopper_jwt_audience: str | None = Field(None, description="Expected `aud` claim of shopper JWTs (checked when set).")
    agent_api_keys: str = Field("", description="More valid agent keys, comma-separated (rotation without downtime: "
                                "add the new key here, move the tools, then drop the old one).")
    agent_auth_failures: int = Field(10, description="Failed agent-key attempts allowed per client address per minute "
                                     "before 429 (every failure is logged, never the key).")
    session_token_hours: float = Field(24.0, description="Lifetime of the session tokens POST /sessions returns.")
    # --- the LLM as a service, with backpressure -----------------------------------------------------
    llm_slots: int = Field(1, description="Generations run at once: 1 in-process (one llama.cpp context); the "
                           "server's parallel slots for openai:<model> (llama.cpp server --n_parallel, vLLM, Ollama).")
    llm_queue: int = Field(2, description="Requests allowed to wait for a free slot; more get the template at once.")
    llm_wait_s: float = Field(1.5, description="Longest wait for a slot (the deadline); then the template is used.")
    llm_timeout_s: float = Field(30.0, description="HTTP timeout for an openai:<model> / served LLM call.")
    # --- the query log (docs/eval.md) ------------------------------------------------------------------
    turn_log: bool = Field(True, description="Write one line per served turn and feedback event to "
                           "<data_dir>/logs/turns.jsonl (the turn_log table on PostgreSQL).")
    turn_log_max_bytes: int = Field(50_000_000, description="Rotate turns.jsonl when it would pass this size.")
    turn_log_backups: int = Field(5, description="Rotated query-log files kept (turns.jsonl.1 is the newest).")

    @property
    def sql_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shopassist.db').resolve()}"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

"""One typed settings object for the whole application.

Every knob is documented where it is defined. Values come from keyword arguments,
then environment variables prefixed ``SHOPASSIST_`` (e.g. ``SHOPASSIST_DATA_DIR``),
then the defaults below. Unknown keys are rejected. Pass the object down; never
read the environment deep inside a module.
"""
from __future__ import annotations

from pathlib import Path

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
    openai_base_url: str | None = Field(None, description="OpenAI-compatible endpoint for llm_profile openai:<model>.")
    user_id_key: str = Field("shopassist-dev-key", description="Secret key for pseudonymising user ids (HMAC-SHA256). "
                             "Change it in production.")
    agent_api_key: str = Field("dev-agent-key", description="API key required on customer-service agent endpoints.")
    redis_url: str | None = Field(None, description="redis://127.0.0.1:6379/0 to share rate limits across server processes.")
    rerank_candidates: int = Field(200, description="Candidates retrieved before re-ranking.")

    @property
    def sql_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shopassist.db').resolve()}"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

"""The query log: one record per served turn and one per feedback event that followed (docs/eval.md).

Records (pydantic; ``log_json_schema()`` is the JSON schema):

* :class:`TurnRecord` (``kind: "turn"``): when, the pseudonymised session and user, the redacted
  message, intent, route, slots, the search query used, the shown products (id, 1-based position,
  score, explanation source), knowledge-base sources, escalation, latency per stage.
* :class:`EventRecord` (``kind: "event"``): click / add_to_cart / purchase / ... of an item, with the
  ``turn_id`` and ``position`` of the latest turn of that session that showed it (None when unknown).
* :class:`LogHeader` (``kind: "header"``, converted logs only): the catalog file the turns are about.
  Converted judgment logs also carry ``judgments`` (item id -> graded relevance) on each turn.

Where it goes (:class:`TurnLog`): ``<data_dir>/logs/turns.jsonl`` with size-based rotation
(``turns.jsonl.1`` is the newest full file), or the ``turn_log`` table when ``database_url`` is
PostgreSQL. No raw personal data: ids are keyed HMAC pseudonyms (``catalog.privacy``) and the
message goes through ``redact``.

Example::

    log = TurnLog.from_settings(settings)
    turn_id = log.turn(reply, session_id="s1", raw_user="alice", message="red shoes", total_ms=812.0)
    log.event(raw_user="alice", session_id="s1", item_id="p-7", kind="add_to_cart")
    records = read_log(settings.data_dir / "logs" / "turns.jsonl")
"""
from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from catalog.privacy import pseudonymise, redact

log = logging.getLogger("shopassist.turn_log")
SCHEMA_VERSION = 1
STAGES = ("understand", "retrieve", "rerank", "explain")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: int = SCHEMA_VERSION
    ts: str  # ISO 8601, UTC


class Shown(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    position: int = Field(ge=1)  # 1 = first card
    score: float
    alternative: bool = False
    explanation_source: Literal["template", "llm"] = "template"


class TurnRecord(_Record):
    kind: Literal["turn"] = "turn"
    turn_id: str
    session: str  # pseudonym "s_..."
    user: str | None = None  # pseudonym "u_..." (the assistant's own user key)
    message: str  # redacted
    intent: str
    route: str
    slots: dict[str, Any] = Field(default_factory=dict)
    search_query: str | None = None
    shown: list[Shown] = Field(default_factory=list)
    kb_sources: list[str] = Field(default_factory=list)
    escalated: bool = False
    escalation_reason: str | None = None
    stages_ms: dict[str, float] = Field(default_factory=dict)  # of STAGES; a stage that did not run is absent
    total_ms: float | None = None
    judgments: dict[str, float] | None = None  # converted judgment logs: item id -> relevance


class EventRecord(_Record):
    kind: Literal["event"] = "event"
    session: str | None = None
    user: str
    item_id: str
    event: str  # catalog.records.EVENT_KINDS
    value: float | None = None
    turn_id: str | None = None
    position: int | None = None


class LogHeader(_Record):
    kind: Literal["header"] = "header"
    source: str  # what made the log: "homedepot-judgments", "amazon-sequences", ...
    catalog: str | None = None  # catalog file the items come from
    catalog_map: dict[str, str] | None = None  # column mapping for catalog.loaders
    note: str = ""


LogRecord = Annotated[Union[TurnRecord, EventRecord, LogHeader], Field(discriminator="kind")]
_ADAPTER: TypeAdapter = TypeAdapter(LogRecord)


def log_json_schema() -> dict[str, Any]:
    """The JSON schema of one log line."""
    return _ADAPTER.json_schema()


def parse_line(line: str) -> TurnRecord | EventRecord | LogHeader:
    """One JSON line -> its record (raises ``pydantic.ValidationError`` on a bad line)."""
    return _ADAPTER.validate_json(line)


def log_files(path: Path) -> list[Path]:
    """``path`` and its rotated siblings, oldest first (``turns.jsonl.3``, ``.2``, ``.1``, ``turns.jsonl``)."""
    path = Path(path)
    rotated = sorted((p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()),
                     key=lambda p: -int(p.suffix[1:]))
    return rotated + ([path] if path.exists() else [])


def read_log(path: Path | str, rotated: bool = True) -> list[TurnRecord | EventRecord | LogHeader]:
    """Every record of a log file (and its rotated files, oldest first); errors name the line."""
    records = []
    for file in (log_files(Path(path)) if rotated else [Path(path)]):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    records.append(parse_line(line))
                except ValueError as exc:
                    raise ValueError(f"{file}:{number}: not a log record ({exc})") from exc
    return records


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class JsonlSink:
    """Appends lines to a file; when it would pass ``max_bytes`` the file is rotated first
    (``.1`` newest, at most ``backups`` kept). Thread-safe within a process."""

    def __init__(self, path: Path, max_bytes: int = 50_000_000, backups: int = 5) -> None:
        self.path, self.max_bytes, self.backups = Path(path), max_bytes, backups
        self._lock = threading.Lock()

    def write(self, record: BaseModel) -> None:
        line = (record.model_dump_json(exclude_none=True) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size + len(line) > self.max_bytes:
                self._rotate()
            with open(self.path, "ab") as handle:
                handle.write(line)

    def _rotate(self) -> None:
        oldest = self.path.with_name(f"{self.path.name}.{self.backups}")
        oldest.unlink(missing_ok=True)
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.rename(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.backups > 0:
            self.path.rename(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()


class SqlSink:
    """Inserts records into the ``turn_log`` table (PostgreSQL deployments; see catalog.schema)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def write(self, record: BaseModel) -> None:
        from catalog.schema import turn_log

        data = json.loads(record.model_dump_json(exclude_none=True))
        with self.engine.begin() as conn:
            conn.execute(turn_log.insert().values(ts=datetime.fromisoformat(data["ts"]), kind=data["kind"],
                                                  turn_id=data.get("turn_id"), session=data.get("session"),
                                                  record=data))


def export_sql(engine: Any, out: Path) -> int:
    """Write the ``turn_log`` table as a JSONL log (oldest first); returns the number of lines."""
    from sqlalchemy import select

    from catalog.schema import turn_log

    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with engine.connect() as conn, open(out, "w", encoding="utf-8") as handle:
        for row in conn.execute(select(turn_log.c.record).order_by(turn_log.c.id)):
            handle.write(json.dumps(row.record, ensure_ascii=False) + "\n")
            count += 1
    return count


class TurnLog:
    """Builds records from replies and events and hands them to a sink.

    Args:
        sink: a :class:`JsonlSink` or :class:`SqlSink`.
        user_id_key: the HMAC key (``settings.user_id_key``): the same pseudonyms as the event store.
        remember: sessions whose last shown list is kept to give an event its turn and position.
    """

    def __init__(self, sink: Any, user_id_key: str, remember: int = 10_000) -> None:
        self.sink, self.key, self.remember = sink, user_id_key, remember
        self._shown: OrderedDict[str, tuple[str, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, engine: Any = None) -> "TurnLog":
        url = settings.database_url or ""
        if url.startswith("postgresql"):
            if engine is None:
                from sqlalchemy import create_engine

                engine = create_engine(url, pool_pre_ping=True)
            sink: Any = SqlSink(engine)
        else:
            sink = JsonlSink(Path(settings.data_dir) / "logs" / "turns.jsonl", settings.turn_log_max_bytes,
                             settings.turn_log_backups)
        return cls(sink, settings.user_id_key)

    def session_key(self, session_id: str) -> str:
        return "s_" + pseudonymise(session_id, self.key)[2:]

    def user_key(self, raw_user: str | None) -> str | None:
        return pseudonymise(raw_user, self.key) if raw_user else None

    def turn(self, reply: Any, session_id: str, raw_user: str | None, message: str,
             total_ms: float | None = None) -> TurnRecord:
        """Write one turn (``reply`` is the final :class:`assistant.types.Reply`); returns the record."""
        trace = getattr(reply, "trace", None)
        record = TurnRecord(
            ts=now_iso(), turn_id=uuid.uuid4().hex, session=self.session_key(session_id),
            user=self.user_key(raw_user), message=redact(message), intent=reply.intent,
            route=getattr(reply, "route", "other"), slots=dict(reply.slots or {}),
            search_query=getattr(trace, "search_query", None),
            shown=[Shown(id=p.id, position=i, score=round(float(p.score), 5), alternative=p.alternative,
                         explanation_source=p.explanation_source) for i, p in enumerate(reply.products, 1)],
            kb_sources=list(reply.sources or []), escalated=reply.escalation is not None,
            escalation_reason=reply.escalation.reason if reply.escalation is not None else None,
            stages_ms=dict(getattr(trace, "stages_ms", None) or {}),
            total_ms=round(total_ms, 3) if total_ms is not None else None)
        with self._lock:
            self._shown[record.session] = (record.turn_id, [s.id for s in record.shown])
            self._shown.move_to_end(record.session)
            while len(self._shown) > self.remember:
                self._shown.popitem(last=False)
        self.sink.write(record)
        return record

    def event(self, raw_user: str, session_id: str | None, item_id: str, kind: str,
              value: float | None = None) -> EventRecord:
        """Write one feedback event, linked to the session's latest turn that showed the item."""
        session = self.session_key(session_id) if session_id else None
        turn_id = position = None
        with self._lock:
            last = self._shown.get(session) if session else None
        if last is not None and item_id in last[1]:
            turn_id, position = last[0], last[1].index(item_id) + 1
        record = EventRecord(ts=now_iso(), session=session, user=self.user_key(raw_user) or "", item_id=item_id,
                             event=kind, value=value, turn_id=turn_id, position=position)
        self.sink.write(record)
        return record

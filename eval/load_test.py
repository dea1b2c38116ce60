"""A bounded load test on loopback: N shopper sessions chatting and sending events for D seconds, plus
an agent polling escalations, against a running server.

Checks: no 5xx; no lost events (with ``--database``: every acknowledged event is in the store
afterwards); no cross-session leak and no lost message (after every turn a session reads its own
history, which must hold exactly the messages it sent and had answered). Sessions start their walk
through the queries at different points, so concurrent sessions send different messages. Reports
p50/p95/p99 per endpoint.

Run (server already started, e.g. ``shopassist serve``)::

    python -m eval.load_test --url http://127.0.0.1:7860 --sessions 20 --seconds 60 \\
        --agent-key "$SHOPASSIST_AGENT_API_KEY" --database sqlite:///var/shopassist.db --out var/load.json

With several ``--url`` (app processes sharing one PostgreSQL store), every session moves to the next
process on each turn, so its history must be consistent across processes.
"""
from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

# what shoppers of the demo toy shop type: searches, refinements, a question about the list, a policy question
QUERIES = ("wooden train set", "something cheaper", "a red toy car under 20 pounds", "which one would you recommend?",
           "building blocks for a toddler", "do you deliver on saturdays?", "a dinosaur gift for a five year old",
           "lego star wars sets")


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    acked_events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_products: list[float] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lost_messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, seconds: float, code: int) -> None:
        with self.lock:
            self.latencies[name].append(seconds)
            self.status[f"{code // 100}xx"] += 1
            if code >= 400:
                self.status[str(code)] += 1
            if code >= 500 and len(self.errors) < 20:
                self.errors.append(f"{name} -> {code}")


def _timed(client: httpx.Client, results: Results, name: str, method: str, url: str, **kwargs) -> httpx.Response:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)
    results.record(name, time.perf_counter() - started, response.status_code)
    return response


def shopper(bases: list[str], results: Results, stop: threading.Event, index: int, stream: bool,
            think_s: float = 2.0) -> None:
    clients = [httpx.Client(base_url=base, timeout=120) for base in bases]
    try:
        _shop(clients, results, stop, index, stream, think_s)
    finally:
        for c in clients:
            c.close()


def _shop(clients: list[httpx.Client], results: Results, stop: threading.Event, index: int, stream: bool,
          think_s: float) -> None:
    client = clients[index % len(clients)]
    user = f"load-{index}-{secrets.token_hex(3)}"
    made = _timed(client, results, "POST /sessions", "POST", "/api/v1/sessions", json={"user_id": user})
    if made.status_code != 201:
        return
    sid, headers = made.json()["session_id"], {"X-Session-Token": made.json()["token"]}
    answered: list[str] = []  # messages the server answered: the history must hold exactly these
    turn = 0
    while not stop.is_set():
        if turn:
            stop.wait(think_s * (0.5 + random.random()))  # a shopper reads the answer before typing again
        turn += 1
        client = clients[(index + turn) % len(clients)]
        message = QUERIES[(index + turn) % len(QUERIES)]
        ok, products = _chat(client, results, sid, headers, message, stream)
        if ok:
            answered.append(message)
        for item in products[:2]:
            answer = _timed(client, results, "POST /events", "POST", "/api/v1/events", headers=headers,
                            json={"session_id": sid, "item_id": item, "kind": "click"})
            if answer.status_code == 202:
                with results.lock:
                    results.acked_events[sid] += 1
        history = _timed(client, results, "GET /sessions/{id}/history", "GET", f"/api/v1/sessions/{sid}/history",
                         headers=headers)
        if history.status_code == 200:
            seen = [m["content"] for m in history.json()["messages"] if m["role"] == "user"]
            extra, missing = Counter(seen) - Counter(answered), Counter(answered) - Counter(seen)
            with results.lock:
                if extra:  # a message this session never sent: another session's
                    results.leaks.append(f"{sid} saw {list(extra)[:3]}")
                if missing:
                    results.lost_messages.append(f"{sid} lost {list(missing)[:3]}")
        if turn % 4 == 0:
            _timed(client, results, "GET /sessions/{id}/messages", "GET", f"/api/v1/sessions/{sid}/messages",
                   headers=headers)


def _chat(client: httpx.Client, results: Results, sid: str, headers: dict, message: str,
          stream: bool) -> tuple[bool, list[str]]:
    """(answered, product ids shown)."""
    body = {"session_id": sid, "message": message}
    if not stream:
        answer = _timed(client, results, "POST /chat", "POST", "/api/v1/chat", headers=headers, json=body)
        ok = answer.status_code == 200
        return ok, [p["id"] for p in answer.json().get("products", [])] if ok else []
    started = time.perf_counter()
    ids: list[str] = []
    with client.stream("POST", "/api/v1/chat/stream", headers=headers, json=body) as answer:
        event = None
        for line in answer.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "products":
                with results.lock:
                    results.first_products.append(time.perf_counter() - started)
                ids = [p["id"] for p in json.loads(line[5:]).get("products", [])]
        results.record("POST /chat/stream", time.perf_counter() - started, answer.status_code)
    return answer.status_code == 200, ids


def agent(base: str, key: str, results: Results, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": key}) as client:
        while not stop.is_set():
            _timed(client, results, "GET /escalations", "GET", "/api/v1/escalations?status=open")
            stop.wait(1.0)


def lost_events(database: str, acked: dict[str, int]) -> int:
    """Acknowledged events missing from the store (0 expected)."""
    from sqlalchemy import create_engine, func, select

    from catalog import schema

    engine = create_engine(database)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(schema.events.c.session_id, func.count())
                                   .where(schema.events.c.session_id.in_(list(acked)))
                                   .group_by(schema.events.c.session_id)).all())
    engine.dispose()
    return sum(max(0, n - stored.get(sid, 0)) for sid, n in acked.items())


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(bases: str | list[str], sessions: int, seconds: float, agent_key: str, database: str | None = None,
        stream: bool = True, think_s: float = 2.0) -> dict[str, Any]:
    bases = [bases] if isinstance(bases, str) else list(bases)
    results, stop = Results(), threading.Event()
    threads = [threading.Thread(target=shopper, args=(bases, results, stop, i, stream, think_s), daemon=True)
               for i in range(sessions)]
    threads += [threading.Thread(target=agent, args=(base, agent_key, results, stop), daemon=True) for base in bases]
    started = time.perf_counter()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(180)
    report: dict[str, Any] = {
        "processes": len(bases), "sessions": sessions, "seconds": round(time.perf_counter() - started, 1),
        "requests": sum(len(v) for v in results.latencies.values()), "status": dict(results.status),
        "server_errors": results.status.get("5xx", 0), "leaks": len(results.leaks), "leak_examples": results.leaks[:5],
        "lost_messages": len(results.lost_messages), "lost_message_examples": results.lost_messages[:5],
        "acknowledged_events": sum(results.acked_events.values()), "errors": results.errors,
        "endpoints": {name: {"n": len(v), "p50_s": round(statistics.median(v), 3), "p95_s": round(_pct(v, 0.95), 3),
                             "p99_s": round(_pct(v, 0.99), 3)} for name, v in sorted(results.latencies.items())},
    }
    if results.first_products:
        v = results.first_products
        report["first_products"] = {"n": len(v), "p50_s": round(statistics.median(v), 3),
                                    "p95_s": round(_pct(v, 0.95), 3)}
    if database:
        report["events_lost"] = lost_events(database, dict(results.acked_events))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", help="Server base URL; repeat for several app processes "
                        "(default http://127.0.0.1:7860)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--agent-key", default="dev-agent-key")
    parser.add_argument("--database", default=None, help="SQLAlchemy URL of the server's store, to count lost events")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds a shopper waits between turns")
    parser.add_argument("--no-stream", action="store_true", help="POST /chat instead of /chat/stream")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    report = run(args.url or ["http://127.0.0.1:7860"], args.sessions, args.seconds, args.agent_key, args.database, stream=not args.no_stream,
                 think_s=args.think)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()

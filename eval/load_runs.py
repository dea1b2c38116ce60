"""The two load runs of docs/RELIABILITY.md, each one command: start the real servers, run
``eval.load_test`` against them, stop them, write the report.

* ``--setup sqlite``: one ``shopassist serve`` process on the demo data folder (SQLite file, on-disk
  Chroma, the LLM in-process).
* ``--setup scaleout``: a PostgreSQL database, a Chroma server (``chroma run``), Redis for the rate
  limits, the demo catalog ingested into them, and two ``shopassist serve`` processes sharing them
  (each session moves to the other process on every turn).

Run with nothing else heavy on the machine (numbers are latencies)::

    flock /tmp/shopassist-cpu.lock python -m eval.load_runs --setup sqlite --out results/load-sqlite.json
    flock /tmp/shopassist-cpu.lock python -m eval.load_runs --setup scaleout --out results/load-scaleout.json
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from eval.load_test import run

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _start(name: str, args: list[str], env: dict, logs: Path, stack: ExitStack) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "w")
    stack.callback(log.close)
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop() -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
    stack.callback(stop)
    return process


def _wait(url: str, process: subprocess.Popen, seconds: float, path: str = "/readyz") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with {process.returncode}; see its log")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"{url}{path} not ready after {seconds:.0f} s")


def _fresh_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _serve_env(base: dict, torch_threads: int, llm_threads: int) -> dict:
    return {**base, "SHOPASSIST_TORCH_THREADS": str(torch_threads), "SHOPASSIST_LLM_THREADS": str(llm_threads)}


def run_setup(setup: str, sessions: int, seconds: float, think_s: float, data_dir: Path, logs: Path, postgres: str,
              chroma_port: int, redis: str, port: int, threads: tuple[int, int] = (1, 1)) -> dict:
    """One load run; ``threads`` = (torch, llama.cpp) threads of each app process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOPASSIST_DATA_DIR": str(data_dir)}
    shopassist = str(BIN / "shopassist")
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if setup == "sqlite":
            database = f"sqlite:///{(data_dir / 'shopassist.db').resolve()}"
            if not (data_dir / "shopassist.db").exists():
                subprocess.run([shopassist, "demo", "--no-serve"], env=env, cwd=ROOT, check=True)
            urls = [f"http://127.0.0.1:{port}"]
            servers = [_start("serve", [shopassist, "serve", "--port", str(port)], _serve_env(env, *threads), logs, stack)]
        else:
            database = _fresh_database(postgres, "shopassist_load")
            chroma_dir = data_dir / "chroma-server"
            chroma = _start("chroma", [str(BIN / "chroma"), "run", "--path", str(chroma_dir), "--host", "127.0.0.1",
                                       "--port", str(chroma_port)], env, logs, stack)
            _wait(f"http://127.0.0.1:{chroma_port}", chroma, 120, "/api/v2/heartbeat")
            env.update(SHOPASSIST_DATABASE_URL=database, SHOPASSIST_CHROMA_URL=f"http://127.0.0.1:{chroma_port}",
                       SHOPASSIST_REDIS_URL=redis)
            print("ingesting the demo catalog into PostgreSQL + the Chroma server ...", flush=True)
            subprocess.run([shopassist, "demo", "--no-serve"], env=env, cwd=ROOT, check=True)
            urls = [f"http://127.0.0.1:{port + i}" for i in range(2)]
            servers = [_start(f"serve-{i}", [shopassist, "serve", "--port", str(port + i)], _serve_env(env, *threads),
                              logs, stack) for i in range(2)]
        for url, server in zip(urls, servers):
            _wait(url, server, 900)
        print(f"{len(urls)} server(s) ready; {sessions} sessions for {seconds:.0f} s ...", flush=True)
        report = run(urls, sessions, seconds, os.environ.get("SHOPASSIST_AGENT_API_KEY", "dev-agent-key"),
                     database, think_s=think_s)
    report.update(setup=setup, think_s=think_s, torch_threads=threads[0], llm_threads=threads[1])
    report["load_average_after"] = os.getloadavg()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=("sqlite", "scaleout"), required=True)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds a shopper waits between turns")
    parser.add_argument("--torch-threads", type=int, default=1, help="per app process")
    parser.add_argument("--llm-threads", type=int, default=1, help="per app process (one core stays free for "
                        "retrieval and re-ranking while the LLM writes)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="default: var (sqlite, the demo folder) or var/load-scaleout")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="an admin URL; the run (re)creates the database shopassist_load beside it")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--chroma-port", type=int, default=8011)
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data_dir = args.data_dir or (Path("var") if args.setup == "sqlite" else Path("var/load-scaleout"))
    report = run_setup(args.setup, args.sessions, args.seconds, args.think, data_dir, args.out.parent / f"logs-{args.setup}",
                       args.postgres, args.chroma_port, args.redis, args.port,
                       (args.torch_threads, args.llm_threads))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

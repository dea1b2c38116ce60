"""The load test, short (8 sessions × 10 s), against a real uvicorn server on the fake backend.

The full run (20 sessions × 60 s, the real assistant) is a command: see docs/RELIABILITY.md.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from eval.load_test import run

ROOT = Path(__file__).resolve().parents[2]
AGENT_KEY = "test-agent-key-0123456789"  # tests/ui/ui_helpers.py


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.load
def test_short_load_no_5xx_no_leaks(tmp_path):
    port = _port()
    env = {**os.environ, "SHOPASSIST_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "ui_fake_server:create_fake_app", "--factory",
                               "--app-dir", str(ROOT / "tests" / "ui"), "--port", str(port), "--log-level", "warning"],
                              env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        report = run(base, sessions=8, seconds=10, agent_key=AGENT_KEY, think_s=0.3)
    finally:
        server.terminate()
        server.wait(30)
    assert report["server_errors"] == 0, report["errors"]
    assert report["leaks"] == 0, report["leak_examples"]
    assert report["lost_messages"] == 0, report["lost_message_examples"]
    assert report["requests"] >= 8 * 4 and report["acknowledged_events"] > 0
    assert report["endpoints"]["POST /chat/stream"]["p95_s"] < 5

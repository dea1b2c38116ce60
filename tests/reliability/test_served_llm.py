"""The scale-out LLM path for real: llama.cpp's OpenAI-compatible server (``python -m llama_cpp.server``)
with SmolLM2, shared by two providers as two app processes would share it (``openai:<model>``)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from assistant.llm import LLMProvider
from assistant.model_files import smollm2_gguf

SCHEMA = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llm_server():
    port = _port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()),
                               "--model_alias", "smollm2", "--n_threads", "1", "--n_ctx", "1024",
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, "llama_cpp.server exited"
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.slow
def test_two_app_processes_share_one_served_llm(llm_server):
    apps = [LLMProvider("openai:smollm2", openai_base_url=llm_server, timeout_s=60) for _ in range(2)]
    assert {app.kind for app in apps} == {"openai"}
    question = [("system", "Reply in JSON."), ("user", "What colour is the sky on a clear day?")]
    with ThreadPoolExecutor(2) as pool:  # both at once: the server queues them, nobody fails
        answers = list(pool.map(lambda app: app.generate_json(question, SCHEMA, max_tokens=30), apps))
    for text in answers:
        assert isinstance(json.loads(text)["colour"], str)  # the schema reached the server's grammar
    sentence = apps[0].generate([("user", "Say hello in three words.")], max_tokens=12)
    assert sentence.strip()

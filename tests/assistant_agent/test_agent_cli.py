"""``shopassist chat --once ... --json``: the JSON contract and a session continued across calls."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from ui.cli import build_app


def _once(runner, env, *args):
    result = runner.invoke(build_app(), ["chat", "--once", *args, "--json", "--no-llm"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_chat_once_json_continues_the_session(agent_settings, shared_parts):
    env = {"SHOPASSIST_DATA_DIR": str(agent_settings.data_dir), "SHOPASSIST_TORCH_THREADS": "1"}
    runner = CliRunner()
    first = _once(runner, env, "red bellies under 1000 rupees", "--session", "cli-test-1", "--user", "ann")
    assert set(first) == {"intent", "route", "slots", "products", "reply", "escalation"}
    assert first["intent"] == "search" and first["products"] and first["escalation"] is None
    assert set(first["products"][0]) == {"id", "title", "price", "currency", "score", "explanation", "alternative"}
    second = _once(runner, env, "cheaper", "--session", "cli-test-1", "--user", "ann")
    assert second["intent"] == "refine"
    assert second["slots"]["price_max"] < min(p["price"] for p in first["products"])


def test_chat_once_rejects_empty_message(agent_settings, shared_parts):
    env = {"SHOPASSIST_DATA_DIR": str(agent_settings.data_dir)}
    result = CliRunner().invoke(build_app(), ["chat", "--once", "  ", "--json", "--no-llm"], env=env)
    assert result.exit_code == 2 and "empty" in result.output

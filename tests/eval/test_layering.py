"""Layering: nothing below eval imports it (catalog ← retrieval/ranking ← assistant ← ui, eval), and every
``shopassist eval`` command is registered exactly once."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BELOW_EVAL = ("catalog", "retrieval", "ranking", "assistant")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_package_below_eval_imports_eval():
    offenders = [f"{path.relative_to(ROOT)}: {name}" for package in BELOW_EVAL
                 for path in sorted((ROOT / package).rglob("*.py"))
                 for name in sorted(_imports(path)) if name == "eval" or name.startswith("eval.")]
    assert not offenders, "imports of eval below it:\n" + "\n".join(offenders)


def test_each_eval_command_registered_once():
    import typer

    from ui.cli import COMMAND_MODULES

    import importlib

    app, eval_app = typer.Typer(), typer.Typer()
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app, eval_app)
    names = [c.name or c.callback.__name__ for c in eval_app.registered_commands]
    twice = [n for n, k in Counter(names).items() if k > 1]
    assert not twice, f"registered more than once: {twice}"
    assert {"make-log", "replay", "report", "recommend", "pii"} <= set(names)

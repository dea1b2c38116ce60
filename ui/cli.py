"""The one ``shopassist`` command. Each package contributes its sub-commands through
``<package>.commands.register(app, eval_app)``; heavy imports happen inside the commands."""
from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = ("retrieval.commands", "eval.search_commands", "eval.enrich_commands", "ranking.commands",
                   "assistant.commands", "eval.commands", "eval.rec_commands", "eval.log_commands", "ui.commands", "ui.ops_commands")


def build_app() -> typer.Typer:
    app = typer.Typer(help="shopassist: a conversational shopping assistant. "
                           "Settings come from SHOPASSIST_* environment variables (see README).",
                      no_args_is_help=True, add_completion=False)
    eval_app = typer.Typer(help="Offline evaluations that print a table and write RESULT.json.",
                           no_args_is_help=True)
    app.add_typer(eval_app, name="eval")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app, eval_app)
    return app


def main() -> None:
    build_app()()


if __name__ == "__main__":
    main()

"""CLI commands of this package (registered by ui.cli)."""
from __future__ import annotations

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this package's commands to the CLI."""

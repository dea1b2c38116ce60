"""Operations commands: ``shopassist forget USER``, ``shopassist index rebuild|check`` (``eval pii`` is in eval/commands.py)."""
from __future__ import annotations

import json

import typer

index_app = typer.Typer(help="Check or rebuild the search indexes from the store.", no_args_is_help=True)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command("forget")(forget)
    app.add_typer(index_app, name="index")


def forget(user: str = typer.Argument(..., help="The shopper's raw id (as the shop knows them)."),
           session: list[str] = typer.Option([], help="Also forget these session ids (repeatable).")) -> None:
    """Forget a shopper everywhere: events, sessions, transcripts, escalations, profile (right to erasure)."""
    from catalog.forget import forget_user, remaining
    from catalog.privacy import pseudonymise
    from catalog.settings import Settings
    from catalog.store import Store

    settings = Settings()
    store = Store.from_settings(settings)
    key = pseudonymise(user, settings.user_id_key)
    removed = forget_user(store, key, session)
    left = remaining(store, key, session)
    typer.echo(json.dumps({"removed": removed, "remaining": left}))
    if any(left.values()):
        raise typer.Exit(1)


@index_app.command("check")
def index_check() -> None:
    """Say whether the BM25 and vector indexes agree with the store (exit 1 when not)."""
    from catalog.settings import Settings
    from retrieval.ingest import index_problems

    problems = index_problems(Settings())
    for problem in problems:
        typer.secho(problem, fg="yellow")
    if problems:
        raise typer.Exit(1)
    typer.echo("indexes agree with the store")


@index_app.command("rebuild")
def index_rebuild(force: bool = typer.Option(True, help="Rebuild both indexes even if they look fine.")) -> None:
    """Rebuild the BM25 and vector indexes from the store (under the ingest lock)."""
    from catalog.settings import Settings
    from retrieval.ingest import repair_indexes

    problems = repair_indexes(Settings(), force=force, progress=True)
    typer.echo("rebuilt: " + "; ".join(problems) if problems else "nothing to rebuild")

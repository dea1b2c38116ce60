"""CLI commands of the ui package (registered by ui.cli): ``shopassist serve`` and ``shopassist demo``.

``shopassist demo`` is the README's one command: ingest the demo catalog (idempotent: unchanged
products are skipped), build what is still missing (search indexes, the policy knowledge base, the
assembled LLM file, the recommender), load the synthetic demo shoppers' histories once, then start
the server and print its URL.
"""
from __future__ import annotations

import time
from pathlib import Path

import typer

DEMO_CATALOG = Path(__file__).resolve().parents[1] / "data" / "demo" / "products.jsonl"


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this package's commands to the CLI."""
    app.command("serve")(serve)
    app.command("demo")(demo)


def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every interface)."),
          port: int = typer.Option(7860, help="TCP port.")) -> None:
    """Start the server: the shopping chat at / and the HTTP API under /api/v1 (docs at /docs).

    Settings come from SHOPASSIST_* variables (SHOPASSIST_DATA_DIR, SHOPASSIST_LLM_PROFILE,
    SHOPASSIST_AGENT_API_KEY, SHOPASSIST_REDIS_URL, ...). Stop with Ctrl+C: requests in flight finish
    and every event and escalation is written before the process exits.
    """
    from catalog.settings import Settings
    from ui.server import serve as run_server

    settings = Settings()
    settings.ensure_data_dir()
    run_server(settings, host=host, port=port)


def demo(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
         port: int = typer.Option(7860, help="TCP port."),
         catalog: Path = typer.Option(DEMO_CATALOG, help="Catalog to ingest (default: the demo catalog)."),
         no_serve: bool = typer.Option(False, "--no-serve", help="Prepare everything, then exit without serving.")) -> None:
    """Ingest the demo catalog (once), build what is missing, load demo shoppers, start the server."""
    from catalog.settings import Settings

    settings = Settings()
    settings.ensure_data_dir()
    prepare_demo(settings, catalog)
    if no_serve:
        typer.echo("demo data ready; start the server with `shopassist serve`")
        return
    from ui.server import serve as run_server

    run_server(settings, host=host, port=port)


def prepare_demo(settings, catalog: Path = DEMO_CATALOG, echo=typer.echo) -> None:
    """Everything ``demo`` does before serving (also used by the end-to-end test)."""
    from retrieval.ingest import ingest_file
    from ui.backend import AssistantBackend
    from ui.shoppers import load_histories, load_shoppers

    if not catalog.exists():
        raise typer.BadParameter(f"{catalog} does not exist; pass --catalog PATH to a CSV/JSONL/Parquet catalog")
    started = time.perf_counter()
    echo(f"[1/3] catalog: ingesting {catalog} (unchanged products are skipped) ...")
    report = ingest_file(settings, catalog, progress=True)
    echo(f"      {report.rows} rows: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
         f"{len(report.errors)} skipped")
    echo("[2/3] building what is missing: knowledge base, recommender, LLM (first run: a few minutes) ...")
    from ranking.demo_model import install_demo_checkpoint

    install_demo_checkpoint(settings, echo)  # the shipped fine-tuned recommender, unless one is there
    backend = AssistantBackend(settings)
    backend.warm()
    ready, detail = backend.readiness()
    if not ready:
        raise typer.BadParameter(f"the assistant could not load: {detail}")
    shoppers = load_shoppers()
    added = load_histories(settings, shoppers, store=backend.store)
    echo(f"[3/3] demo shoppers: {len(shoppers)} synthetic ({sum(added.values())} history events added)")
    backend.close()
    echo(f"ready in {time.perf_counter() - started:.0f} s")

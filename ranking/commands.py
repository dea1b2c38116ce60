"""CLI commands of the ranking package (registered by ui.cli). Heavy imports happen inside the commands.

``shopassist train ranker --items ITEMS --sequences SEQUENCES [--epochs 1] [--device auto] [--out DIR]``
    fine-tune the BERT user tower (LoRA) and the item projection with a validation curve and early
    stopping, fit the blend on validation users, save a versioned checkpoint (default
    ``<data_dir>/models/ranker/<version>/``, with curve.png and a TensorBoard log). Progress bar with ETA.
``shopassist train ranker --from-events``
    the same on the shop's own event store (time split, weighted by kind, not-interested negatives);
    a running server switches to the new version if it is marked good.
``shopassist recommend --user ID [--k 10] [--json]``
    top-k products for a shopper (raw id; pseudonymised here) from the catalogue store.
``shopassist import-events --sequences FILE [--kind purchase]``
    bulk-load a sequence file into the event store (user ids pseudonymised on the way in).
(``shopassist eval recommend`` is registered by eval/rec_commands.py: no package below eval imports it.)
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import typer


def _settings():
    from catalog.settings import Settings

    return Settings()


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this package's commands to the CLI."""
    from retrieval.commands import sub_app

    train_app = sub_app(app, "train", "Train models.")  # shared with `train reranker`

    @train_app.command("ranker")
    def train_ranker_cmd(
        items: Path = typer.Option(None, exists=True, dir_okay=False, help="ITEMS CSV: id and text columns"),
        sequences: Path = typer.Option(None, exists=True, dir_okay=False,
                                       help="SEQUENCES CSV(.gz): user id and space-separated item ids, oldest first"),
        from_events: bool = typer.Option(False, "--from-events",
                                         help="train on the shop's event store and catalogue instead of files "
                                              "(time split, weighted by kind, not-interested negatives)"),
        epochs: float = typer.Option(None, help="passes over the examples (default 1; 3 with --from-events)"),
        max_steps: int = typer.Option(0, help="cap on optimiser steps (0 = as many as --epochs take)"),
        max_minutes: float = typer.Option(25.0, help="wall-clock cap on fine-tuning (the run stops cleanly)"),
        batch_size: int = typer.Option(32, help="contexts per step"),
        learning_rate: float = typer.Option(5e-4, help="AdamW peak learning rate of the user tower"),
        head_learning_rate: float = typer.Option(2e-3, help="peak learning rate of the item projection and gate"),
        adapter: str = typer.Option("lora", help="lora (a ~2 MB peft adapter) or full (upper BERT layers)"),
        warm_heads_epochs: float = typer.Option(3.0, help="stage 1: epochs of the heads alone over cached tower "
                                                          "vectors before the tower trains (0 = off)"),
        item_residual: bool = typer.Option(True, help="train a residual vector per item seen in training "
                                                      "(collaborative item side)"),
        stage2_head_scale: float = typer.Option(0.0, help="stage 2: the heads' rates times this (0 = frozen heads, "
                                                           "only the tower trains)"),
        ease_lambda: float = typer.Option(100.0, help="L2 strength of the EASE item-item signal in the blend"),
        eval_every: int = typer.Option(100, help="validation NDCG@10 every N steps (early stopping, best kept)"),
        patience: int = typer.Option(3, help="stop after this many validations without improvement"),
        device: str = typer.Option("auto", help="auto (CUDA when present) | cpu | cuda | cuda:N | mps"),
        out: Path = typer.Option(None, help="folder of checkpoint versions (default <data_dir>/models/ranker)"),
        items_map: str = typer.Option(None, help="ITEMS columns, e.g. id=item_id,text=title"),
        sequences_map: str = typer.Option(None, help="SEQUENCES columns, e.g. user=user_id,items=item_ids"),
        init: Path = typer.Option(None, exists=True, file_okay=False, help="start from this user-tower folder"),
        test_share: float = typer.Option(0.15, help="share of users held out from training and blend fitting"),
        valid_share: float = typer.Option(0.10, help="share of users (files) or of events (--from-events) for validation"),
        max_valid_users: int = typer.Option(1500, help="cap on validation users (curve and blend)"),
        threads: int = typer.Option(None, help="torch CPU threads (default: settings.torch_threads)"),
    ) -> None:
        """Fine-tune the BERT recommender and save a versioned checkpoint with its config, curve and numbers."""
        from ranking.ranker import model_root
        from ranking.sequences import parse_mapping
        from ranking.train import TrainConfig

        logging.basicConfig(level=logging.WARNING)
        settings = _settings()
        config = TrainConfig(epochs=epochs if epochs is not None else (3.0 if from_events else 1.0),
                             max_steps=max_steps, max_minutes=max_minutes, batch_size=batch_size,
                             learning_rate=learning_rate, head_learning_rate=head_learning_rate, adapter=adapter,
                             eval_every=eval_every, patience=patience, device=device,
                             torch_threads=threads or settings.torch_threads, warm_heads_epochs=warm_heads_epochs,
                             item_residual=item_residual, stage2_head_scale=stage2_head_scale,
                             ease_lambda=ease_lambda)
        if from_events:
            from catalog.store import Store
            from ranking.from_events import train_from_events

            ckpt = train_from_events(Store.from_settings(settings), out or model_root(settings), config,
                                     valid_share=valid_share if valid_share != 0.10 else 0.2, echo=typer.echo)
        else:
            if items is None or sequences is None:
                raise typer.BadParameter("pass --items and --sequences, or --from-events")
            from ranking.pipeline import train_ranker

            ckpt = train_ranker(items, sequences, out or model_root(settings), config, parse_mapping(items_map),
                                parse_mapping(sequences_map), test_share, valid_share, init=init,
                                max_valid_users=max_valid_users, echo=typer.echo)
        typer.echo(f"checkpoint: {ckpt.path} ({ckpt.meta.get('status')})")

    @app.command("recommend")
    def recommend_cmd(
        user: str = typer.Option(None, help="raw shopper id (pseudonymised here); omit for a cold start"),
        k: int = typer.Option(10, min=1, help="how many products"),
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    ) -> None:
        """Top-k products for a shopper from their event history (no query)."""
        from catalog.privacy import pseudonymise
        from catalog.store import Store
        from ranking.ranker import Ranker

        settings = _settings()
        store = Store.from_settings(settings)
        if store.count_products() == 0:
            typer.echo("the catalogue is empty: ingest products first (shopassist ingest ...)", err=True)
            raise typer.Exit(1)
        ranker = Ranker.from_settings(settings, store)
        key = pseudonymise(user, settings.user_id_key) if user else None
        items = ranker.recommend(key, k)
        profile = ranker.profile(key)
        if as_json:
            typer.echo(json.dumps({"model": ranker.version, "profile": profile.summary(), "profile_text": profile.text(),
                                   "items": [
                {"id": r.product.id, "title": r.product.title, "score": round(r.score, 5),
                 "scores": {n: round(v, 5) for n, v in r.scores.items()}} for r in items]}, indent=2))
            return
        typer.echo(f"model {ranker.version}; profile: {profile.text()}")
        for rank, r in enumerate(items, start=1):
            typer.echo(f"{rank:>3}. {r.score:7.4f}  {r.product.id:<14} {r.product.title[:70]}")

    @app.command("import-events")
    def import_events_cmd(
        sequences: Path = typer.Option(..., exists=True, dir_okay=False, help="SEQUENCES CSV(.gz)"),
        kind: str = typer.Option("purchase", help="event kind for every item"),
        sequences_map: str = typer.Option(None, help="columns, e.g. user=user_id,items=item_ids"),
    ) -> None:
        """Bulk-load behaviour sequences into the event store (raw user ids are pseudonymised)."""
        from catalog.events import EventStore
        from catalog.store import Store
        from ranking.sequences import parse_mapping

        settings = _settings()
        report = EventStore(Store.from_settings(settings)).import_sequences(
            sequences, settings.user_id_key, kind, parse_mapping(sequences_map))
        typer.echo(f"imported {report.events:,} events for {report.users:,} users; "
                   f"{report.skipped_rows} rows skipped" + (f" ({'; '.join(report.problems[:3])})"
                                                           if report.problems else ""))

"""CLI: ``shopassist eval recommend`` (registered by ui.cli; the evaluation itself is eval/rec_eval.py).

``shopassist eval recommend --items ITEMS --sequences SEQUENCES --model DIR --out RESULT.json``
    leave-last-out, full-ranking evaluation of popularity, co-occurrence, bert-untrained, bert-encoder, bert.
"""
from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    eval_app.command("recommend")(eval_recommend_cmd)


def eval_recommend_cmd(
    items: Path = typer.Option(..., exists=True, dir_okay=False, help="ITEMS CSV: id and text columns"),
    sequences: Path = typer.Option(..., exists=True, dir_okay=False, help="SEQUENCES CSV(.gz)"),
    model: Path = typer.Option(..., exists=True, file_okay=False,
                               help="a checkpoint version folder, or a folder of versions (newest good)"),
    out: Path = typer.Option(..., help="write RESULT.json here"),
    items_map: str = typer.Option(None, help="ITEMS columns, e.g. id=item_id,text=title"),
    sequences_map: str = typer.Option(None, help="SEQUENCES columns, e.g. user=user_id,items=item_ids"),
    max_users: int = typer.Option(None, help="evaluate only the first N eligible users (quick runs)"),
    threads: int = typer.Option(None, help="torch CPU threads"),
) -> None:
    """Leave-last-out, full-ranking evaluation (HR@10, NDCG@10, HR@50, MRR) of every system."""
    from catalog.settings import Settings
    from eval.rec_eval import evaluate_recommenders, format_table
    from ranking.sequences import parse_mapping

    result = evaluate_recommenders(items, sequences, model, parse_mapping(items_map), parse_mapping(sequences_map),
                                   max_users=max_users, threads=threads or Settings().torch_threads,
                                   echo=typer.echo)
    typer.echo(format_table(result))
    if result["unknown_item_ids"]["count"]:
        typer.echo(f"unknown item ids: {result['unknown_item_ids']['count']:,} "
                   f"(e.g. {', '.join(result['unknown_item_ids']['examples'][:5])})")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    typer.echo(f"wrote {out}")

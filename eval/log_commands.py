"""CLI: the query-log evaluations (registered by ui.cli). Heavy imports happen inside the commands.

    shopassist eval make-log --judgments FILE --catalog FILE --out LOG [--limit N]
    shopassist eval make-log --sequences FILE --items FILE --out LOG [--limit N] [--exclude-trained MODEL]
    shopassist eval export-log --out LOG            # the turn_log table (PostgreSQL) as JSONL
    shopassist eval replay --log LOG --out DIR [--config SETTINGS.toml] [--compare OTHER_DIR] [--limit N]
    shopassist eval report --config EVAL.toml --out DIR
"""
from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    eval_app.command("make-log")(make_log)
    eval_app.command("export-log")(export_log)
    eval_app.command("replay")(replay_cmd)
    eval_app.command("report")(report_cmd)


def make_log(
    out: Path = typer.Option(..., help="Where to write the log (JSONL)."),
    judgments: Path = typer.Option(None, exists=True, dir_okay=False, help="query_id,query,item_id,relevance CSV(.gz)."),
    catalog: Path = typer.Option(None, exists=True, dir_okay=False, help="The judged items' catalog file."),
    catalog_map: str = typer.Option(None, help="Catalog columns, e.g. id=product_uid,title=product_title."),
    sequences: Path = typer.Option(None, exists=True, dir_okay=False, help="Behaviour sequences CSV(.gz)."),
    items: Path = typer.Option(None, exists=True, dir_okay=False, help="The sequences' items file (id, text)."),
    items_map: str = typer.Option(None, help="ITEMS columns, e.g. id=item_id,text=title."),
    sequences_map: str = typer.Option(None, help="SEQUENCES columns, e.g. user=user_id,items=item_ids."),
    history: int = typer.Option(20, help="Sequences: history events per user (the newest)."),
    exclude_trained: Path = typer.Option(None, exists=True, file_okay=False,
                                         help="Sequences: drop the users this ranker checkpoint trained/validated on."),
    test_split: bool = typer.Option(False, help="Sequences: only the users `train ranker`'s split holds out "
                                    "(seed 42, 15 %)."),
    limit: int = typer.Option(None, help="At most N turns."),
) -> None:
    """Convert judgments or behaviour sequences into a query log that `eval replay` reads."""
    from catalog.loaders import parse_mapping
    from eval.querylog_convert import judgment_log, sequence_log

    if judgments is not None and catalog is not None and sequences is None:
        done = judgment_log(judgments, catalog, out, parse_mapping(catalog_map) or None, limit)
    elif sequences is not None and items is not None and judgments is None:
        done = sequence_log(sequences, items, out, parse_mapping(items_map) or None,
                            parse_mapping(sequences_map) or None, limit, history, exclude_trained, test_split)
    else:
        raise typer.BadParameter("pass --judgments and --catalog, or --sequences and --items")
    typer.echo(json.dumps(done))
    typer.echo(f"wrote {out}")


def export_log(out: Path = typer.Option(..., help="Where to write the JSONL log.")) -> None:
    """Write the PostgreSQL turn_log table as a JSONL log (a file log is already JSONL)."""
    from sqlalchemy import create_engine

    from assistant.turn_log import export_sql
    from catalog.settings import Settings

    settings = Settings()
    if not (settings.database_url or "").startswith("postgresql"):
        raise typer.BadParameter(f"the log is a file here: {settings.data_dir / 'logs' / 'turns.jsonl'}")
    typer.echo(f"{export_sql(create_engine(settings.database_url), out)} lines written to {out}")


def replay_cmd(
    log: Path = typer.Option(..., exists=True, dir_okay=False, help="The query log (rotated siblings are read too)."),
    out: Path = typer.Option(..., help="Folder for replay.json and turns.jsonl."),
    config: Path = typer.Option(None, exists=True, dir_okay=False, help="Replay configuration TOML (docs/eval.md)."),
    compare: Path = typer.Option(None, exists=True, file_okay=False, help="Another replay folder to compare with."),
    limit: int = typer.Option(None, help="Only the first N turns (timestamp order)."),
    catalog: Path = typer.Option(None, exists=True, dir_okay=False, help="Search this catalog file instead of the "
                                 "log header's (or the served data_dir's)."),
) -> None:
    """Replay a query log through the assistant as configured now: quality, latency per stage,
    explanation sources, escalations, fairness and diversity; writes DIR/replay.json."""
    from tqdm import tqdm

    from eval.replay import ReplayConfig, compare as compare_dirs, format_compare, format_replay, replay

    try:
        cfg = ReplayConfig.load(config)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    with tqdm(desc="turns", unit="turn") as bar:
        try:
            result = replay(log, out, cfg, limit=limit, catalog=catalog, progress=bar.update)
        except (FileNotFoundError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc
    for line in format_replay(result):
        typer.echo(line)
    typer.echo(f"wrote {out / 'replay.json'}")
    if compare is not None:
        diff = compare_dirs(out, compare)
        (out / "compare.json").write_text(json.dumps(diff, indent=2) + "\n", encoding="utf-8")
        for line in format_compare(diff):
            typer.echo(line)


def report_cmd(
    config: Path = typer.Option(..., exists=True, dir_okay=False, help="The report's TOML (eval/configs/*.toml)."),
    out: Path = typer.Option(..., help="Folder for report.md, report.json and the figures."),
) -> None:
    """Run the evaluations a TOML lists (cached per task by input hash) and write one report with figures."""
    from eval.report import run_report

    try:
        report = run_report(config, out, echo=typer.echo)
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    for line in report["headline"]:
        typer.echo(line)
    typer.echo(f"wrote {out / 'report.md'}")

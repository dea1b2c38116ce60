"""CLI commands for the catalog enrichment evaluations (registered by ui.cli).

``shopassist eval attributes --labels data/labels/attributes_100.jsonl --out RESULT.json``
    precision and recall per attribute on hand labels (rules alone, and rules + encoder).
``shopassist eval categories --catalog FILE [--catalog-map id=COL,...] --holdout 0.2 --out RESULT.json``
    hides the category of a share of products and measures top-level and leaf accuracy.

The heavy imports (the encoder, the evaluation code) happen inside the commands, so ``--help`` is fast.
"""
from __future__ import annotations

import json
from pathlib import Path

import typer


def _embedder(threads: int | None):
    from retrieval.embedder import Embedder

    return Embedder(threads=threads)


def _write(result: dict, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}")


def _fmt(value) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this package's commands to the CLI."""

    @eval_app.command("attributes")
    def eval_attributes(
        labels: Path = typer.Option(Path("data/labels/attributes_100.jsonl"), exists=True, dir_okay=False,
                                    help="hand-labelled JSONL: id, title, description, labels{colour,size,...}"),
        catalog: list[Path] = typer.Option([], "--catalog", exists=True, dir_okay=False,
                                           help="catalog(s) for the brand vocabulary and gender neighbours; repeatable"),
        out: Path = typer.Option(None, help="write the result JSON here"),
        threads: int = typer.Option(None, help="torch threads for the encoder"),
    ) -> None:
        """Attribute precision/recall on hand labels (rules alone and rules + MiniLM encoder)."""
        from eval.attribute_eval import evaluate_attributes

        result = evaluate_attributes(labels, _embedder(threads).encode, catalog)
        typer.echo(f"{'attribute':<10} {'mode':<26} {'precision':>9} {'recall':>7} {'extracted':>9} {'labelled':>8}")
        for mode in ("rules", "rules+encoder", "rules+encoder+gender-vote"):
            for name, row in result[mode].items():
                if isinstance(row, dict):
                    typer.echo(f"{name:<10} {mode:<26} {_fmt(row['precision']):>9} {_fmt(row['recall']):>7} "
                               f"{row['extracted']:>9} {row['labelled']:>8}")
        _write(result, out)

    @eval_app.command("categories")
    def eval_categories(
        catalog: Path = typer.Option(..., exists=True, dir_okay=False, help="a catalog file the loaders accept"),
        catalog_map: str = typer.Option(None, help="column mapping, e.g. id=COL,title=COL,category=A+B"),
        holdout: float = typer.Option(0.2, min=0.01, max=0.99, help="share of categorised products to hide"),
        seed: int = typer.Option(13, help="seed of the held-out draw"),
        k: int = typer.Option(10, help="neighbours that vote"),
        min_share: float = typer.Option(0.5, help="vote share a branch needs at each level"),
        out: Path = typer.Option(None, help="write the result JSON here"),
        threads: int = typer.Option(None, help="torch threads for the encoder"),
    ) -> None:
        """Category accuracy (top level and leaf) of the kNN vote on products whose category is hidden."""
        from catalog.enrich import EnrichOptions
        from catalog.loaders import parse_mapping
        from eval.attribute_eval import evaluate_categories

        options = EnrichOptions(k=k, category_min_share=min_share)
        result = evaluate_categories(catalog, _embedder(threads).encode, parse_mapping(catalog_map), holdout, seed, options)
        typer.echo(f"{result['catalog']}: {result['hidden']} hidden of {result['products']} "
                   f"({result['top_levels']} top levels, {result['leaf_paths']} leaf paths)")
        typer.echo(f"{'mode':<8} {'coverage':>8} {'top acc':>8} {'leaf acc':>8} {'top prec':>8} {'path prec':>9} {'depth':>6}")
        for mode in ("default", "forced", "enrich"):
            row = result[mode]
            typer.echo(f"{mode:<8} {row['coverage']:>8.3f} {row['top_accuracy']:>8.3f} {row['leaf_accuracy']:>8.3f} "
                       f"{_fmt(row['top_precision']):>8} {_fmt(row['path_precision']):>9} {row['mean_depth']:>6.2f}")
        _write(result, out)

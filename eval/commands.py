"""CLI: ``shopassist eval intents|conversations|turns|routing|injection|pii`` (registered by ui.cli).

Both print a table and write RESULT.json. Heavy imports happen inside the commands.

    shopassist eval intents --data ../shared/data/bitext-customer-service-intents/test.csv --out results/intents.json
    shopassist eval conversations --data data/conversations/dev.jsonl --out results/conversations.json
    shopassist eval turns --data data/conversations/turns-dev.jsonl --out results/turns-dev.json
"""
from __future__ import annotations

import json
from pathlib import Path

import typer


def _write(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(f"wrote {out}")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add the evaluation commands to ``eval_app``."""

    @eval_app.command("intents")
    def eval_intents(
        data: Path = typer.Option(..., exists=True, dir_okay=False, help="CSV with columns utterance,intent."),
        out: Path = typer.Option(..., help="Where to write RESULT.json."),
        train: Path = typer.Option(None, help="Bitext train.csv the classifier is trained on "
                                   "(default ../shared/data/bitext-customer-service-intents/train.csv)."),
        with_rules: bool = typer.Option(False, help="Score the rules+classifier decision instead of the classifier."),
    ) -> None:
        """Intent accuracy, macro-F1 and the confusion matrix on a labelled CSV."""
        from catalog.settings import Settings
        from eval.intent_eval import evaluate_intents, print_report

        settings = Settings()
        try:
            result = evaluate_intents(data, bitext_train=train, data_dir=settings.data_dir, with_rules=with_rules)
        except (FileNotFoundError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        print_report(result)
        _write(out, result)

    @eval_app.command("conversations")
    def eval_conversations(
        data: Path = typer.Option(..., exists=True, dir_okay=False, help="JSONL, one conversation per line."),
        out: Path = typer.Option(..., help="Where to write RESULT.json."),
        understanding_only: bool = typer.Option(False, help="Skip the full assistant even when it is available."),
        llm_profile: str = typer.Option(None, help="LLM for the understanding fallback (default: settings); "
                                        "'none' = rules and classifier only."),
        llm_threshold: float = typer.Option(0.5, help="Ask the LLM below this confidence (0 = never)."),
        train: Path = typer.Option(None, help="Bitext train.csv for the intent classifier."),
        limit: int = typer.Option(None, help="Only the first N conversations."),
    ) -> None:
        """Intent accuracy, slot P/R/F1 per slot and overall, and explanation faithfulness."""
        from catalog.settings import Settings
        from eval.conversation_eval import evaluate_conversations, print_report
        from eval.conversation_runners import build_runner

        settings = Settings()
        runner, reason = build_runner(settings, understanding_only=understanding_only, llm_profile=llm_profile,
                                      llm_threshold=llm_threshold, bitext_train=train)
        if reason:
            typer.echo(f"NOTE: {reason}; evaluating understanding + dialogue state only.")
        result = evaluate_conversations(data, runner, limit=limit)
        result["fallback_reason"] = reason
        print_report(result)
        _write(out, result)

    @eval_app.command("turns")
    def eval_turns(
        data: Path = typer.Option(..., exists=True, dir_okay=False, help="JSONL, one conversation a line "
                                  "(format: eval/turn_eval.py)."),
        out: Path = typer.Option(..., help="Where to write RESULT.json."),
        llm_profile: str = typer.Option(None, help="LLM profile (default: settings); 'none' = no LLM at all."),
        limit: int = typer.Option(None, help="Only the first N conversations."),
        explanations: int = typer.Option(3, help="LLM sentences per reply (the server's default is 3; 0 = templates)."),
    ) -> None:
        """Play conversations through the served assistant and judge every turn: route accuracy,
        precision@5, good-turn rate, latency, LLM calls by purpose, the failing turns."""
        from tqdm import tqdm

        from assistant.agent import ShoppingAssistant
        from catalog.settings import Settings
        from eval.turn_eval import evaluate_turns, load_conversations, print_report

        try:
            conversations = load_conversations(data)[:limit]
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        settings = Settings()
        if llm_profile and llm_profile != "none":
            settings = settings.model_copy(update={"llm_profile": llm_profile})
        extra = {"llm": False} if llm_profile == "none" else {}
        assistant = ShoppingAssistant.from_settings(settings, llm_explanations=explanations, **extra)
        if assistant.store.count_products() == 0:
            raise typer.BadParameter(f"the store in {settings.data_dir} has no products: run `shopassist demo "
                                     "--no-serve` (or `shopassist ingest`) first")
        try:
            with tqdm(total=len(conversations), desc="conversations", unit="conv") as bar:
                result = evaluate_turns(assistant, conversations, progress=bar.update)
        finally:
            assistant.close()
        result["data"] = str(data)
        result["llm"] = "none" if llm_profile == "none" else (llm_profile or settings.llm_profile)
        result["llm_explanations"] = explanations
        result["understanding"] = settings.understanding
        print_report(result, typer.echo)
        _write(out, result)

    @eval_app.command("routing")
    def eval_routing(
        data: Path = typer.Option(..., exists=True, dir_okay=False, help="Shopping requests, one a line."),
        out: Path = typer.Option(..., help="Where to write RESULT.json."),
        llm_profile: str = typer.Option("none", help="'none' = fast path only; a profile = also ask the LLM where needed."),
    ) -> None:
        """Share of plain shopping requests read as shopping, by the fast path and after the LLM."""
        from assistant.understanding.understand import Understander
        from assistant.understanding.vocabulary import Vocabulary
        from catalog.settings import Settings
        from catalog.store import Store
        from eval.routing_eval import evaluate_routing, read_requests

        settings = Settings()
        llm = None
        if llm_profile != "none":
            from assistant.llm import LLMProvider

            llm = LLMProvider.from_settings(settings, profile=llm_profile)
        store = Store.from_settings(settings)
        vocab = Vocabulary.from_products(store.iter_products()) if store.count_products() else None
        understander = Understander.from_settings(settings, vocab=vocab, llm=llm)
        result = evaluate_routing(understander, read_requests(data))
        typer.echo(f"{result['requests']} requests: understood as shopping {result['understood_as_shopping']:.3f}, "
                   f"fast path resolved {result['fast_path_resolved']:.3f}, LLM asked {result['llm_asked']:.3f}"
                   f" (LLM p50 {result['llm_seconds_p50']} s)")
        for miss in result["misses"][:20]:
            typer.echo(f"  MISS {miss['text']!r} -> {miss['intent']} ({miss['source']})")
        _write(out, result)

    @eval_app.command("injection")
    def eval_injection(
        data: Path = typer.Option(..., exists=True, dir_okay=False, help="JSONL {text, attack}."),
        out: Path = typer.Option(..., help="Where to write RESULT.json."),
    ) -> None:
        """Attacks refused and benign look-alikes refused by the injection guard."""
        from eval.routing_eval import evaluate_injection, read_injection_rows

        try:
            result = evaluate_injection(read_injection_rows(data))
        except (ValueError, json.JSONDecodeError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        typer.echo(f"attacks refused {result['attacks_refused']:.3f} of {result['attacks']}; "
                   f"benign refused {result['benign_refused']:.3f} of {result['benign']}")
        for text in result["missed"][:20]:
            typer.echo(f"  MISSED {text!r}")
        for text in result["false_alarms"][:20]:
            typer.echo(f"  FALSE ALARM {text!r}")
        _write(out, result)

    @eval_app.command("pii")
    def eval_pii(as_json: bool = typer.Option(False, "--json", help="Print the whole result as JSON.")) -> None:
        """Redaction recall and false positives on the labelled set data/pii/labelled.jsonl."""
        from eval.pii_eval import evaluate, print_report

        result = evaluate()
        if as_json:
            typer.echo(json.dumps(result, indent=2))
        else:
            print_report(result, typer.echo)

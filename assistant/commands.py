"""CLI commands of the assistant package (registered by ui.cli).

``shopassist chat``
    Interactive terminal chat. ``/person`` hands over to a person, ``/new`` starts a new session,
    ``/quit`` ends. Messages from a person appear before your next prompt.
``shopassist chat --once "MESSAGE" [--session ID] [--user ID] --json``
    One turn; prints ``Reply.to_json()``. The same ``--session`` continues the conversation
    across calls (the state is in the store). Without ``--session`` a new id is made and printed
    on stderr.
``shopassist kb build [--docs PATH ...]`` / ``shopassist kb ask "QUESTION" [--docs PATH ...]``
    (Re)build the policy knowledge base, or ask it one question.

Settings come from ``SHOPASSIST_*`` environment variables; ``--profile`` overrides the LLM profile
(``qwen1.5b``, ``smollm2``, a ``.gguf`` path, ``ollama:<model>``, ``openai:<model>``) and
``--no-llm`` uses template explanations only.
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import typer


def _assistant(profile: str | None, no_llm: bool, policies: list[Path] | None, llm_explanations: int):
    from assistant.agent import ShoppingAssistant
    from catalog.settings import Settings

    settings = Settings(llm_profile=profile) if profile else Settings()
    extra = {"llm": False} if no_llm else {}
    return ShoppingAssistant.from_settings(settings, policy_paths=policies or None,
                                           llm_explanations=llm_explanations, **extra)


def _print_reply(reply, stream=sys.stdout) -> None:
    print(f"assistant> {reply.reply}", file=stream)
    for i, pick in enumerate(reply.products, 1):
        price = f" — {pick.price:,.2f} {pick.currency or ''}".rstrip() if pick.price is not None else ""
        print(f"  {i}. {pick.title[:70]}{price}", file=stream)
        print(f"     {pick.explanation}  [{pick.explanation_source}]", file=stream)
    if reply.sources:
        print(f"  sources: {', '.join(reply.sources)}", file=stream)


def _interactive(assistant, session: str, user: str | None) -> None:
    from assistant.agent import AssistantInputError

    print(f"session {session} — type /person for a person, /new for a new session, /quit to leave.")
    while True:
        for note in assistant.pending_agent_messages(session):
            print(f"person> {note}")
        try:
            message = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if not message:
            continue
        if message in ("/quit", "/exit"):
            return
        if message == "/new":
            session = f"cli-{uuid.uuid4().hex[:12]}"
            print(f"new session {session}")
            continue
        if message == "/person":
            info = assistant.escalate(session, user_id=user)
            print(f"assistant> {info.message}")
            continue
        try:
            shown: dict[str, str] = {}
            for reply in assistant.respond_stream(session, message, user_id=user):
                if not shown:
                    _print_reply(reply)  # products with template explanations, right away
                    shown = {p.id: p.explanation for p in reply.products}
                    continue
                for i, pick in enumerate(reply.products, 1):  # LLM sentences that passed the checker
                    if shown.get(pick.id) != pick.explanation:
                        print(f"  {i}. {pick.explanation}  [{pick.explanation_source}]")
                        shown[pick.id] = pick.explanation
        except AssistantInputError as exc:
            print(f"(not sent: {exc})")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``chat`` and ``kb`` (and the assistant's eval commands) to the CLI."""

    @app.command("chat")
    def chat(
        once: str = typer.Option(None, "--once", help="Send one message, print the reply, exit."),
        session: str = typer.Option(None, "--session", help="Session id; the same id continues a conversation."),
        user: str = typer.Option(None, "--user", help="Shopper id (pseudonymised before it is stored)."),
        as_json: bool = typer.Option(False, "--json", help="With --once: print Reply.to_json()."),
        profile: str = typer.Option(None, "--profile", help="LLM profile (default: SHOPASSIST_LLM_PROFILE)."),
        no_llm: bool = typer.Option(False, "--no-llm", help="Template explanations only (no LLM)."),
        policies: list[Path] = typer.Option(None, "--policies", help="Policy documents (default data/policies)."),
        explain: int = typer.Option(3, "--llm-explanations", min=0, help="Top picks that get an LLM sentence."),
    ) -> None:
        """Chat with the shopping assistant (interactive, or one turn with --once)."""
        from assistant.agent import AssistantInputError

        assistant = _assistant(profile, no_llm, policies, explain)
        made_up = session is None
        session = session or f"cli-{uuid.uuid4().hex[:12]}"
        try:
            if once is None:
                _interactive(assistant, session, user)
                return
            if made_up:
                print(f"session: {session}", file=sys.stderr)
            try:
                reply = assistant.respond(session, once, user_id=user)
            except AssistantInputError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from exc
            if as_json:
                typer.echo(json.dumps(reply.to_json(), ensure_ascii=False))
            else:
                _print_reply(reply)
        finally:
            assistant.close()

    kb_app = typer.Typer(help="The policy/FAQ knowledge base.", no_args_is_help=True)
    app.add_typer(kb_app, name="kb")

    @kb_app.command("build")
    def kb_build(docs: list[Path] = typer.Option(None, "--docs", help="Policy folders/files (default data/policies).")):
        """Index policy documents into their own Chroma collection."""
        from assistant.answers.knowledge import PolicyKnowledgeBase
        from catalog.settings import Settings

        kb = PolicyKnowledgeBase.from_settings(Settings(), docs or None)
        typer.echo(f"{len(kb.passages)} passages indexed in {kb.collection.name}")

    @kb_app.command("ask")
    def kb_ask(question: str, docs: list[Path] = typer.Option(None, "--docs")):
        """Answer one question from the knowledge base (quote + source, or "not found")."""
        from assistant.answers.knowledge import PolicyKnowledgeBase
        from catalog.settings import Settings

        answer = PolicyKnowledgeBase.from_settings(Settings(), docs or None).answer(question)
        typer.echo(json.dumps({"found": answer.found, "score": round(answer.score, 3), "sources": answer.sources,
                               "answer": answer.text}, ensure_ascii=False, indent=2))

"""Intent classifier, the two evaluation modules and the CLI registration (on small real fixtures)."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.understanding.intents import ALL_INTENTS, read_labelled_csv
from eval.conversation_eval import evaluate_conversations, normalise_slots
from eval.intent_eval import classification_report

HERE = Path(__file__).parent
REPO = HERE.parent.parent


def test_classifier_covers_all_intents_and_is_cached(classifier, tmp_path):
    assert set(classifier.labels) == set(ALL_INTENTS)
    assert classifier.predict("red sneakers under $80").intent == "search"
    assert classifier.predict("i want to talk to a human agent").intent == "contact_human_agent"
    rows = read_labelled_csv(HERE / "fixtures" / "bitext_train_sample.csv")[:60]
    assert len(rows) == 60 and all(intent for _, intent in rows)


def test_classification_report_by_hand():
    report = classification_report(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert report["accuracy"] == 0.75
    assert report["per_label"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert report["confusion"] == {"a": {"a": 1, "b": 1}, "b": {"b": 2}}


def test_slot_normalisation():
    assert normalise_slots({"color": "Gray", "price_max": "$80", "brands": ["Nike", "nike"], "category": "Watch",
                            "size": "Medium", "order_id": "#123", "brands_exclude": None}) == {
        "colour": {"grey"}, "price_max": {80.0}, "brands": {"nike"}, "category": {"watch"}, "size": {"m"},
        "order_id": {"123"}, "brands_exclude": None}
    assert normalise_slots({"category": "watches"}) == normalise_slots({"category": "watch"})


def test_conversation_eval_on_the_dev_set(understander):
    from eval.conversation_runners import UnderstandingRunner

    result = evaluate_conversations(REPO / "data" / "conversations" / "dev.jsonl", UnderstandingRunner(understander))
    assert result["turns"] >= 80
    assert result["slots"]["overall"]["f1"] >= 0.85  # small-sample classifier; the real one is in the docs
    assert result["faithfulness"]["rate"] is None and "understanding" in result["mode"]


def test_cli_commands(tmp_path, monkeypatch):
    import typer

    from eval import commands as eval_commands

    monkeypatch.setenv("SHOPASSIST_DATA_DIR", str(tmp_path / "data"))
    app, eval_app = typer.Typer(), typer.Typer()
    app.add_typer(eval_app, name="eval")
    eval_commands.register(app, eval_app)
    data = tmp_path / "intents.csv"
    data.write_text("utterance,intent\nred sneakers under $80,search\nI want a refund,get_refund\n")
    out = tmp_path / "r.json"
    train = HERE / "fixtures" / "bitext_train_sample.csv"
    result = CliRunner().invoke(app, ["eval", "intents", "--data", str(data), "--out", str(out), "--train", str(train)])
    assert result.exit_code == 0, result.output
    assert "accuracy" in json.loads(out.read_text()) and "confusion" in json.loads(out.read_text())
    conv = tmp_path / "c.jsonl"
    conv.write_text(json.dumps({"id": "x", "turns": [{"user": "red sneakers under $80", "expect": {
        "intent": "search", "slots": {"colour": "red", "category": "sneakers", "price_max": 80}}}]}) + "\n")
    out2 = tmp_path / "c.json"
    result = CliRunner().invoke(app, ["eval", "conversations", "--data", str(conv), "--out", str(out2),
                                      "--understanding-only", "--llm-profile", "none", "--train", str(train)])
    assert result.exit_code == 0, result.output
    report = json.loads(out2.read_text())
    assert report["slots"]["overall"]["f1"] == 1.0 and report["intent_accuracy"] == 1.0


def test_model_file_checks(tmp_path):
    import pytest

    from assistant.model_files import ModelFileError, QWEN_SIZE, qwen_part_files, smollm2_gguf, verify_qwen_gguf

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(ModelFileError, match="expected 1117320768"):
        verify_qwen_gguf(bad)
    parts = qwen_part_files()
    assert len(parts) == 22 and sum(p.stat().st_size for p in parts) == QWEN_SIZE
    assert smollm2_gguf().suffix == ".gguf"


def test_unknown_profile_says_what_to_do():
    import pytest

    from assistant.llm import resolve_profile

    with pytest.raises(ValueError, match="qwen1.5b, smollm2"):
        resolve_profile("gpt-17")
    assert resolve_profile("ollama:llama3").kind == "ollama"
    assert resolve_profile("openai:gpt-4o-mini").name == "gpt-4o-mini"

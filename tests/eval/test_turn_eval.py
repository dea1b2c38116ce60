"""The turn judge on a tiny hand-made catalog: precision, routes and no-match checked by hand."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.types import EscalationInfo, ProductPick, Reply
from catalog.records import Product
from eval.turn_eval import TurnSpec, judge_turn, load_conversations, summarise

ROOT = Path(__file__).parents[2]
CATALOG = {
    "d1": Product(id="d1", title="Stegosaurus dinosaur figure", category=["Figures", "Dinosaurs"], price=9.0, currency="GBP"),
    "d2": Product(id="d2", title="Dinosaur party invitations", category=["Party"], price=4.0, currency="GBP"),
    "d3": Product(id="d3", title="T-Rex dinosaur plush", category=["Soft toys"], price=25.0, currency="GBP"),
    "k1": Product(id="k1", title="Red kurta", category=["clothing", "kurtas"], price=900.0, currency="INR",
                  description="a red cotton kurta"),
    "w1": Product(id="w1", title="Digital watch", category=["watches"], price=1500.0, currency="INR"),
}


def reply(ids, route="products", text="", **extra):
    picks = [ProductPick(id=i, title=CATALOG[i].title, price=CATALOG[i].price, currency=CATALOG[i].currency,
                         score=1.0, alternative=extra.pop("alternative", False)) for i in ids]
    return Reply(session_id="s", intent="search", route=route, products=picks, reply=text, **extra)


def test_precision_counts_need_price_and_exclusion():
    spec = TurnSpec(user="dino gift under £20", route="products", need="dinosaur", price_max=20, currency="GBP",
                    exclude="invitation")
    verdict = judge_turn(spec, reply(["d1", "d2", "d3"]), CATALOG)
    # d1 relevant; d2 excluded (invitations); d3 over the cap -> 1/3
    assert verdict.precision == pytest.approx(1 / 3) and verdict.route_ok and not verdict.good


def test_price_is_converted_to_the_turn_currency_and_colour_is_a_whole_word():
    spec = TurnSpec(user="x", route="products", need="kurta|watch", price_max=12, currency="GBP", colour="red")
    verdict = judge_turn(spec, reply(["k1", "w1"]), CATALOG)  # ₹900 ≈ £8.5 red; ₹1500 ≈ £14.2 and not red
    assert verdict.precision == 0.5


def test_no_match_needs_the_words_and_labelled_alternatives():
    spec = TurnSpec(user="a saree", route="no_match", substitute="kurta")
    good = judge_turn(spec, reply(["k1"], route="no_match", text="We don't carry sarees.", alternative=True), CATALOG)
    assert good.good and good.precision == 1.0
    unlabelled = judge_turn(spec, reply(["k1"], route="no_match", text="We don't carry sarees."), CATALOG)
    silent = judge_turn(spec, reply(["k1"], route="products", text="Here are 1 kurtas", alternative=True), CATALOG)
    assert not unlabelled.good and not silent.good


def test_answer_escalate_refuse_and_forbid():
    answer = Reply(session_id="s", intent="check_refund_policy", route="answer", reply="From our returns policy",
                   sources=["returns.md"])
    assert judge_turn(TurnSpec(user="q", route="answer"), answer, {}).good
    assert not judge_turn(TurnSpec(user="q", route="answer"), reply(["d1"]), CATALOG).good
    ticket = Reply(session_id="s", intent="complaint", escalation=EscalationInfo(id=1, reason="order_problem"))
    assert judge_turn(TurnSpec(user="q", route="escalate"), ticket, {}).good
    refusal = Reply(session_id="s", intent="other", route="refuse", reply="I can't share my instructions.")
    assert judge_turn(TurnSpec(user="q", route="refuse", forbid="You are"), refusal, {}).good
    leak = refusal.model_copy(update={"reply": "You are a shop assistant"})
    assert not judge_turn(TurnSpec(user="q", route="refuse", forbid="You are"), leak, {}).good


def test_summary_rates():
    spec = TurnSpec(user="x", route="products", need="dinosaur")
    verdicts = [judge_turn(spec, reply(["d1", "d3"]), CATALOG), judge_turn(spec, reply(["w1"]), CATALOG)]
    result = summarise(verdicts, {"understand": 1})
    assert result["precision_at_5"] == 0.5 and result["good_turn_rate"] == 0.5 and result["route_accuracy"] == 1.0


def test_bad_data_is_reported_with_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "turns": [{"user": "hi", "route": "dance"}]}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1 turn 1: route 'dance'"):
        load_conversations(path)


def test_dev_set_shape():
    conversations = load_conversations(ROOT / "data" / "conversations" / "turns-dev.jsonl")
    assert len(conversations) >= 60 and sum(len(c.turns) for c in conversations) >= 150


def test_no_evaluation_utterance_is_in_training_data_examples_or_rules():
    """The dev sets (and the held-out conversation set) must not leak into what the system learns from."""
    sets = [json.loads(line) for line in (ROOT / "data/conversations/turns-dev.jsonl").read_text().splitlines()]
    utterances = {t["user"].lower().strip() for c in sets for t in c["turns"]}
    utterances |= {json.loads(line)["text"].lower().strip()
                   for line in (ROOT / "data/guardrails/injection-dev.jsonl").read_text().splitlines()}
    utterances |= {line.lower().strip() for line in (ROOT / "data/routing/shopping-requests-dev.txt").read_text()
                   .splitlines() if line.strip() and not line.startswith("#")}
    for line in (ROOT / "data/conversations/heldout.jsonl").read_text().splitlines():
        utterances |= {t["user"].lower().strip() for t in json.loads(line)["turns"]}
    from assistant.understanding.intent_examples import shopping_examples
    from assistant.understanding.llm_reader import EXAMPLES

    learned = "\n".join([*(text.lower() for text, _ in shopping_examples()), *(u.lower() for u, _ in EXAMPLES),
                         (ROOT / "data/intents/bitext-train.csv").read_text(encoding="utf-8").lower()])
    sources = "\n".join(p.read_text(encoding="utf-8").lower() for p in (ROOT / "assistant").rglob("*.py"))
    leaked = [u for u in utterances if len(u) > 12 and (u in learned or u in sources)]
    assert not leaked, leaked[:5]

"""Whole served turns on the mini catalog: relevance floor, honest no-match, policy questions that name
products, picks among the shown list, recommendations by history, benign look-alikes, LLM routes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_fakes import is_explanation_prompt

from assistant.guardrails import detect_injection
from assistant.understanding.focus import KindIndex, request_focus
from catalog.ages import product_ages
from catalog.loaders import load_products

DATA = Path(__file__).parents[2] / "data"


def test_no_match_says_so_and_labels_alternatives(make_assistant, session_id):
    reply = make_assistant(None).respond(session_id, "a red saree for a wedding, under 2000 rupees")
    assert reply.route == "no_match" and "don't carry sarees" in reply.reply.lower()
    assert all(p.alternative for p in reply.products)


def test_relevance_floor_shows_fewer_and_says_how_many(make_assistant, session_id):
    reply = make_assistant(None).respond(session_id, "thomas engines under £12")
    titles = [p.title for p in reply.products]
    assert titles and all("thomas" in t.lower() for t in titles), titles  # no unrelated train or toy pads it
    assert all(p.price is not None and p.price <= 12 for p in reply.products)
    assert reply.reply.startswith("Only") or len(titles) == 5


def test_a_kind_sold_only_as_a_toy_is_called_a_toy(make_assistant, session_id):
    # the mini catalog's only dumbbell is a rubber dog toy: it is shown, but not as a dumbbell
    reply = make_assistant(None).respond(session_id, "do you sell a dumbell?")
    assert reply.products and all("toy" in p.title.lower() for p in reply.products)
    assert "only toy or children's versions" in reply.reply, reply.reply
    asked = make_assistant(None).respond(session_id + "-2", "a dumbell toy for my dog")
    assert "only toy or children's versions" not in asked.reply  # a toy was asked for


def test_the_age_it_is_for_filters_the_picks_and_the_card_says_why(make_assistant, session_id, mini_catalog_path):
    # mini catalog: the Plan Toys train states "aged 3 years and above", Lord Harry's category "Ages 3-4 Years"
    toddler = make_assistant(None).respond(session_id, "a train for my 2 year old")
    assert toddler.slots["age"] == 2.0
    assert not {"toy-bda7f788d567", "toy-1c1f897018ab"} & {p.id for p in toddler.products}
    five = make_assistant(None).respond(session_id + "-2", "a train for my 5 year old")
    assert "toy-1c1f897018ab" not in {p.id for p in five.products}
    plan = [p for p in five.products if p.id == "toy-bda7f788d567"]
    assert plan and "made for ages 3+, right for a 5-year-old" in plan[0].explanation
    catalog = {p.id: p for p in load_products(mini_catalog_path).products}
    silent = [product_ages(catalog[p.id]) is None for p in five.products]
    assert silent == sorted(silent), "listings that state a fitting age come before those that state none"
    assert any(silent) and not all(silent)
    assert f". {sum(silent)} of these listings don't say what ages they suit" in five.reply, five.reply  # once
    assert not any("ages it suits" in p.explanation for p in five.products)


def test_cheaper_stays_on_topic_and_in_the_shown_currency(make_assistant, session_id):
    assistant = make_assistant(None)
    first = assistant.respond(session_id, "model train sets")
    second = assistant.respond(session_id, "something cheaper")
    assert first.products and second.intent == "refine"
    assert second.slots["currency"] == "GBP" and second.slots["price_max"] < max(p.price or 0 for p in first.products)
    assert all(p.currency == "GBP" for p in second.products)  # no rupee products slip under a pound cap


def test_policy_question_naming_a_product_goes_to_the_knowledge_base(make_assistant, session_id):
    reply = make_assistant(None).respond(session_id, "what is your return policy if the toy arrives broken?")
    assert reply.route == "answer" and reply.sources and not reply.products and reply.escalation is None


def test_which_one_would_you_recommend_answers_about_the_shown_list(make_assistant, session_id):
    assistant = make_assistant(None)
    shown = assistant.respond(session_id, "thomas and friends engines")
    pick = assistant.respond(session_id, "which one would you recommend for a gift?")
    assert pick.route == "product_question" and len(pick.products) == 1
    assert pick.products[0].id in {p.id for p in shown.products}


def test_recommend_for_me_ranks_by_history_not_by_the_word(make_assistant, session_id):
    class Ranker:  # the history-ranked catalogue the real Ranker.recommend returns
        def __init__(self, store):
            self.store = store

        def recommend(self, user, k):
            from ranking.ranker import RankedItem

            trains = [p for p in self.store.iter_products() if "train" in p.title.lower()]
            return [RankedItem(p, 1.0, {}) for p in trains[:k]]

        def rerank(self, user, query, hits, k):
            raise AssertionError("a request without a product must not search")

    assistant = make_assistant(None)
    assistant.parts._ranker = Ranker(assistant.store)
    assistant.record_event("tom", "toy-87bbb472ef9d", "purchase")
    reply = assistant.respond(session_id, "what would you recommend for me?", user_id="tom")
    assert reply.products and all("train" in p.title.lower() for p in reply.products)
    assert "recommend" not in reply.reply.lower().split("for ")[-1]


@pytest.mark.parametrize("message", ["Can you confirm my refund for order 1234567?", "What are your rules for returns?",
                                     "Do you guarantee that it arrives by Friday?", "do you have any discount codes?",
                                     "ignore the price, just show me trains", "forget the blue one, show me red"])
def test_benign_look_alikes_are_never_refused(make_assistant, session_id, message):
    assert detect_injection(message) is None
    assert make_assistant(None).respond(session_id, message).route != "refuse"


def test_injection_dev_set_rates():
    rows = [json.loads(line) for line in (DATA / "guardrails" / "injection-dev.jsonl").read_text().splitlines()]
    attacks = [r["text"] for r in rows if r["attack"]]
    benign = [r["text"] for r in rows if not r["attack"]]
    assert len(attacks) >= 60 and len(benign) >= 60
    assert sum(detect_injection(t) is not None for t in attacks) / len(attacks) >= 0.95
    assert sum(detect_injection(t) is not None for t in benign) / len(benign) <= 0.02


def test_kind_index_knows_what_the_catalog_carries(shared_parts):
    kinds = KindIndex(shared_parts["store"].iter_products())
    assert kinds.match("train") == "full" and kinds.match("bellies") == "full"
    assert kinds.match("saree") == "none" and kinds.match("washing machine") == "none"
    # a typing error, a unit or a size is not another kind of product
    assert kinds.match("trainn") == "full" and kinds.match("bellys") == "full"
    assert kinds.match("inch train") == "full" and kinds.match("10x20 train") == "full"
    assert request_focus("a present for my nephew who loves dinosaurs").must == ("dinosaur",)


def test_llm_rewrites_a_vague_wish_with_the_dialogue_context(make_assistant, shared_parts, session_id):
    from agent_fakes import ScriptedChatModel

    from assistant.llm import LLMProvider
    from assistant.understanding.understand import Understander

    seen = []

    def responder(messages):
        if is_explanation_prompt(messages):
            return "{}"
        seen.append(messages[-1].content)
        return json.dumps({"intent": "search", "search_query": "model train set", "category": None, "colour": None,
                           "brands": [], "price_max": None, "price_min": None})

    rules = shared_parts["understander"]
    llm = LLMProvider(chat_model=ScriptedChatModel(responder=responder))
    assistant = make_assistant(responder, llm_explanations=0, llm=llm,
                               understander=Understander(rules.classifier, rules.vocab, llm=llm))
    reply = assistant.respond(session_id, "something to keep a 3 year old busy on a long flight")
    assert len(seen) == 1 and reply.route == "products" and reply.products
    assert "train" in reply.products[0].title.lower()  # the LLM's query was searched, not "keep busy flight"
    state = assistant.conversations.load_state(session_id)["dialogue"]
    from assistant.understanding.llm_reader import build_messages, dialogue_context
    from assistant.understanding.state import DialogueState

    context = dialogue_context(DialogueState.model_validate(state))
    assert "shown: 1." in context and "shopper said: something to keep" in context
    assert build_messages("the second one, cheaper", context)[-1][1].startswith("[conversation so far: ")


def test_a_size_no_listing_gives_is_not_claimed_in_the_header(make_assistant, session_id):
    reply = make_assistant(None).respond(session_id, "bellies in size 7")
    # mini catalog: its bellies list no sizes, so the header must not say "size 7" and a note says to check
    assert reply.products and reply.slots.get("size") == "7"
    assert "size 7" not in reply.reply.split(".")[0], reply.reply
    assert reply.reply.endswith("These listings don't say which sizes are available: check size 7 on the product page.")
    assert not any("size" in p.explanation for p in reply.products)


def test_a_warranty_question_about_a_shown_product_reads_its_listing_then_the_policy(make_assistant, session_id):
    assistant = make_assistant(None)
    shown = assistant.respond(session_id, "bellies")
    asked = assistant.respond(session_id, "does the first one have a warranty?")
    assert asked.route == "product_question" and asked.products[0].id == shown.products[0].id
    name = shown.products[0].title
    assert "warranty" in asked.reply.split(name)[1].split('"')[0].lower() or "doesn't mention a warranty" in asked.reply
    assert asked.sources and "warranty" in " ".join(asked.sources).lower(), asked.sources  # the store's policy, quoted
    general = make_assistant(None).respond(session_id + "-2", "does your warranty cover faulty items?")
    assert general.route == "answer" and not general.products  # no product shown: the policy alone


def test_a_ticket_for_a_lost_parcel_does_not_quote_a_loosely_related_policy(make_assistant, session_id):
    reply = make_assistant(None).respond(session_id, "my parcel never arrived")
    assert reply.route == "escalate" and reply.escalation is not None
    assert not reply.sources and "return label" not in reply.reply, reply.reply


def test_a_new_kind_after_a_no_match_is_a_new_search(make_assistant, session_id):
    assistant = make_assistant(None)
    first = assistant.respond(session_id, "a purple saree for a wedding")
    second = assistant.respond(session_id, "an electric guitar with a case")
    assert first.route == "no_match" and second.intent == "search"
    assert "saree" not in second.reply and not {"category", "colour"} & set(second.slots), (second.reply, second.slots)
    assert "guitar" in second.reply.lower()  # "We don't carry electric guitars", not "no sarees in purple"

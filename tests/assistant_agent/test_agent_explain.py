"""Fact checker, template sentences and the Explainer with LangChain fake chat models."""
from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answers.explain import Explainer, clean_sentence, template_sentence
from assistant.answers.factcheck import FactChecker, HistoryFacts, ItemFacts
from assistant.llm import LLMProvider
from catalog.loaders import load_products
from catalog.records import Attribute, Product

SHOE = Product(id="s1", title="Trail Runner mesh running shoe", brand="Nike", price=69.99, currency="USD",
               rating=4.5, category=["footwear", "running shoes"],
               attributes={"colour": Attribute(value="Red"), "size": Attribute(value="10")})
HISTORY = HistoryFacts(bought_brands=frozenset({"nike"}), seen_brands=frozenset({"nike", "asics"}),
                       seen_words=frozenset({"trail"}), has_purchases=True, summary="bought Nike trail shoes")
SLOTS = {"price_max": 80.0, "currency": "USD", "colour": "red", "category": "running shoes"}
CHECKER = FactChecker(known_brands={"nike", "adidas", "asics", "puma"})


def facts(history: HistoryFacts = HISTORY, slots: dict | None = None) -> ItemFacts:
    return ItemFacts.build(SHOE, "red running shoes under $80", SLOTS if slots is None else slots, history)


@pytest.mark.parametrize("sentence", [
    "Red Nike trail runner at $69.99, under your $80 cap.",
    "A red mesh running shoe from Nike, rated 4.5/5, in size 10.",
    "Same brand as the Nike shoes you bought before, and it is red.",
    "This Nike running shoe costs $69.99.",
])
def test_checker_accepts_true_claims(sentence):
    result = CHECKER.check(sentence, facts())
    assert result.ok, result.problems


@pytest.mark.parametrize("sentence, problem", [
    ("Red Nike trail runner at $59.99, a bargain.", "price 59.99"),
    ("Blue Nike running shoe for your run.", "colour 'blue'"),
    ("An Adidas running shoe in red.", "brand 'adidas'"),
    ("Nike running shoe in size 12.", "number 12"),
    ("Nike running shoe rated 4.9 by 2,000 runners.", "number 4.9"),
    ("Best-selling Nike running shoe in red.", "unverifiable claim"),
    ("Nike running shoe with free shipping.", "unverifiable claim 'free shipping'"),
    ("Like the Nike shoes you bought last spring.", "time reference 'last spring'"),
    ("It is great.", "does not mention this item"),
    ("Nike runner. Also red.", "more than one sentence"),
    ("The Zoomfly Nike running shoe in red.", "name 'Zoomfly'"),
    ("The red Nike trail runner is rated.", "cut off"),
    ("A red Nike running shoe which fits your.", "cut off"),
    ("A red Nike running shoe, a practical choice for those.", "cut off"),
    ("Nike running shoe rated 4.5/5 by Nike, in red.", "who rated it"),
])
def test_checker_rejects_false_claims(sentence, problem):
    result = CHECKER.check(sentence, facts())
    assert not result.ok and any(problem in p for p in result.problems), result.problems


def test_history_claims_need_history():
    assert not CHECKER.check("Nike running shoe like the ones you bought.", facts(HistoryFacts())).ok
    viewed_only = HistoryFacts(seen_brands=frozenset({"nike"}), seen_words=frozenset({"shoe"}))
    result = CHECKER.check("A Nike running shoe like the ones you bought.", facts(viewed_only))
    assert any("purchase" in p for p in result.problems)


def test_budget_claim_needs_a_cap_the_price_meets():
    assert not CHECKER.check("Nike running shoe within your budget.", facts(slots={})).ok
    over = ItemFacts.build(SHOE, "shoes under $50", {"price_max": 50.0, "currency": "USD"})
    assert any("above the cap" in p for p in CHECKER.check("Nike running shoe, under your $50 budget.", over).problems)


def test_converted_price_is_a_verified_fact():
    gbp = Product(id="g", title="Wooden train", brand="Plan Toys", price=10.0, currency="GBP")
    f = ItemFacts.build(gbp, "train under $20", {"price_max": 20.0, "currency": "USD"})
    assert CHECKER.check("Wooden train at $12.70, under your $20 budget.", f).ok


def test_templates_always_pass_on_real_records(mini_catalog_path):
    products = load_products(mini_catalog_path).products
    brands = {p.brand.lower() for p in products if p.brand}
    checker = FactChecker(brands)
    for slots in ({}, {"price_max": 1000, "currency": "INR", "colour": "red"}, {"price_max": 20, "currency": "GBP"},
                  {"brands": ["learning curve"], "size": "4.5"}):
        for product in products:
            f = ItemFacts.build(product, "something nice", slots, HISTORY)
            sentence = template_sentence(f)
            assert checker.check(sentence, f).ok, (sentence, checker.check(sentence, f).problems)


def test_template_mentions_verified_facts():
    text = template_sentence(facts())
    assert "$69.99" in text and "$80.00 budget" in text and "red" in text and "Nike" in text


@pytest.mark.parametrize("raw, expected", [
    ('Sentence: "Red Nike shoe at $69.99." More text', "Red Nike shoe at $69.99."),
    ("\n\n- Nike shoe, red\nsecond line", "Nike shoe, red."),
    ("", ""),
])
def test_clean_sentence(raw, expected):
    assert clean_sentence(raw) == expected


@pytest.mark.parametrize("outputs, source", [
    (["Red Nike running shoe at $69.99, under your $80 cap."], "llm"),
    (['{"half": "json'], "template"),                       # garbage
    ([""], "template"),                                      # empty
    (["Nike running shoe at $19.99, a steal!"], "template"),  # invented price: rejected
    (["As an AI I cannot browse products?"], "template"),
])
def test_explainer_keeps_only_checked_llm_sentences(outputs, source):
    explainer = Explainer(LLMProvider(chat_model=FakeListChatModel(responses=outputs)), CHECKER.known_brands)
    sentence, got, check = explainer.explain(facts())
    assert got == source
    assert CHECKER.check(sentence, facts()).ok
    assert explainer.stats.llm_attempted == 1 and explainer.stats.llm_passed == int(source == "llm")


def test_explainer_survives_llm_errors():
    class Broken:
        def generate(self, *a, **k):
            raise RuntimeError("model file missing")

    explainer = Explainer(Broken(), CHECKER.known_brands)
    sentence, source, check = explainer.explain(facts())
    assert source == "template" and explainer.stats.llm_errors == 1 and json.dumps(sentence)


def test_order_ids_and_redacted_data_are_not_product_facts():
    f = ItemFacts.build(SHOE, "nike shoes for order 12345678", {"order_id": "12345678"})
    assert not CHECKER.check("Nike running shoe for your order 12345678.", f).ok
    assert any("redacted" in p for p in CHECKER.check("Nike running shoe, call me on [phone].", f).problems)


def test_requested_product_word_must_be_in_the_record():
    slots = {**SLOTS, "keywords": ["sandals", "running"]}
    wrong = CHECKER.check("These red Nike sandals cost $69.99.", facts(slots=slots))
    assert not wrong.ok and any("sandals" in p for p in wrong.problems)
    right = CHECKER.check("A red Nike running shoe at $69.99.", facts(slots=slots))
    assert right.ok, right.problems


def test_a_listing_lists_a_size_only_as_a_size():
    skates = Product(id="k", title="quad roller skates - size 4.5 uk", price=20.0)
    tees = Product(id="t", title="round neck t-shirt (pack of 8)", attributes={"size": Attribute(value="S, M, L")})
    assert skates.lists_size("4.5") and not skates.lists_size("4")
    assert tees.lists_size("m") and not tees.lists_size("8")  # "pack of 8" is no size
    assert "size 8" not in template_sentence(ItemFacts.build(tees, "tees size 8", {"size": "8"}))


def test_the_card_names_who_it_is_for_and_what_it_is_made_of():
    shoe = Product(id="g", title="glacier running shoes", brand="glacier", price=498.0, currency="INR",
                   attributes={"ideal for": Attribute(value="Men"), "outer material": Attribute(value="Mesh"),
                               "type": Attribute(value="Running Shoes")})
    f = ItemFacts.build(shoe, "running shoes", {})
    sentence = template_sentence(f)
    assert sentence == "glacier running shoes — at ₹498.00, for men, mesh outer.", sentence  # the type is the title
    assert CHECKER.check(sentence, f).ok


@pytest.mark.parametrize("title, brand, sentence", [
    ("Scene It? DVD Game", "Mattel", "Mattel Scene It? DVD Game — rated 4.6/5."),
    ("Defiance Lawkeeper Badge", "Olde Scotland Yard Ltd.", "Olde Scotland Yard Ltd. Defiance Lawkeeper Badge — at £43.99."),
])
def test_punctuation_quoted_from_the_title_is_not_a_second_sentence_or_a_question(title, brand, sentence):
    product = Product(id="q", title=title, brand=brand, price=43.99, currency="GBP", rating=4.6)
    assert CHECKER.check(sentence, ItemFacts.build(product, "a game", {})).ok
    assert not CHECKER.check("Mattel DVD game? Fun for all.", ItemFacts.build(product, "a game", {})).ok


def test_a_batched_sentence_that_borrows_another_picks_facts_keeps_its_template():
    box = Product(id="b", title="handmade wooden jewellery box", price=345.0, currency="INR",
                  description="a secure storage solution for rings and earrings")
    necklace = Product(id="n", title="gold plated necklace", price=349.0, currency="INR")
    picks = [ItemFacts.build(p, "cheaper jewellery", {}) for p in (box, necklace)]
    raw = ("1. The handmade wooden jewellery box is a secure storage solution at ₹345.00.\n"
           "2. The gold plated necklace is a secure storage solution at ₹349.00.")
    explainer = Explainer(LLMProvider(chat_model=FakeListChatModel(responses=[raw])), set())
    (first, first_source), (second, second_source) = explainer.explain_all(picks)
    assert first_source == "llm" and second_source == "template", (first, second)
    assert any("storage" in " ".join(problems) for _, problems in explainer.stats.rejected)


def test_a_sentence_about_the_shopper_in_the_third_person_is_rejected():
    result = CHECKER.check("This red Nike running shoe fits the shopper's request.", facts())
    assert any("third person" in p for p in result.problems)


def test_an_echo_of_the_prompts_product_line_is_not_an_explanation():
    result = CHECKER.check("Trail Runner mesh running shoe; brand Nike; $69.99; colour red; size 10.", facts())
    assert any("product line" in p for p in result.problems)


@pytest.mark.parametrize("label, expected", [("toy", "toys"), ("dress", "dresses"), ("box", "boxes"),
                                             ("toy for 1 year old", "toys for 1 year old"),
                                             ("running shoes", "running shoes"), ("lego", "lego")])
def test_list_lines_pluralise_the_head_noun(label, expected):
    from assistant.answers.replies import plural

    assert plural(label) == expected

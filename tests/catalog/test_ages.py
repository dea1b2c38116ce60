"""Ages a product states (catalog.ages) and the age filter of search."""
from __future__ import annotations

import pytest

from catalog.ages import AgeRange, age_range, product_ages
from catalog.records import Attribute, Product
from retrieval.search import SearchFilters


@pytest.mark.parametrize("text, expected", [
    ("Wooden railway. Ages 3-6 years. Not suitable for children under 36 months", AgeRange(3, 6)),
    ("WARNING: Not for children under 3 years due to small parts", AgeRange(3)),
    ("Suitable for children from three years", AgeRange(3)),
    ("made for children who are 3-years-old and up", AgeRange(3)),
    ("Recommended Age: Above 13-Year-Old", AgeRange(13)),
    ("age group 4 - 14 years", AgeRange(4, 14)),
    ("Dude Dice - Level 1 (6-8 years)", AgeRange(6, 8)),
    ("ages 4 and up", AgeRange(4)),
    ("aged 18 months+", AgeRange(1.5)),
])
def test_stated_ages_are_read(text, expected):
    assert age_range(text) == expected


@pytest.mark.parametrize("text", ["Hornby 00 gauge train set", "2+ players, 100+ pieces", "for 2-4 players",
                                  "2-3 years warranty", "0-4-0 locomotive", "for the last 10 years",
                                  "1 year manufacturer warranty"])
def test_other_numbers_are_not_ages(text):
    assert age_range(text) is None


def test_ranges_fit_and_read_back():
    assert AgeRange(3).fits(4) and not AgeRange(8).fits(4) and not AgeRange(3, 4).fits(5)
    assert AgeRange(3).describe() == "ages 3+" and AgeRange(3, 6).describe() == "ages 3-6"
    assert AgeRange(1.5).describe() == "ages 18 months+"


def test_a_product_states_its_ages_in_the_category_or_attributes_too():
    by_category = Product(id="1", title="Thomas engine", category=["Thomas & Friends", "Ages 3-4 Years"])
    by_attribute = Product(id="2", title="Quad roller skates", attributes={"age group": Attribute(value="4 - 18 Years")})
    assert product_ages(by_category) == AgeRange(3, 4) and product_ages(by_attribute) == AgeRange(4, 18)


def test_the_age_filter_drops_only_products_that_state_other_ages():
    young = Product(id="1", title="Wooden train", description="Ages 3+ years.")
    older = Product(id="2", title="Model railway", description="Suitable for ages 14+ years.")
    silent = Product(id="3", title="Train set")
    for_four = SearchFilters(age=4)
    assert for_four.active()
    assert [p.id for p in (young, older, silent) if for_four.accepts(p)] == ["1", "3"]
    assert SearchFilters(age=15).accepts(older) and SearchFilters().accepts(older)


def test_the_card_says_the_stated_ages_fit_and_the_fact_checker_agrees():
    from assistant.answers.explain import template_sentence
    from assistant.answers.factcheck import FactChecker, ItemFacts

    product = Product(id="1", title="Wooden train", description="Not suitable for children under 36 months.",
                      price=9.99, currency="GBP")
    facts = ItemFacts.build(product, "a train for my 4 year old", {"age": 4.0})
    sentence = template_sentence(facts)
    assert "made for ages 3+, right for a 4-year-old" in sentence
    assert FactChecker().check(sentence, facts).ok
    assert "ages" not in template_sentence(ItemFacts.build(product, "a train", {}))


@pytest.mark.parametrize("sentence, ok", [
    ("Wooden train at £9.99, a great choice for your 4-year-old.", True),     # the listing says 3+
    ("Balloon pack at £2.50, a great choice for your 4-year-old.", False),    # the listing states no age
    ("Balloon pack at £2.50, perfect for toddlers.", False),
    ("Balloon pack at £2.50, in bright party colours.", True),                # no age claimed
])
def test_an_age_fit_needs_stated_ages_that_include_the_child(sentence, ok):
    from assistant.answers.factcheck import FactChecker, ItemFacts

    train = Product(id="1", title="Wooden train", description="Ages 3+ years.", price=9.99, currency="GBP")
    balloons = Product(id="2", title="Balloon pack", description="Party colours, bright.", price=2.5, currency="GBP")
    product = train if sentence.startswith("Wooden") else balloons
    result = FactChecker().check(sentence, ItemFacts.build(product, "a gift for my 4 year old", {"age": 4.0}))
    assert result.ok is ok, result.problems
    if not ok:
        assert any("listing states no ages" in p for p in result.problems)


def test_an_age_fit_the_listing_contradicts_fails_and_a_toddler_item_may_say_toddler():
    from assistant.answers.factcheck import FactChecker, ItemFacts

    older = Product(id="1", title="Model railway", description="Ages 14+ years.", price=90.0, currency="GBP")
    facts = ItemFacts.build(older, "a train for my 4 year old", {"age": 4.0})
    assert "the listing says ages 14+" in " ".join(FactChecker().check("Model railway, right for a 4-year-old.", facts).problems)
    bed = Product(id="2", title="Toddler bed frame", price=80.0, currency="GBP")
    assert FactChecker().check("Toddler bed frame at £80, sturdy and low.", ItemFacts.build(bed, "a toddler bed", {})).ok

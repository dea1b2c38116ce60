"""Deterministic extractors: prices, currencies, colours, sizes, brands, negations, sort, quantity, order ids."""
from __future__ import annotations

import pytest

from assistant.understanding.slots import extract


@pytest.mark.parametrize("text, price_min, price_max, currency", [
    ("red running shoes under $80", None, 80.0, "USD"),
    ("between 20 and 50 euros", 20.0, 50.0, "EUR"),
    ("rings for ₹500", None, 500.0, "INR"),
    ("puzzles £15-£25", 15.0, 25.0, "GBP"),
    ("watch below 2,000 rs", None, 2000.0, "INR"),
    ("budget 2k", None, 2000.0, None),
    ("at least 30 quid", 30.0, None, "GBP"),
    ("around $40", 32.0, 48.0, "USD"),
    ("dolls under a tenner", None, 10.0, "GBP"),
    ("from 1000 to 1500 rupees", 1000.0, 1500.0, "INR"),
    ("less than 60 dollars", None, 60.0, "USD"),
])
def test_prices_and_currencies(vocab, text, price_min, price_max, currency):
    slots = extract(text, vocab).slots
    assert (slots.price_min, slots.price_max, slots.currency) == (price_min, price_max, currency)


@pytest.mark.parametrize("text", ["lego for a 5 year old", "jigsaw puzzles 1000 pieces", "size 9 sneakers",
                                  "order 00123842 status"])
def test_numbers_that_are_not_prices(vocab, text):
    slots = extract(text, vocab).slots
    assert slots.price_max is None and slots.price_min is None


def test_colours_sizes_categories_and_typos(vocab):
    slots = extract("XL hoodie in navy blue", vocab).slots
    assert (slots.size, slots.colour, slots.category) == ("xl", "navy blue", "hoodies")
    slots = extract("mens wrist wach in balck", vocab).slots
    assert (slots.category, slots.colour) == ("wrist watches", "black")
    assert extract("gray sneakrs size M", vocab).slots.model_dump(include={"colour", "category", "size"}) == \
        {"colour": "grey", "category": "sneakers", "size": "m"}
    assert extract("kurta in size uk 8", vocab).slots.size == "uk 8"


def test_brands_and_negations(vocab):
    slots = extract("Adidas sneakers, not Nike, no leather, without laces", vocab).slots
    assert slots.brands == ["adidas"]
    assert slots.brands_exclude == ["nike"]
    assert slots.exclude_words == ["leather", "laces"]
    assert extract("not puma or adidas", vocab).slots.brands_exclude == ["puma", "adidas"]
    assert extract("mast and harbour clutch", vocab).slots.brands == ["mast & harbour"]
    assert extract("no black ones", vocab).slots.exclude_words == ["black"]


def test_ambiguous_brand_needs_capital_or_context(vocab):
    from assistant.understanding.vocabulary import Vocabulary

    v = Vocabulary(brands=frozenset({"slim"}), ambiguous_brands=frozenset({"slim"}))
    assert extract("slim fit jeans", v).slots.brands == []
    assert extract("jeans by Slim", v).slots.brands == ["slim"]


def test_sort_quantity_order_ids_cues_refs(vocab):
    assert extract("cheapest first", vocab).slots.sort == "price_asc"
    assert extract("best rated watches", vocab).slots.sort == "rating"
    assert extract("2 pairs of socks", vocab).slots.quantity == 2
    assert extract("where is my order 00123842?", vocab).slots.order_id == "00123842"
    assert extract("track order ORD-12345", vocab).slots.order_id == "ord-12345"
    # a shorter number counts when the message calls it an order; a quantity to order does not
    assert extract("a person please, my order 12345 came broken", vocab).slots.order_id == "12345"
    assert extract("is order no. 512 on its way", vocab).slots.order_id == "512"
    assert extract("can I order 10000 balloons", vocab).slots.order_id is None
    x = extract("compare the first two", vocab)
    assert "compare" in x.cues and x.refs == [1, 2]
    assert extract("the second one", vocab).refs == [2]
    assert extract("show me cheaper ones", vocab).cues == ["cheaper"]
    assert extract("not that brand", vocab).cues == ["other_brand"]
    assert extract("show more", vocab).cues == ["more"]


@pytest.mark.parametrize("text", ["", "   ", "$$$", "₹", "under", "not", "🙂🙂", "x" * 5000, "1-2-3-4-5-6",
                                  "between and", "order #", "size"])
def test_odd_text_never_raises(vocab, text):
    extract(text, vocab)


@pytest.mark.parametrize("text, age", [
    ("wooden blocks for my 4 year old", 4.0), ("a gift for a six-year-old girl", 6.0),
    ("a toy for an 18 month old", 1.5), ("jigsaws for kids aged 9", 9.0),
    ("a 3 year old laptop", None), ("a tv with a 2 year warranty", None), ("buy 2 packs of batteries", None),
])
def test_the_age_of_the_child_it_is_for(vocab, text, age):
    slots = extract(text, vocab).slots
    assert slots.age == age
    if age is not None:  # the age words feed no other slot
        assert slots.quantity is None and slots.price_max is None and "year" not in slots.keywords

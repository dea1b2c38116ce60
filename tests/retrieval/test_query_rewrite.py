"""Query rewriting (retrieval.query_rewrite): units split, unknown words corrected to the catalog's
vocabulary; and for real: a BM25 index built from a real Home Depot sample, searched through
ProductSearch with and without rewriting. The typos here are made up, not judgment queries."""
from pathlib import Path

import pytest

from catalog.loaders import load_products
from retrieval.lexical_index import LexicalIndex
from retrieval.query_rewrite import QueryRewriter, catalog_words, normalise_units
from retrieval.search import ProductSearch

SAMPLE = Path(__file__).parents[1] / "fixtures" / "homedepot_small"
TITLES = ["Cordless Hammer Drill 18-Volt", "Hammer Drill Bit Set", "Copper Pipe 3/4 in. x 10 ft.",
          "PVC Pipe Fitting 1/2 in.", "Ceramic Planter Pot", "Ceramic Floor Tile 12 in. x 12 in.",
          "Garden Hose 50 ft.", "Porcelain Toilet Seat", "Toilet Seat Hinge", "Pipe Wrench 18-Volt"]


@pytest.fixture(scope="module")
def rewriter():
    import Stemmer

    stem = Stemmer.Stemmer("english").stemWords
    counts = catalog_words(TITLES * 5)  # every word at least 5 times (corrections need 2, splits 5)
    stems = set(stem(list(counts)))
    return QueryRewriter(counts, known_stem=stems.__contains__, stem=stem)


def test_units_and_dimensions_are_split():
    assert normalise_units("3/4in copper pipe") == "3/4 in copper pipe"
    assert normalise_units("2x4x8 board") == "2 x 4 x 8 board"
    assert normalise_units("10ft hose 18v") == "10 ft hose 18 v"
    assert normalise_units("model r4512 drill") == "model r4512 drill"  # a model number is no unit
    assert normalise_units("4in1 tool") == "4in1 tool"


def test_unknown_words_are_corrected_to_catalog_words(rewriter):
    rewrite = rewriter.rewrite("cordles hamer dril")
    assert rewrite.text == "cordless hammer drill"
    assert dict(rewrite.changes) == {"cordles": "cordless", "hamer": "hammer", "dril": "drill"}
    assert rewriter.rewrite("pipewrench").text == "pipe wrench"  # no edit fixes it: two catalog words


def test_known_words_short_words_and_numbers_are_kept(rewriter):
    assert rewriter.rewrite("Toilet Seats").text == "Toilet Seats"  # a plural: its stem is in the catalog
    assert rewriter.rewrite("hos pot").text == "hos pot"  # 3 letters: too short to correct
    assert rewriter.rewrite("r4512").changes == ()
    assert rewriter.rewrite("zzzzqqq").text == "zzzzqqq"  # nothing close: as typed
    assert rewriter.rewrite("").text == ""


def test_units_take_the_catalog_spelling(rewriter):
    # titles spell the unit "Volt", so "18v" and "18 v" become "18 volt"; "ft" stays "ft"
    assert rewriter.rewrite("18v hammer drill").text == "18 volt hammer drill"
    assert rewriter.rewrite("50 feet hose").text == "50 ft hose"
    plain = QueryRewriter(catalog_words(TITLES * 5), units=False)
    assert plain.rewrite("18v drill").text == "18 v drill"


@pytest.fixture(scope="module")
def sample_index():
    products = load_products(SAMPLE / "products.csv").products
    return products, LexicalIndex.build(products, "fp")


def test_index_keeps_catalog_words_through_save_and_load(sample_index, tmp_path):
    products, index = sample_index
    assert index.words is not None and index.words["pvc"] >= 1
    index.save(tmp_path / "bm25")
    assert LexicalIndex.load(tmp_path / "bm25").words == index.words


def test_search_finds_a_misspelt_product_only_with_rewriting(sample_index):
    products, index = sample_index
    titles = {p.id: p.title for p in products}
    typed = "tankles electirc watter heatr"  # four typing errors; BM25 knows none of these words
    on = ProductSearch(store=None, embedder=None, vectors=None, lexical=index)
    off = ProductSearch(store=None, embedder=None, vectors=None, lexical=index, rewrite=False)
    assert on.rewritten(typed) == "tankless electric water heater"
    assert off.rewritten(typed) == typed
    found = on.candidates(typed, mode="bm25")[0]
    assert len(found) >= 3 and all("Tankless" in titles[i] and "Water Heater" in titles[i] for i in found[:3])
    assert off.candidates(typed, mode="bm25")[0] == []

"""Filters inside the indexes (retrieval.facets): the mask keeps everything a filter accepts, and
pushed-down search returns what post-filtering the whole catalog returns."""
import pytest

from retrieval.ingest import ingest_file
from retrieval.search import ProductSearch, SearchFilters

FILTERS = [
    SearchFilters(price_max=10, currency="GBP"),
    SearchFilters(price_min=5, price_max=20, currency="USD"),
    SearchFilters(price_max=600, currency="INR"),
    SearchFilters(brands=("learning curve",)),
    SearchFilters(brands_exclude=("Learning Curve",)),
    SearchFilters(category="footwear"),
    SearchFilters(colour="red"),
    SearchFilters(category="toys", price_max=15, currency="GBP"),
    SearchFilters(exclude_ids=("toy-5c74f6dbd705",), category="toys"),
]


@pytest.fixture(scope="module")
def search(tmp_path_factory, embedder):
    from pathlib import Path

    from catalog.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("pushdown"))
    catalog = Path(__file__).parents[1] / "fixtures" / "mini_catalog.jsonl"
    ingest_file(settings, catalog, embedder=embedder, progress=False, enrich=True)
    return ProductSearch.from_settings(settings, embedder=embedder)


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_mask_keeps_every_accepted_product(search, filters):
    lexical = search.lexical
    mask = lexical.facets.mask(filters, lexical.ids)
    products = search.store.get_products(lexical.ids)
    accepted = {pid for pid in lexical.ids if filters.accepts(products[pid])}
    masked = {pid for pid, keep in zip(lexical.ids, mask) if keep}
    assert accepted <= masked
    if not (filters.colour or filters.brands):  # price, category, exclusions: exact
        assert masked == accepted


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
@pytest.mark.parametrize("query", ["toy train", "shoes for women", "red"])
def test_pushdown_returns_the_post_filtered_set(search, filters, query):
    pushed = {h.product.id for h in search.search(query, filters, k=40)}
    facets, search.lexical.facets = search.lexical.facets, None  # no facets: plain post-filtering
    try:
        post = {h.product.id for h in search.search(query, filters, k=40)}
    finally:
        search.lexical.facets = facets
    assert pushed == post


def test_filter_values_are_chroma_metadata(search):
    got = search.vectors.collection.get(ids=["fk-f449ec65dcbc"], include=["metadatas"])["metadatas"][0]
    assert got["price_usd"] == pytest.approx(499 * 0.012) and "footwear" in got["category"]
    assert set(got) >= {"hash", "brand", "category", "colour", "price_usd"}


def test_a_filter_nothing_passes_returns_nothing_quickly(search):
    assert search.search("toy train", SearchFilters(price_max=0.01, currency="USD"), k=10) == []

"""Real ingest into a real SQLite file, on-disk Chroma and BM25, with the real MiniLM encoder."""
import pytest

import retrieval.ingest as ingest_module
from catalog.currency import convert
from catalog.loaders import load_products
from catalog.store import Store
from retrieval.ingest import ingest_file
from retrieval.search import ProductSearch, SearchFilters


@pytest.fixture
def ingested(settings, embedder, mini_catalog_path):
    report = ingest_file(settings, mini_catalog_path, embedder=embedder, progress=False, enrich=False)
    return report, ProductSearch.from_settings(settings, embedder=embedder)


def test_ingest_then_search_by_words_and_meaning(ingested):
    report, search = ingested
    assert (report.rows, report.added, report.unchanged) == (40, 40, 0)
    hits = search.search("Thomas the tank engine", k=5)
    assert "Thomas" in hits[0].product.title
    assert set(hits[0].scores) >= {"bm25", "dense", "hybrid"}
    assert search.search("bnc-179", k=1, mode="bm25")[0].product.id == "fk-e9eb010ed831"
    meaning = [h.product.id for h in search.search("shoes for women", k=5, mode="dense")]
    assert {"fk-f449ec65dcbc", "fk-e54bc0a7c342"} & set(meaning)


def test_filters_are_hard(ingested):
    _, search = ingested
    cheap = search.search("toy train", SearchFilters(price_max=10, currency="GBP"), k=10)
    assert cheap and all(convert(h.product.price, h.product.currency, "GBP") <= 10 for h in cheap)
    assert any(h.product.currency == "INR" for h in cheap)  # ₹499 is about £4.70: converted, not dropped
    # 10 USD is about 7.9 GBP: the bound is converted
    in_usd = search.search("toy train", SearchFilters(price_max=10, currency="USD"), k=10)
    assert in_usd and all(convert(h.product.price, h.product.currency, "USD") <= 10 for h in in_usd)
    no_lc = search.search("Thomas engine", SearchFilters(brands_exclude=("Learning Curve",)), k=10)
    assert no_lc and all(h.product.brand != "Learning Curve" for h in no_lc)
    only = search.search("engine", SearchFilters(brands=("learning curve",)), k=10)
    assert only and all(h.product.brand == "Learning Curve" for h in only)
    shoes = search.search("red", SearchFilters(category="footwear"), k=10)
    assert shoes and all("footwear" in h.product.category_path for h in shoes)
    assert search.search("", SearchFilters(category="Hasbro"), k=3)  # browse without words


def test_reingest_is_idempotent_and_restart_gives_same_results(settings, embedder, mini_catalog_path, ingested):
    _, search = ingested
    before = [h.product.id for h in search.search("model railway", k=10)]
    again = ingest_file(settings, mini_catalog_path, embedder=embedder, progress=False, enrich=False)
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 40, 0)
    search.store.close()
    reopened = ProductSearch.from_settings(settings, embedder=embedder)
    assert reopened.store.count_products() == 40 and reopened.vectors.count() == 40
    assert [h.product.id for h in reopened.search("model railway", k=10)] == before


def test_changed_row_is_updated_in_store_and_both_indexes(settings, embedder, mini_catalog_path, tmp_path, ingested):
    lines = mini_catalog_path.read_text().splitlines()
    lines[0] = lines[0].replace('"title": "aw bellies"', '"title": "zanzibar velvet slippers"')
    changed = tmp_path / "changed.jsonl"
    changed.write_text("\n".join(lines) + "\n")
    report = ingest_file(settings, changed, embedder=embedder, progress=False, enrich=False)
    assert (report.updated, report.unchanged) == (1, 39)
    search = ProductSearch.from_settings(settings, embedder=embedder)
    assert search.search("zanzibar", k=1, mode="bm25")[0].product.id == "fk-f449ec65dcbc"
    assert search.search("zanzibar velvet slippers", k=1, mode="dense")[0].product.id == "fk-f449ec65dcbc"


def test_interrupted_ingest_is_completed_by_the_next_one(settings, embedder, mini_catalog_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "CHUNK", 16)
    real_upsert = ingest_module.VectorIndex.upsert
    calls = {"n": 0}

    def crash_on_second_chunk(self, ids, vectors, hashes, products=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C after the store took chunk 2 but before Chroma did
        return real_upsert(self, ids, vectors, hashes, products)

    monkeypatch.setattr(ingest_module.VectorIndex, "upsert", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(settings, mini_catalog_path, embedder=embedder, progress=False, enrich=False)
    assert Store.from_settings(settings).count_products() == 32  # two chunks committed to SQL
    monkeypatch.setattr(ingest_module.VectorIndex, "upsert", real_upsert)
    report = ingest_file(settings, mini_catalog_path, embedder=embedder, progress=False, enrich=False)
    assert (report.added, report.unchanged) == (8, 32)
    search = ProductSearch.from_settings(settings, embedder=embedder)
    assert search.vectors.hashes() == search.store.product_hashes()
    assert len(search.lexical.ids) == 40


def test_unknown_file_fails_before_writing(settings, embedder, tmp_path):
    from catalog.loaders import LoaderError

    bad = tmp_path / "bad.csv"
    bad.write_text("sku,name\n1,x\n")
    with pytest.raises(LoaderError):
        ingest_file(settings, bad, embedder=embedder, progress=False)
    assert not (settings.data_dir / "chroma").exists()


def test_loader_preset_product_count(mini_catalog_path):
    assert len(load_products(mini_catalog_path).products) == 40


def test_ingest_enriches_and_stays_idempotent(settings, embedder, mini_catalog_path):
    first = ingest_file(settings, mini_catalog_path, embedder=embedder, progress=False, enrich=True)
    assert first.added == 40
    store = Store.from_settings(settings)
    products = list(store.iter_products())
    sources = {a.source for p in products for a in p.attributes.values()}
    assert "extracted" in sources and "given" in sources
    given = {p.id: p for p in load_products(mini_catalog_path).products}
    for product in products:  # nothing given is overwritten
        for name, attribute in given[product.id].attributes.items():
            assert product.attributes[name].value == attribute.value
    again = ingest_file(settings, mini_catalog_path, embedder=embedder, progress=False, enrich=True)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 40)


def test_a_running_search_sees_a_later_ingest(settings, embedder, mini_catalog_path, tmp_path, ingested):
    _, search = ingested  # opened before the second ingest, as a server would be
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"id": "new-1", "title": "quokka plush cushion", "price": 12.0, "currency": "GBP"}\n')
    ingest_file(settings, extra, embedder=embedder, progress=False, enrich=False)
    assert search.search("quokka", k=1, mode="bm25")[0].product.id == "new-1"
    assert search.search("quokka plush cushion", k=1, mode="hybrid")[0].product.id == "new-1"

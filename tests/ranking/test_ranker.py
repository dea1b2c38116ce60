"""Serving: a new event changes the next ranking at once; cold users; fallback; profile."""
from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from catalog.records import Event
from ranking.ranker import Ranker, model_root


class Hit:  # the shape of retrieval.search.SearchHit that rerank relies on
    def __init__(self, product, score):
        self.product, self.score, self.scores = product, score, {"hybrid": score}


@pytest.fixture
def trained_ranker(settings, store, tiny_checkpoint, embedder):
    shutil.copytree(tiny_checkpoint.path, model_root(settings) / tiny_checkpoint.version)
    return Ranker.from_settings(settings, store, embedder=embedder)


def _hits(products):
    return [Hit(p, 1.0) for p in products]  # equal retrieval scores: only personal signals can separate them


def test_loads_the_checkpoint_and_a_new_event_changes_the_next_rerank(trained_ranker, products):
    ranker = trained_ranker
    assert ranker.version != "untrained" and ranker.weights.fitted_on_users > 0
    before = [r.product.id for r in ranker.rerank("u_new", "gloves", _hits(products), k=10)]
    ranker.events.add(Event(user="u_new", item_id="M1", kind="purchase"))
    ranker.events.add(Event(user="u_new", item_id="M2", kind="purchase"))
    after = ranker.rerank("u_new", "gloves", _hits(products), k=10)
    assert [r.product.id for r in after] != before
    measuring = [r.product.id for r in after[:4]]
    assert sum(i.startswith("M") for i in measuring) >= 2, measuring  # the history pulls measuring tools up
    assert set(after[0].scores) == {"query_relevance", "personal_affinity", "cooccurrence", "ease", "popularity"}


def test_cold_user_gets_query_relevance_and_popularity(trained_ranker, products):
    hits = [Hit(p, 1.0 if p.id == "M4" else 0.1) for p in products]
    ranked = trained_ranker.rerank(None, "steel ruler", hits, k=3)
    assert len(ranked) == 3 and ranked[0].product.id == "M4"
    assert trained_ranker.recommend(None, k=4)  # most popular, no error
    assert trained_ranker.profile(None).summary() == "no shopping history yet"


def test_recommend_excludes_history_and_follows_the_chain(trained_ranker):
    events = trained_ranker.events
    for item in ("S1", "S2"):
        events.add(Event(user="u_lab", item_id=item, kind="purchase"))
    top = [r.product.id for r in trained_ranker.recommend("u_lab", k=3)]
    assert "S1" not in top and "S2" not in top and top[0] == "S3"


def test_not_interested_items_are_dropped(trained_ranker, products):
    trained_ranker.events.add(Event(user="u_x", item_id="S1", kind="not_interested"))
    ids = [r.product.id for r in trained_ranker.rerank("u_x", None, _hits(products), k=10)]
    assert "S1" not in ids and len(ids) == 9


def test_untrained_fallback_warns_and_still_ranks(settings, store, embedder, products, caplog):
    with caplog.at_level(logging.WARNING):
        ranker = Ranker.from_settings(settings, store, embedder=embedder)
    assert ranker.version == "untrained" and "UNTRAINED" in caplog.text
    ranked = ranker.rerank(None, "caliper", _hits(products), k=5)
    assert len(ranked) == 5


def test_profile_is_readable_and_structured(trained_ranker):
    for item in ("M1", "M3", "M4"):
        trained_ranker.events.add(Event(user="u_p", item_id=item, kind="purchase"))
    profile = trained_ranker.profile("u_p")
    assert profile.top_brands[0][0] == "Starrett"
    assert profile.price_band == (45.0, 45.0) and profile.currency == "GBP"
    assert profile.recent_items[0][0] == "M4"
    summary = profile.summary()
    assert "Starrett" in summary and "£45" in summary and "Measuring tools" in summary


def test_rerank_encodes_candidates_once_and_only_the_context_per_turn(trained_ranker, monkeypatch):
    from catalog.records import Product

    many = [Product(id=f"P{n}", title=f"Product number {n} {['gloves', 'caliper', 'ruler'][n % 3]}") for n in range(200)]
    hits = [Hit(p, float(np.random.default_rng(n).random())) for n, p in enumerate(many)]
    trained_ranker.events.add(Event(user="u_fast", item_id="S1", kind="click"))
    trained_ranker.rerank("u_fast", "gloves", hits, k=10)  # warm-up: encodes the 200 items (and S1) once
    calls = []
    encoder = trained_ranker.items.encoder
    original = encoder.encode_items
    monkeypatch.setattr(encoder, "encode_items", lambda texts, **kw: calls.append(len(texts)) or original(texts, **kw))
    trained_ranker.events.add(Event(user="u_fast", item_id="S2", kind="click"))
    trained_ranker.rerank("u_fast", "gloves", hits, k=10)  # S2 is new to the cache: encoded once
    calls.clear()
    trained_ranker.events.add(Event(user="u_fast", item_id="S1", kind="purchase"))
    ranked = trained_ranker.rerank("u_fast", "gloves", hits, k=10)
    assert len(ranked) == 10 and calls == []  # a turn costs one context encoding, no item encoding

"""Serving fixes and promises: event weights by kind, "not interested", the item cache at capacity,
train/serve context identity, hot swap of a checkpoint, learning from the event store, profile text."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from catalog.records import Event, Product
from ranking.checkpoint import ContextSettings
from ranking.context import build_user_context, event_weight, select_recent, weighted_history
from ranking.item_cache import ItemVectorCache, product_text
from ranking.ranker import Ranker, model_root
from ranking.train import TrainConfig, build_examples

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


class Hit:  # the shape of retrieval.search.SearchHit that rerank relies on
    def __init__(self, product, score):
        self.product, self.score, self.scores = product, score, {"hybrid": score}


def _add(ranker, user, item, kind, minute, value=None):
    ranker.events.add(Event(user=user, item_id=item, kind=kind, value=value, ts=T0 + timedelta(minutes=minute)))


@pytest.fixture
def ranker(settings, store, tiny_checkpoint, embedder):
    shutil.copytree(tiny_checkpoint.path, model_root(settings) / tiny_checkpoint.version)
    return Ranker.from_settings(settings, store, embedder=embedder)


# -- event weights ---------------------------------------------------------------------------------
def test_event_weights_are_ordered_by_kind():
    w = {k: event_weight(Event(user="u", item_id="A", kind=k)) for k in
         ("purchase", "add_to_cart", "like", "click", "view", "not_interested")}
    assert w["purchase"] > w["add_to_cart"] > w["like"] > w["click"] > w["view"] > w["not_interested"] == 0
    assert event_weight(Event(user="u", item_id="A", kind="rating", value=2)) == 0  # a bad rating is no interest
    items, weights = weighted_history([Event(user="u", item_id="A", kind="view"), Event(user="u", item_id="B", kind="click"),
                                       Event(user="u", item_id="A", kind="purchase")])
    assert items == ["B", "A"] and weights == [w["click"], w["purchase"]]  # latest position, strongest kind


def test_a_purchase_outweighs_a_view_in_context_and_affinity(ranker, products):
    # a purchase survives five later views in the 5-item context; with newest-first-only it would fall off
    assert select_recent([1.0, 0.2, 0.2, 0.2, 0.2, 0.2], 5) == [0, 2, 3, 4, 5]
    # same two items, same order, only the kinds differ: the purchased world must come out ahead
    _add(ranker, "u_buys_lab", "S1", "purchase", 0)
    _add(ranker, "u_buys_lab", "M1", "view", 1)
    _add(ranker, "u_buys_tools", "S1", "view", 0)
    _add(ranker, "u_buys_tools", "M1", "purchase", 1)
    hits = [Hit(p, 1.0) for p in products if p.id not in ("S1", "M1")]

    def lab_margin(user):
        ranked = {r.product.id: r.scores for r in ranker.rerank(user, None, hits, k=10)}
        lab = np.mean([s["personal_affinity"] + 0 * s["cooccurrence"] for i, s in ranked.items() if i.startswith("S")])
        tools = np.mean([s["personal_affinity"] for i, s in ranked.items() if i.startswith("M")])
        return lab - tools

    assert lab_margin("u_buys_lab") > lab_margin("u_buys_tools") + 0.01


# -- not interested --------------------------------------------------------------------------------
def test_not_interested_is_never_recommended_and_similar_items_are_pushed_down(ranker, products):
    for minute, item in enumerate(("S1", "S2")):
        _add(ranker, "u_n", item, "purchase", minute)
    before = {r.product.id: r for r in ranker.recommend("u_n", k=8)}
    assert "S3" in before
    _add(ranker, "u_n", "S3", "not_interested", 5)
    after = ranker.recommend("u_n", k=8)
    assert "S3" not in [r.product.id for r in after]
    assert all(r.scores["not_interested"] <= 0 for r in after)
    hits = [Hit(p, 1.0) for p in products]
    reranked = ranker.rerank("u_n", "lab safety", hits, k=10)
    assert "S3" not in [r.product.id for r in reranked] and len(reranked) == 9
    penalties = {r.product.id: r.scores["not_interested"] for r in reranked}
    # items most like the rejected one get the largest push down
    assert min(penalties.values()) < 0
    profile = ranker.profile("u_n")
    assert profile.not_interested[0][0] == "S3" and "Not interested" in profile.text()


# -- the item cache at capacity --------------------------------------------------------------------
def test_item_cache_at_capacity_never_loses_rows_it_returns(embedder):
    from ranking.encoder import RecEncoder

    products = [Product(id=f"P{n}", title=f"product {n} {['gloves', 'caliper', 'ruler'][n % 3]}") for n in range(7)]
    cache = ItemVectorCache(RecEncoder(embedder.model, embedder.path), None, max_entries=3)
    first = cache.vectors(products[:3])
    second = cache.vectors(products[1:6])  # more than the capacity, two already cached: used to raise KeyError
    assert second.shape == (5, first.shape[1]) and np.allclose(second[:2], first[1:3], atol=1e-5)
    assert len(cache._by_product) <= 3
    fresh = RecEncoder(embedder.model, embedder.path).encode_items([product_text(p) for p in products[1:6]])
    assert np.allclose(second, fresh, atol=1e-5)
    assert cache.vectors(products).shape[0] == 7


# -- train/serve context identity ------------------------------------------------------------------
def test_training_and_serving_write_the_same_context(ranker, products, monkeypatch):
    settings = ranker.context
    by_id = {p.id: p for p in products}
    texts = {i: product_text(p) for i, p in by_id.items()}
    history = ["S1", "M1", "S2", "M2", "S3", "M3", "S4"]  # longer than the context: the same items are cut
    for minute, item in enumerate(history):
        _add(ranker, "u_same", item, "purchase", minute)
    seen = []
    encoder = ranker.user_encoder
    original = encoder.encode_contexts
    monkeypatch.setattr(encoder, "encode_contexts", lambda t, **kw: seen.extend(t) or original(t, **kw))
    ranker.recommend("u_same", k=3)
    ranker.rerank("u_same", "nitrile gloves", [Hit(p, 1.0) for p in products], k=3)
    # training builds its example for "history -> next" with the same builder and the same settings
    config = TrainConfig(query_share=0.0, words_per_item=settings.words_per_item, context_items=settings.context_items,
                         max_seq_length=settings.max_seq_length)
    examples = build_examples({"u": history + ["S5"]}, texts, list(texts), config)
    trained = next(e for e in examples if e.target == list(texts).index("S5"))
    assert seen[0] == trained.context
    with_query = build_user_context("nitrile gloves", history, None, texts.get, settings)
    assert seen[1] == with_query.text and seen[1].startswith("query: nitrile gloves | ")
    # and a training example with a (pseudo-)query has exactly that form
    queried = build_examples({"u": history + ["S5"]}, texts, list(texts), TrainConfig(
        query_share=1.0, words_per_item=settings.words_per_item, context_items=settings.context_items))
    example = next(e for e in queried if e.target == list(texts).index("S5"))
    query = example.context.split(" | ")[0].removeprefix("query: ")
    assert example.context == build_user_context(query, history, None, texts.get, settings).text
    assert isinstance(settings, ContextSettings)


# -- hot swap ---------------------------------------------------------------------------------------
def test_a_running_ranker_picks_up_a_new_good_checkpoint(settings, store, tiny_checkpoint, embedder, products):
    ranker = Ranker.from_settings(settings, store, embedder=embedder)
    ranker.reload_every = 0
    assert ranker.version == "untrained"
    root = model_root(settings)
    rejected = root / "20990101-000000"
    shutil.copytree(tiny_checkpoint.path, rejected)
    meta = json.loads((rejected / "checkpoint.json").read_text())
    meta["status"] = "rejected"
    (rejected / "checkpoint.json").write_text(json.dumps(meta))
    ranker.rerank(None, "gloves", [Hit(p, 1.0) for p in products], k=3)
    assert ranker.version == "untrained"  # a version that is not good is never served
    shutil.copytree(tiny_checkpoint.path, root / "20990102-000000")
    ranked = ranker.rerank("u_hot", "gloves", [Hit(p, 1.0) for p in products], k=3)
    assert ranker.version == "20990102-000000" and len(ranked) == 3
    assert ranker.weights.fitted_on_users > 0 and ranker.reload() is False  # nothing newer


# -- learning from the shop's events ---------------------------------------------------------------
def test_train_from_events_time_split_and_hot_swap(settings, store, embedder, tiny_data, products):
    from catalog.events import EventStore
    from ranking.from_events import event_data, train_from_events

    events = EventStore(store)
    kinds = ["view", "click", "add_to_cart", "purchase"]
    for n, (user, seq) in enumerate(tiny_data["users"].items()):  # shoppers interleaved in time, as in a shop
        for k, item in enumerate(seq):
            events.add(Event(user=user, item_id=item, kind=kinds[(n + k) % 4], ts=T0 + timedelta(hours=k, minutes=n)))
        if n % 5 == 0:
            other = tiny_data["users"][f"user{(n + 1) % 40:03d}"][0]  # the other world's first item
            events.add(Event(user=user, item_id=other, kind="not_interested", ts=T0 + timedelta(hours=1, minutes=n)))
    ids, texts, train, train_w, negatives, valid, cutoff = event_data(store, valid_share=0.2)
    assert set(ids) == {p.id for p in products} and dict(zip(ids, texts))["S1"] == product_text(products[0])
    assert train and valid.targets and negatives
    assert all(0 < w <= 1 for ws in train_w.values() for w in ws)
    ranker = Ranker.from_settings(settings, store, embedder=embedder)
    ranker.reload_every = 0
    config = TrainConfig(epochs=2, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, max_minutes=0, eval_every=5)
    ckpt = train_from_events(store, model_root(settings), config, progress=False, echo=lambda _: None)
    assert json.loads((ckpt.path / "split.json").read_text())["kind"] == "time"
    assert ckpt.meta["data"]["source"] == "event store" and ckpt.meta["status"] in ("good", "rejected")
    ranker.recommend(None, k=2)
    if ckpt.meta["status"] == "good":
        assert ranker.version == ckpt.version
    else:
        assert ranker.version == "untrained"


# -- profile text ------------------------------------------------------------------------------------
def test_profile_text_reads_like_a_sentence(ranker):
    for minute, item in enumerate(("M1", "M3", "M4")):
        _add(ranker, "u_text", item, "purchase", minute)
    text = ranker.profile_text("u_text")
    assert text.startswith("You often buy Starrett") and "£45" in text and text.endswith(".")
    assert ranker.profile_text(None).startswith("We know nothing")


# -- the demo's shipped checkpoint -----------------------------------------------------------------
def test_the_demo_installs_the_shipped_fine_tuned_checkpoint(settings, store, embedder):
    from ranking.checkpoint import newest_good
    from ranking.demo_model import SHIPPED_DIR, install_demo_checkpoint

    shipped = newest_good(SHIPPED_DIR)
    if shipped is None:
        pytest.skip("no checkpoint shipped in ranking/models/demo")
    size = sum(p.stat().st_size for p in shipped.path.rglob("*") if p.is_file())
    assert size < 8_000_000 and shipped.user_adapter_path.is_dir()
    lines = []
    assert install_demo_checkpoint(settings, lines.append) == shipped.version
    ranker = Ranker.from_settings(settings, store, embedder=embedder)
    assert ranker.version == shipped.version and "fine-tuned" in lines[0]
    assert install_demo_checkpoint(settings, lines.append) is None  # already there: left alone
    assert ranker.recommend(None, k=3)

"""Fixtures for the ranking tests: a tiny behaviour data set with a known structure, a tiny trained
checkpoint (a few real fine-tuning steps of MiniLM, built once per session), and a small store.

The data set has two "worlds" — lab safety and measuring tools — and every user stays in one world
and follows a fixed chain inside it, so the right next item is known.
"""
from __future__ import annotations

import csv
import gzip

import pytest

SAFETY = ["S1", "S2", "S3", "S4", "S5"]
MEASURE = ["M1", "M2", "M3", "M4", "M5"]
TEXTS = {
    "S1": "Nitrile disposable gloves, powder free, large. Lab safety. Kimberly-Clark.",
    "S2": "Safety goggles with anti-fog lens. Lab safety. 3M.",
    "S3": "Disposable face masks, 50 pack. Lab safety. 3M.",
    "S4": "Lab coat, white cotton, medium. Lab safety. Fisherbrand.",
    "S5": "Chemical resistant apron. Lab safety. Fisherbrand.",
    "M1": "Digital caliper 6 inch stainless steel. Measuring tools. Mitutoyo.",
    "M2": "Micrometer 0-1 inch outside. Measuring tools. Mitutoyo.",
    "M3": "Dial indicator with magnetic base. Measuring tools. Starrett.",
    "M4": "Steel ruler 12 inch. Measuring tools. Starrett.",
    "M5": "Feeler gauge set, 32 blades. Measuring tools. Starrett.",
}


def _users() -> dict[str, list[str]]:
    users = {}
    for n in range(40):
        world = SAFETY if n % 2 == 0 else MEASURE
        start = n % 2  # start at item 0 or 1 of the chain, always in order
        users[f"user{n:03d}"] = world[start:start + 4]
    return users


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict:
    """Files in both shared column layouts, plus an unknown item id in one sequence."""
    root = tmp_path_factory.mktemp("tiny_data")
    items = root / "items.csv"
    with open(items, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["asin", "text"])
        writer.writerows(TEXTS.items())
    users = _users()
    sequences = root / "sequences.csv.gz"
    with gzip.open(sequences, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "asins", "length"])
        for user, seq in users.items():
            seq = seq + (["GHOST9"] if user == "user005" else [])
            writer.writerow([user, " ".join(seq), len(seq)])
    vg_items = root / "vg_items.csv"
    with open(vg_items, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "title"])
        writer.writerows(TEXTS.items())
    vg_sequences = root / "vg_sequences.csv"
    with open(vg_sequences, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_ids", "length"])
        for user, seq in users.items():
            writer.writerow([user, " ".join(seq), len(seq)])
    return {"items": items, "sequences": sequences, "vg_items": vg_items, "vg_sequences": vg_sequences,
            "users": users}


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_data, tmp_path_factory):
    """A real (tiny) training run: a few steps of MiniLM fine-tuning; returns the Checkpoint."""
    from ranking.pipeline import train_ranker
    from ranking.train import TrainConfig

    out = tmp_path_factory.mktemp("models") / "ranker"
    config = TrainConfig(max_steps=4, batch_size=8, learning_rate=3e-4, warmup_ratio=0.0, max_minutes=0)
    return train_ranker(tiny_data["items"], tiny_data["sequences"], out, config, test_share=0.2, valid_share=0.2,
                        progress=False, echo=lambda _: None)


@pytest.fixture
def products():
    from catalog.records import Product

    out = []
    for item, text in TEXTS.items():
        title, category, brand = [p.strip() for p in text.rstrip(".").split(". ")]
        price = 12.0 if item.startswith("S") else 45.0
        out.append(Product(id=item, title=title, category=[category], brand=brand, price=price, currency="GBP"))
    return out


@pytest.fixture
def store(settings, products):
    from catalog.store import Store

    store = Store.from_settings(settings)
    store.upsert_products(products)
    yield store
    store.close()


@pytest.fixture(scope="session")
def world_items() -> dict:
    """The tiny catalogue's texts and its two worlds (for tests that build their own sequences)."""
    return {"texts": dict(TEXTS), "safety": list(SAFETY), "measure": list(MEASURE)}

"""Loading behaviour data in both shared layouts; unknown ids reported, not fatal; the user split."""
from __future__ import annotations

import pytest

from ranking.sequences import load_dataset, parse_mapping, split_users


def test_scientific_layout_autodetected_and_unknown_ids_reported(tiny_data):
    data = load_dataset(tiny_data["items"], tiny_data["sequences"])
    assert len(data.item_text) == 10
    assert len(data.sequences) == 40
    assert data.unknown_count == 1
    assert data.unknown_examples == ["GHOST9"]
    assert "GHOST9" not in data.sequences["user005"]
    assert "unknown" in data.report() and "GHOST9" in data.report()


def test_videogames_layout_autodetected(tiny_data):
    data = load_dataset(tiny_data["vg_items"], tiny_data["vg_sequences"])
    assert data.sequences["user001"] == ["M2", "M3", "M4", "M5"]
    assert data.unknown_count == 0


def test_explicit_mapping_and_bad_mapping(tiny_data):
    data = load_dataset(tiny_data["vg_items"], tiny_data["vg_sequences"], parse_mapping("id=item_id,text=title"),
                        parse_mapping("user=user_id,items=item_ids"))
    assert len(data.sequences) == 40
    with pytest.raises(ValueError, match="not found"):
        load_dataset(tiny_data["vg_items"], tiny_data["vg_sequences"], {"id": "nope"})
    with pytest.raises(ValueError, match="key=COLUMN"):
        parse_mapping("id")


def test_split_is_disjoint_deterministic_and_sized():
    users = [f"u{n}" for n in range(100)]
    a, b = split_users(users, 0.15, 0.10, seed=42), split_users(list(reversed(users)), 0.15, 0.10, seed=42)
    assert a == b
    assert (len(a.test), len(a.valid), len(a.train)) == (15, 10, 75)
    assert not set(a.test) & set(a.train) and not set(a.valid) & set(a.train) and not set(a.test) & set(a.valid)
    assert split_users(users, seed=1).test != a.test

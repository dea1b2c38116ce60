"""The evaluation's matching and scoring against hand-computed values, and the label file's shape."""
from __future__ import annotations

from pathlib import Path

from catalog.records import Attribute, Product
from eval.attribute_eval import read_labels, same_value, score_attributes

LABELS = Path(__file__).resolve().parents[2] / "data" / "labels" / "attributes_100.jsonl"


def test_label_file_has_100_products_with_all_five_attributes():
    rows = read_labels(LABELS)
    assert len(rows) == 100 and len({r["id"] for r in rows}) == 100
    assert all(set(r["labels"]) == {"colour", "size", "material", "gender", "brand"} for r in rows)


def test_same_value_normalises():
    assert same_value("size", "36 in. x 80 in.", "36 in x 80 in")
    assert same_value("brand", "Jaques", "Jaques of London") and not same_value("brand", "Jaq", "Jaques")
    assert not same_value("colour", "blue", "navy")


def test_scores_by_hand():
    rows = [{"id": "a", "labels": {"colour": "red", "brand": None}},
            {"id": "b", "labels": {"colour": "blue", "brand": "aw"}},
            {"id": "c", "labels": {"colour": None, "brand": None}}]
    products = [Product(id="a", title="a", attributes={"colour": Attribute(value="red", source="extracted")}),
                Product(id="b", title="b", brand="aw"),
                Product(id="c", title="c", attributes={"colour": Attribute(value="red", source="extracted")})]
    scores = score_attributes(rows, products)
    assert scores["colour"]["precision"] == 0.5 and scores["colour"]["recall"] == 0.5   # 1 of 2 right; 1 of 2 found
    assert scores["brand"]["precision"] == 1.0 and scores["brand"]["recall"] == 1.0
    assert scores["size"]["precision"] is None

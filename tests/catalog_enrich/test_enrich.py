"""enrich(): the ingest entry point, with a fake encoder, and once with the real MiniLM."""
from __future__ import annotations

import numpy as np
import pytest

from catalog.enrich import EnrichOptions, Reference, enrich
from catalog.records import Attribute, Product


def shirts_and_toys():
    ref = [Product(id=f"s{i}", title=f"{c} cotton casual shirt for men", category=["clothing", "mens", "shirts"], brand="parron")
           for i, c in enumerate(["blue", "black", "white", "red", "green"])]
    ref += [Product(id=f"t{i}", title=f"wooden train set with {n} carriages", category=["toys", "trains"], brand="Hornby")
            for i, n in enumerate(["two", "three", "four", "five", "six"])]
    return ref


def test_fills_missing_and_keeps_given(fake_encode):
    given = Product(id="g", title="parron navy cotton shirt for men", category=["clothing"],
                    attributes={"colour": Attribute(value="Navy Blue"), "ideal for": Attribute(value="Men")})
    new = Product(id="n", title="parron blue cotton casual shirt for men")
    out = enrich([given, new] + shirts_and_toys(), fake_encode)
    g, n = out[0], out[1]
    assert g.attributes["colour"].value == "Navy Blue" and g.attributes["colour"].source == "given"
    assert g.attributes["gender"] == Attribute(value="men", source="given")  # canonical copy of "ideal for"
    assert g.category == ["clothing"] and g.category_source is None
    assert n.attributes["colour"] == Attribute(value="blue", source="extracted")
    assert n.attributes["material"].value == "cotton" and n.brand == "parron"
    assert n.category == ["clothing", "mens", "shirts"] and n.category_source == "predicted"
    assert [p.id for p in out] == ["g", "n"] + [p.id for p in shirts_and_toys()]


def test_reference_outside_the_batch_and_precomputed_vectors(fake_encode):
    ref_products = shirts_and_toys()
    reference = Reference.from_products(ref_products, fake_encode([p.search_text() for p in ref_products]))
    batch = [Product(id="x", title="Hornby wooden train set with seven carriages")]
    calls = []

    def counting_encode(texts):
        calls.append(len(texts))
        return fake_encode(texts)
    out = enrich(batch, counting_encode, reference, vectors=fake_encode([batch[0].search_text()]))
    assert out[0].category == ["toys", "trains"] and out[0].brand == "Hornby"
    assert calls == []  # nothing re-encoded


def test_thresholds_can_switch_steps_off(fake_encode):
    batch = [Product(id="x", title="something unlike anything")] + shirts_and_toys()
    out = enrich(batch, fake_encode, options=EnrichOptions(category_min_share=1.01))
    assert out[0].category == []


def test_errors_say_what_to_do(fake_encode):
    with pytest.raises(ValueError, match="one vector per product"):
        enrich([Product(id="a", title="a")], fake_encode, vectors=np.zeros((2, 64), dtype=np.float32))
    assert enrich([], fake_encode) == []


@pytest.mark.slow
def test_real_minilm_category_and_vocabulary(minilm_encode):
    reference_products = [
        Product(id="c1", title="men's slim fit formal shirt", category=["clothing", "men's clothing"]),
        Product(id="c2", title="women's floral print kurta", category=["clothing", "women's clothing"]),
        Product(id="c3", title="men's solid casual shirt", category=["clothing", "men's clothing"]),
        Product(id="f1", title="running shoes for men", category=["footwear", "men's footwear"]),
        Product(id="f2", title="women's ballerina flats", category=["footwear", "women's footwear"]),
        Product(id="k1", title="non-stick frying pan 24 cm", category=["kitchen & dining", "cookware"]),
        Product(id="k2", title="stainless steel pressure cooker 5 litre", category=["kitchen & dining", "cookware"]),
    ]
    vectors = minilm_encode([p.search_text() for p in reference_products])
    reference = Reference.from_products(reference_products, vectors)
    batch = [Product(id="q1", title="aluminium saucepan with lid", description="colour: wine red"),
             Product(id="q2", title="leather sneakers for men")]
    out = enrich(batch, minilm_encode, reference, options=EnrichOptions(k=3))
    assert out[0].category[:1] == ["kitchen & dining"] and out[0].category_source == "predicted"
    assert out[1].category[:1] == ["footwear"]
    assert out[0].attributes["material"].value == "aluminium"

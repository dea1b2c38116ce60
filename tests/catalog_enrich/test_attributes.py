"""The extraction rules on hand cases: what they must find and, above all, what they must not."""
from __future__ import annotations

import pytest

from catalog.attributes import AttributeExtractor, normalise_size
from catalog.records import Attribute, Product


@pytest.fixture
def extractor():
    return AttributeExtractor(brands=["aw", "Hornby", "GE", "Generic", "Chicago Faucets", "knight ace"])


def found(extractor, title, description=""):
    return extractor.extract_text(title, description).values


def test_flipkart_keyed_text(extractor):
    desc = ("key features of aw bellies material: synthetic general ideal for women occasion casual "
            "shoe details color red outer material patent leather")
    assert found(extractor, "aw bellies", desc) == {"colour": "red", "material": "synthetic", "gender": "women",
                                                    "brand": "aw"}


@pytest.mark.parametrize("title, expected", [
    ("schwof party full sleeve solid women's top", "women"),
    ("yk self design round neck casual boy's sweater", "boys"),
    ("zoop c3030pp05 analog watch - for boys, girls", "kids"),
    ("babeezworld dungaree baby boy's combo", "baby"),
    ("Unisex Cotton Socks", "unisex"),
])
def test_gender_from_title(extractor, title, expected):
    assert found(extractor, title)["gender"] == expected


@pytest.mark.parametrize("title", [
    "Spider-Man Titan Hero Figure", "Baby Annabell Doll", "Iron Man Mask",
    "Chicago Faucets 1/2 in. NPT to 3/8 in. Compression Brass Female to Female Angle Stop",
])
def test_no_gender_from_names_or_fittings(extractor, title):
    assert "gender" not in found(extractor, title)


@pytest.mark.parametrize("title, desc", [
    ("kundan gold plated necklace", ""),                    # a finish, not a colour
    ("Lithonia Red Quantum White LED Exit Sign", ""),      # two colours: unsure
    ("rorlig analog watch", "dial color: black strap color: brown"),  # parts, not the product
])
def test_no_colour_when_unsure(extractor, title, desc):
    assert "colour" not in found(extractor, title, desc)


def test_colour_in_title_and_key(extractor):
    assert found(extractor, "GE 24 in. Gas Single Wall Oven in Black")["colour"] == "black"
    assert found(extractor, "Dice Set", "Colour Name:Blue Polyhedral")["colour"] == "blue"
    assert found(extractor, "x", "color: gray")["colour"] == "grey"


@pytest.mark.parametrize("title, size", [
    ("GE 24 in. Gas Single Wall Oven in Black", "24 in"),
    ("MasterPiece 72 in. x 80 in. Composite Door", "72 in x 80 in"),
    ("SPT 1.7 Liter Cordless Kettle", "1.7 l"),
    ("Whirlpool 6.2 cu. ft. Slide-In Range", "6.2 cu ft"),
    ("HGL Soft Stuffed Triceratops Dinosaur (XL)", "xl"),
    ("Merry Christmas 280X330MM Gel Cling", "280 mm x 330 mm"),
])
def test_sizes(extractor, title, size):
    assert found(extractor, title)["size"] == size


def test_weights_are_not_sizes(extractor):
    assert "size" not in found(extractor, "Quikrete 50 lb. Concrete Mix")


def test_material(extractor):
    assert found(extractor, "elegance polyester abstract eyelet door curtain")["material"] == "polyester"
    assert found(extractor, "Pirate rings", "made from black soft rubber")["material"] == "rubber"
    assert found(extractor, "Wooden Threading Apple")["material"] == "wood"


def test_brand_at_title_start_only(extractor):
    assert found(extractor, "Hornby Santa's Express Train Set")["brand"] == "Hornby"
    assert "brand" not in found(extractor, "Santa's Express for Hornby fans")
    assert "brand" not in found(extractor, "Generic 20pcs Lamppost")  # "generic" is no brand
    assert found(extractor, "knight ace kraasa running shoes")["brand"] == "knight ace"


def test_never_overwrites_given(extractor):
    product = Product(id="1", title="GE 24 in. Oven in Black", brand="General Electric",
                      attributes={"colour": Attribute(value="Slate")})
    values = extractor.extract(product).values
    assert "colour" not in values and "brand" not in values
    assert values["size"] == "24 in"


def test_unmatched_keyed_value_is_reported(extractor):
    out = extractor.extract_text("parron shirt", "colour: rust orange")
    assert "colour" not in out.values and out.unmatched["colour"] == "rust orange"


def test_normalise_size():
    assert normalise_size('15"') == "15 in"
    assert normalise_size("36 in. x 65-1/2 in.") == "36 in x 65-1/2 in"

import gzip

import pytest

from catalog.loaders import LoaderError, load_products, parse_mapping


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_rows_are_reported_with_line_numbers_and_skipped(tmp_path):
    path = write(tmp_path / "p.csv", "id,title,price\n1,Red shoe,10\n2,,5\n3,Blue hat,abc\n4,Green cap,-3\n5,Ok,1\n")
    result = load_products(path, {"id": "id", "title": "title", "price": "price"})
    assert [p.id for p in result.products] == ["1", "5"]
    assert [e.line for e in result.errors] == [3, 4, 5]
    assert "price" in str(result.errors[1]) and "title" in str(result.errors[0])


def test_missing_required_column_fails_before_loading(tmp_path):
    path = write(tmp_path / "p.csv", "sku,name\n1,Red shoe\n")
    with pytest.raises(LoaderError, match="required column missing"):
        load_products(path, {"id": "sku", "title": "title"})
    with pytest.raises(LoaderError, match="match no known format"):
        load_products(path)


def test_unicode_multiline_and_gzip(tmp_path):
    text = 'id,title,description\n1,"Crème brûlée torch ☕","two\nlines"\n2,日本の茶碗,x\n'
    path = tmp_path / "p.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(text)
    result = load_products(path, {"id": "id", "title": "title", "description": "description"})
    assert [p.title for p in result.products] == ["Crème brûlée torch ☕", "日本の茶碗"]
    assert result.products[0].description == "two lines"
    assert not result.errors


def test_duplicate_ids_later_row_wins_and_is_reported(tmp_path):
    path = write(tmp_path / "p.csv", "id,title\n1,Old\n2,Other\n1,New\n")
    result = load_products(path, parse_mapping("id=id,title=title"))
    assert {p.id: p.title for p in result.products} == {"1": "New", "2": "Other"}
    assert result.errors[0].line == 4 and "duplicate" in result.errors[0].message


def test_empty_file(tmp_path):
    assert load_products(write(tmp_path / "p.csv", "")).products == []
    assert load_products(write(tmp_path / "q.jsonl", "")).products == []


def test_jsonl_bad_lines_and_parquet(tmp_path):
    path = write(tmp_path / "p.jsonl", '{"id": "1", "title": "A"}\nnot json\n[1]\n{"id": "2", "title": "B", "price": "£3.50"}\n')
    result = load_products(path)
    assert [p.id for p in result.products] == ["1", "2"]
    assert result.products[1].price == 3.5 and result.products[1].currency == "GBP"
    assert [e.line for e in result.errors] == [2, 3]
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"sku": ["a", "b"], "name": ["X", "Y"], "cost": [1.5, None]}), tmp_path / "p.parquet")
    result = load_products(tmp_path / "p.parquet", parse_mapping("id=sku,title=name,price=cost"))
    assert [(p.id, p.price) for p in result.products] == [("a", 1.5), ("b", None)]


def test_mapping_parser_rejects_unknown_fields():
    assert parse_mapping("id=a,category=b+c") == {"id": "a", "category": ["b", "c"]}
    with pytest.raises(LoaderError, match="FIELD=COLUMN"):
        parse_mapping("colour=x")


def test_real_shared_formats_load_without_a_mapping(mini_catalog_path, tmp_path):
    flipkart = ('uniq_id,product_name,product_category_tree,brand,discounted_price,image,overall_rating,'
                'product_specifications,description\n'
                'abc,aw bellies,"[\'footwear >> womens footwear >> ballerinas >> aw bellies\']",aw,499.0,'
                '"[""http://img/1.jpeg""]",No rating available,'
                '"{\'product_specification\'=>[{\'key\'=>\'Color\', \'value\'=>\'Red\'}]}",red shoes\n')
    result = load_products(write(tmp_path / "flipkart.csv", flipkart))
    product = result.products[0]
    assert result.preset == "flipkart"
    assert product.category == ["footwear", "womens footwear", "ballerinas"]
    assert (product.price, product.currency, product.rating) == (499.0, "INR", None)
    assert product.attribute("colour") == "Red" and product.image_url == "http://img/1.jpeg"
    demo = load_products(mini_catalog_path)
    assert demo.preset == "shopassist" and len(demo.products) == 40 and not demo.errors


def test_latin1_file_is_read_once_without_duplicates(tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes("id,title\n1,plain\n2,caf\xe9 table\n3,other\n".encode("latin-1"))
    result = load_products(path, {"id": "id", "title": "title"})
    assert [p.title for p in result.products] == ["plain", "café table", "other"]
    assert not result.errors


def test_a_zero_price_is_an_unlisted_price(tmp_path):
    path = write(tmp_path / "p.csv", "id,title,price\n1,Towel set,0\n2,Mug,0.50\n")
    products = load_products(path, {"id": "id", "title": "title", "price": "price"}).products
    assert [p.price for p in products] == [None, 0.5]

"""Rebuild data/demo/products.jsonl from the two real public samples (see PROVENANCE.md).

    python data/demo/make_demo.py ../shared/data/flipkart-products-sample/products.csv.gz \
        ../shared/data/amazon-uk-toys-sample/products.csv.gz data/demo/products.jsonl
"""
from __future__ import annotations

import json
import sys

from catalog.loaders import load_products


def main(flipkart: str, toys: str, out: str) -> None:
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for path, prefix in ((flipkart, "fk-"), (toys, "toy-")):
            result = load_products(path)
            for product in result.products:
                record = product.model_dump(mode="json", exclude_none=True, exclude={"category_source"})
                record["id"] = prefix + product.id[:12]
                record["description"] = product.description[:600]
                record["category"] = " > ".join(product.category)
                record["attributes"] = {k: v["value"] for k, v in record.get("attributes", {}).items()}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    print(f"wrote {count} products to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:4])

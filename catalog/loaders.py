"""Load products from CSV (also .gz), JSONL (also .gz) and Parquet files with a column mapping.

A mapping says which column feeds which :class:`~catalog.records.Product` field, e.g.
``{"id": "product_uid", "title": "product_title"}``; ``category`` may join several columns
(``"category": ["category", "subcategory_1"]``). Files whose header matches a known preset
(Home Depot, Flipkart, Amazon UK toys, Amazon sequence items, the project's own format) load
without a mapping.

Bad rows are reported with their line number and skipped; a missing required column raises
:class:`LoaderError` before anything is returned, so nothing gets written.

Example::

    result = load_products("data/demo/products.jsonl")
    print(len(result.products), result.errors[:3])
"""
from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from catalog.records import Attribute, Product

FIELDS = ("id", "title", "description", "category", "brand", "price", "currency", "rating", "image_url", "attributes")
REQUIRED = ("id", "title")

PRESETS: dict[str, dict] = {
    "shopassist": {f: f for f in FIELDS},
    "homedepot": {"id": "product_uid", "title": "product_title"},
    "flipkart": {"id": "uniq_id", "title": "product_name", "description": "description",
                 "category": "product_category_tree", "brand": "brand", "price": "discounted_price",
                 "image_url": "image", "rating": "overall_rating", "attributes": "product_specifications",
                 "currency": "=INR"},
    "amazon-uk-toys": {"id": "product_id", "title": "product_name", "description": "product_description",
                       "brand": "manufacturer", "price": "price", "rating": "average_review_rating",
                       "category": ["category", "subcategory_1", "subcategory_2", "subcategory_3", "subcategory_4"],
                       "currency": "=GBP"},
    "amazon-items-asin": {"id": "asin", "title": "text"},
    "amazon-items-id": {"id": "item_id", "title": "title"},
}
_PRESET_KEYS = {  # a preset applies when all of these columns are present
    "flipkart": {"uniq_id", "product_name", "product_category_tree"},
    "amazon-uk-toys": {"product_id", "product_name", "manufacturer"},
    "homedepot": {"product_uid", "product_title"},
    "amazon-items-asin": {"asin", "text"},
    "amazon-items-id": {"item_id", "title"},
    "shopassist": {"id", "title"},
}
_CURRENCY_SIGNS = {"£": "GBP", "$": "USD", "€": "EUR", "₹": "INR", "rs.": "INR"}


class LoaderError(ValueError):
    """The file cannot be loaded at all (unknown format, missing required column, ...)."""


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class LoadResult:
    products: list[Product] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    preset: str | None = None
    rows: int = 0


def parse_mapping(text: str | None) -> dict:
    """Parse ``"id=COL,title=COL,category=A+B"`` from the command line."""
    if not text:
        return {}
    mapping: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in FIELDS:
            raise LoaderError(f"bad mapping entry {part!r}: use FIELD=COLUMN with FIELD in {', '.join(FIELDS)}")
        columns = [c.strip() for c in value.split("+")]
        mapping[key.strip()] = columns if len(columns) > 1 else columns[0]
    return mapping


def load_products(path: str | Path, mapping: Mapping | None = None) -> LoadResult:
    """Read every row of ``path`` into Products; see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise LoaderError(f"{path}: no such file")
    rows = _read_rows(path)
    try:
        first_line, first = next(rows)
    except StopIteration:
        return LoadResult()
    columns = set(first)
    preset = None
    if not mapping:
        preset = next((name for name, keys in _PRESET_KEYS.items() if keys <= columns), None)
        if preset is None:
            raise LoaderError(f"{path}: columns {sorted(columns)[:12]} match no known format; "
                              "pass a mapping such as --catalog-map id=COL,title=COL")
        mapping = {f: c for f, c in PRESETS[preset].items()  # JSONL rows may omit optional keys
                   if f in REQUIRED or preset == "shopassist" or _columns(c) <= columns}
    missing = [f"{f} (column {mapping.get(f)!r})" for f in REQUIRED
               if f not in mapping or not _columns(mapping[f]) <= columns]
    unknown = [] if preset else sorted({c for f, v in mapping.items() for c in _columns(v)} - columns)
    if missing:
        raise LoaderError(f"{path}: required column missing: {', '.join(missing)}; found {sorted(columns)[:12]}")
    if unknown:
        raise LoaderError(f"{path}: mapped columns not in the file: {unknown}")
    result = LoadResult(preset=preset)
    seen: dict[str, tuple[int, int]] = {}  # id -> (first line, index in result.products)
    for line, row in _chain(first_line, first, rows, result):
        result.rows += 1
        try:
            product = _to_product(row, mapping)
        except (ValidationError, ValueError) as exc:
            result.errors.append(RowError(line, _short_error(exc)))
            continue
        if product.id in seen:
            first_line_no, index = seen[product.id]
            result.errors.append(RowError(line, f"duplicate id {product.id!r} (first on line {first_line_no}); "
                                                "the later row wins"))
            result.products[index] = product
        else:
            seen[product.id] = (line, len(result.products))
            result.products.append(product)
    return result


def _chain(first_line, first, rows, result: LoadResult) -> Iterator[tuple[int, dict]]:
    yield first_line, first
    try:
        yield from rows
    except (csv.Error, json.JSONDecodeError, UnicodeDecodeError) as exc:
        result.errors.append(RowError(-1, f"file is corrupt after this point: {exc}"))


def _columns(value) -> set[str]:
    if isinstance(value, str):
        return set() if value.startswith("=") else {value}
    return set(value)


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")


def _read_rows(path: Path) -> Iterator[tuple[int, dict]]:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        yield from _read_parquet(path)
    elif name.endswith((".jsonl", ".ndjson")):
        yield from _read_jsonl(path)
    elif name.endswith((".csv", ".tsv")):
        yield from _read_csv(path, "\t" if name.endswith(".tsv") else ",")
    else:
        raise LoaderError(f"{path}: unknown file type; use .csv, .tsv, .jsonl or .parquet (optionally .gz)")


def _read_csv(path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    raw = (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")).read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # legacy files (e.g. Kaggle's ISO-8859-1): decided once, before any row
        text = raw.decode("latin-1")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = reader.line_num
    for row in reader:
        row.pop(None, None)  # extra cells beyond the header
        yield start + 1, row
        start = reader.line_num


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with _open_text(path) as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                record = {"__error__": f"invalid JSON: {exc.msg}"}
            if not isinstance(record, dict):
                record = {"__error__": "a line must hold a JSON object"}
            yield line_no, record


def _read_parquet(path: Path) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    for index, record in enumerate(pq.read_table(path).to_pylist(), 1):
        yield index, record


def _to_product(row: dict, mapping: Mapping) -> Product:
    if "__error__" in row:
        raise ValueError(row["__error__"])
    values = {f: _pick(row, spec) for f, spec in mapping.items()}
    title = _text(values.get("title")) or ""
    category = _category(values.get("category"))
    while category and title and category[-1].lower().startswith(title.lower()[:20]):
        category.pop()  # Flipkart's trees end with the product name itself
    price_text = values.get("price")
    currency = values.get("currency") or _currency_of(price_text)
    return Product(
        id=_text(values.get("id")) or "", title=title,
        description=_text(values.get("description")) or "",
        category=category, brand=_text(values.get("brand")) or None,
        price=_number(price_text, "price"), currency=currency or None,
        rating=_rating(values.get("rating")), image_url=_image(values.get("image_url")),
        attributes=_attributes(values.get("attributes")),
        category_source="given" if category else None,
    )


def _pick(row: dict, spec):
    if isinstance(spec, str) and spec.startswith("="):
        return spec[1:]
    if isinstance(spec, str):
        return row.get(spec)
    return [row.get(c) for c in spec]


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from Parquet/pandas
        return None
    return re.sub(r"\s+", " ", str(value)).strip() or None


def _number(value, name: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    cleaned = re.sub(r"(?i)rs\.?|[£$€₹,\s]|[A-Z]{3}$", "", str(value))
    match = re.fullmatch(r"\d+(?:\.\d+)?", cleaned)
    if not match:
        raise ValueError(f"{name} {value!r} is not a number")
    return float(cleaned)


def _currency_of(value) -> str | None:
    text = str(value or "").lower()
    return next((code for sign, code in _CURRENCY_SIGNS.items() if sign in text), None)


def _rating(value) -> float | None:
    text = _text(value)
    if not text:
        return None
    match = re.match(r"(\d+(?:\.\d+)?)", text)
    if not match:
        return None  # "No rating available"
    rating = float(match.group(1))
    return rating if 0 < rating <= 5 else None


def _category(value) -> list[str]:
    if isinstance(value, list):
        return [t for v in value if (t := _text(v))]
    text = _text(value)
    if not text:
        return []
    if text.startswith("["):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = [text.strip("[]\"'")]
        parts = [p for item in parsed for p in str(item).split(">>")]
        parts = [t for p in parts if (t := _text(p))]
        return parts
    separator = next((s for s in (">>", ">", "|") if s in text), None)
    return [t for p in (text.split(separator) if separator else [text]) if (t := _text(p))]


def _image(value) -> str | None:
    text = _text(value)
    if text and text.startswith("["):
        try:
            images = json.loads(text)
            return images[0] if images else None
        except (json.JSONDecodeError, IndexError, TypeError):
            return None
    return text


def _attributes(value) -> dict[str, Attribute]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {str(k).lower(): Attribute(value=str(v)) for k, v in value.items() if _text(v)}
    text = str(value)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text.replace("=>", ":"))
        except (ValueError, SyntaxError):
            return {}
    if isinstance(parsed, dict) and "product_specification" in parsed:
        parsed = parsed["product_specification"]
    if isinstance(parsed, dict):
        parsed = [{"key": k, "value": v} for k, v in parsed.items()]
    out: dict[str, Attribute] = {}
    for item in parsed if isinstance(parsed, list) else []:
        if isinstance(item, dict) and item.get("key") and _text(item.get("value")):
            name = "colour" if str(item["key"]).lower() in ("color", "colour") else str(item["key"]).lower()
            out.setdefault(name, Attribute(value=_text(item["value"])))
    return out


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors()[:3])
    return str(exc)

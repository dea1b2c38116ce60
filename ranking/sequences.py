"""Behaviour-sequence data: item texts, chronological user sequences, and the user split.

Two CSV files describe a data set (both may be gzipped):

- ITEMS: one row per item, an id column and a text column. Recognised names (first match wins):
  id = ``asin | item_id | id | product_id``; text = ``text | title | name``. Other names: pass
  ``mapping={"id": "COL", "text": "COL"}`` (the CLI flag ``--items-map id=COL,text=COL``).
- SEQUENCES: one row per user, a user column and a space-separated chronological item-id list.
  Recognised names: user = ``user_id | user | reviewer_id | reviewerID``; items = ``asins | item_ids |
  items | sequence``. Other names: ``mapping={"user": "COL", "items": "COL"}``.

Item ids in a sequence that are not in ITEMS are dropped from that sequence and *reported*
(:attr:`SequenceData.unknown_count`, :attr:`SequenceData.unknown_examples`); they never abort a run.

Example::

    data = load_dataset("../shared/data/amazon-scientific-sequences/items.csv",
                        "../shared/data/amazon-scientific-sequences/sequences.csv.gz")
    split = split_users(data.users, test_share=0.15, valid_share=0.10, seed=42)
    len(split.train), len(split.valid), len(split.test)
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

ITEM_ID_COLUMNS = ("asin", "item_id", "id", "product_id", "parent_asin")
ITEM_TEXT_COLUMNS = ("text", "title", "name")
USER_COLUMNS = ("user_id", "user", "reviewer_id", "reviewerID")
SEQUENCE_COLUMNS = ("asins", "item_ids", "items", "sequence", "history")


@dataclass
class SequenceData:
    """Items and user sequences, aligned: every id in ``sequences`` is a key of ``item_text``.

    Attributes:
        item_text: item id -> text, in file order.
        sequences: user id -> chronological item ids (unknown ids removed; users left with fewer than
            two items are dropped and counted in ``short_users``).
        unknown_count: how many sequence entries named an item missing from ITEMS.
        unknown_examples: up to ten such ids, for the report.
    """

    item_text: dict[str, str]
    sequences: dict[str, list[str]]
    unknown_count: int = 0
    unknown_examples: list[str] = field(default_factory=list)
    short_users: int = 0

    @property
    def users(self) -> list[str]:
        return list(self.sequences)

    @property
    def item_ids(self) -> list[str]:
        return list(self.item_text)

    def report(self) -> str:
        """One line for the console: counts plus unknown ids, if any."""
        line = f"{len(self.item_text):,} items, {len(self.sequences):,} users"
        if self.unknown_count:
            line += (f"; {self.unknown_count:,} sequence entries name unknown items (dropped), e.g. "
                     + ", ".join(self.unknown_examples[:5]))
        if self.short_users:
            line += f"; {self.short_users:,} users with < 2 known items skipped"
        return line


@dataclass(frozen=True)
class UserSplit:
    """Disjoint user groups: ``train`` for fine-tuning, ``valid`` for fitting blend weights, ``test`` for eval."""

    train: tuple[str, ...]
    valid: tuple[str, ...]
    test: tuple[str, ...]


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse a CLI mapping such as ``"id=item_id,text=title"`` into a dict (empty for None/"")."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"mapping entry {part!r} must look like key=COLUMN (e.g. id=item_id,text=title)")
        key, value = part.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _open_text(path: Path) -> io.TextIOBase:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass the path to a CSV (optionally .gz) file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _pick(header: list[str], wanted: str | None, options: tuple[str, ...], role: str, path: Path) -> str:
    if wanted:
        if wanted not in header:
            raise ValueError(f"{path}: column {wanted!r} (for {role}) not found; columns are {header}")
        return wanted
    lower = {h.lower(): h for h in header}
    for name in options:
        if name.lower() in lower:
            return lower[name.lower()]
    raise ValueError(f"{path}: no {role} column among {header}; pass a mapping such as {role}=COLUMN")


def load_items(path: str | Path, mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Read ITEMS into ``{id: text}``. Blank texts fall back to the id; duplicate ids keep the first row."""
    path, mapping = Path(path), mapping or {}
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        id_col = _pick(header, mapping.get("id"), ITEM_ID_COLUMNS, "id", path)
        text_col = _pick(header, mapping.get("text"), ITEM_TEXT_COLUMNS, "text", path)
        items: dict[str, str] = {}
        for row in reader:
            item_id = (row.get(id_col) or "").strip()
            if item_id and item_id not in items:
                items[item_id] = " ".join((row.get(text_col) or "").split()) or item_id
    if not items:
        raise ValueError(f"{path}: no items read; check the id column")
    return items


def load_sequences(path: str | Path, item_text: dict[str, str],
                   mapping: dict[str, str] | None = None) -> SequenceData:
    """Read SEQUENCES, dropping (and counting) ids that ``item_text`` does not know."""
    path, mapping = Path(path), mapping or {}
    sequences: dict[str, list[str]] = {}
    unknown, examples, short = 0, [], 0
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        user_col = _pick(header, mapping.get("user"), USER_COLUMNS, "user", path)
        seq_col = _pick(header, mapping.get("items"), SEQUENCE_COLUMNS, "items", path)
        for row in reader:
            user = (row.get(user_col) or "").strip()
            known = []
            for item in (row.get(seq_col) or "").split():
                if item in item_text:
                    known.append(item)
                else:
                    unknown += 1
                    if len(examples) < 10 and item not in examples:
                        examples.append(item)
            if not user:
                continue
            if len(known) < 2:
                short += 1
                continue
            sequences[user] = sequences.get(user, []) + known
    return SequenceData(item_text, sequences, unknown, examples, short)


def load_dataset(items: str | Path, sequences: str | Path, items_map: dict[str, str] | None = None,
                 sequences_map: dict[str, str] | None = None) -> SequenceData:
    """Load ITEMS and SEQUENCES together (see the module docstring for columns and mappings)."""
    return load_sequences(sequences, load_items(items, items_map), sequences_map)


def user_digest(user: str) -> str:
    """A short one-way digest of a raw data-set user id, used to record the split without raw ids."""
    return hashlib.sha256(f"shopassist-split:{user}".encode()).hexdigest()[:16]


def split_users(users: list[str], test_share: float = 0.15, valid_share: float = 0.10,
                seed: int = 42) -> UserSplit:
    """Shuffle sorted user ids with ``random.Random(seed)``; first ``test_share`` -> test, next -> valid."""
    if not 0 <= test_share < 1 or not 0 <= valid_share < 1 or test_share + valid_share >= 1:
        raise ValueError("test_share and valid_share must be in [0, 1) and sum to less than 1")
    ordered = sorted(users)
    random.Random(seed).shuffle(ordered)
    n_test, n_valid = round(len(ordered) * test_share), round(len(ordered) * valid_share)
    return UserSplit(train=tuple(ordered[n_test + n_valid:]), valid=tuple(ordered[n_test:n_test + n_valid]),
                     test=tuple(ordered[:n_test]))

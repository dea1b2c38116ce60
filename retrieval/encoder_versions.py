"""Which dense encoder search serves: the newest good fine-tuned one, else the packaged MiniLM.

Fine-tuned versions live under ``<data_dir>/models/encoder/<YYYYmmdd-HHMMSS>-<rand>/``
(``retrieval.encoder_finetune``). One is served when its ``meta.json`` says ``good`` (it beat the
packaged encoder on held-out queries), its weights load, and its Chroma collection holds exactly
the store's products with their current hashes (an ingest after fine-tuning makes it stale: the
packaged encoder serves until ``shopassist train encoder`` is run again, which re-syncs it).
Anything missing or broken gives the packaged encoder and one log line, never an exception.
An explicit ``settings.embedding_model`` always wins.

Example::

    path = choose(settings, store, client)   # a version folder, or None for the packaged model
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from catalog.settings import Settings
from catalog.store import Store
from retrieval.embedder import model_name
from retrieval.vector_index import collection_hashes

log = logging.getLogger(__name__)


def encoder_root(settings: Settings) -> Path:
    return settings.data_dir / "models" / "encoder"


def versions(root: Path) -> list[Path]:
    """Version folders under ``root``, newest first (runs and staging folders are hidden)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def read_meta(folder: Path) -> dict:
    """The version's ``meta.json``; raises ValueError when it is missing or unreadable."""
    try:
        meta = json.loads((Path(folder) / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable meta.json ({type(exc).__name__})") from exc
    if not isinstance(meta, dict):
        raise ValueError("meta.json is not an object")
    return meta


def newest_good(root: Path) -> Path | None:
    """The newest version whose held-out check passed (no index check)."""
    for folder in versions(root):
        try:
            if read_meta(folder).get("good") is True:
                return folder
        except ValueError:
            continue
    return None


def encoder_folder(path: Path) -> Path:
    """A version folder given itself or its root (then the newest good version); FileNotFoundError if none."""
    folder = Path(path)
    if (folder / "modules.json").is_file():
        return folder
    found = newest_good(folder)
    if found is None:
        raise FileNotFoundError(f"no good fine-tuned encoder under {path}")
    return found


def collection_for(folder: Path, suffix: str = "") -> str:
    """The Chroma collection of a model folder (as ``IndexPaths.collection`` names it)."""
    return f"products-{model_name(Path(folder))}{suffix}"[:60]


def choose(settings: Settings, store: Store, client, suffix: str = "") -> Path | None:
    """The fine-tuned encoder to serve, or None (packaged); logs one line saying which and why."""
    if settings.embedding_model:
        return None
    root = encoder_root(settings)
    skipped = []
    stored = None
    for folder in versions(root):
        try:
            meta = read_meta(folder)
        except ValueError as exc:
            skipped.append(f"{folder.name}: {exc}")
            continue
        if meta.get("good") is not True:
            skipped.append(f"{folder.name}: not better than the packaged encoder on held-out queries")
            continue
        if not (folder / "modules.json").is_file():
            skipped.append(f"{folder.name}: not a sentence-transformers folder")
            continue
        stored = store.product_hashes() if stored is None else stored
        problem = _index_problem(client, collection_for(folder, suffix), stored)
        if problem:
            skipped.append(f"{folder.name}: {problem}")
            continue
        log.info("dense encoder: fine-tuned %s%s", folder, f" (skipped {'; '.join(skipped)})" if skipped else "")
        return folder
    if skipped:
        log.warning("dense encoder: packaged (no usable fine-tuned one under %s: %s)", root, "; ".join(skipped))
    else:
        log.info("dense encoder: packaged (no fine-tuned one under %s)", root)
    return None


def _index_problem(client, name: str, stored: dict[str, str]) -> str | None:
    """Why collection ``name`` cannot serve the store's products (None: it can)."""
    try:
        collection = client.get_collection(name)
        count = collection.count()
    except Exception:  # noqa: BLE001 - missing or unreadable: not servable
        return "its vector collection is missing"
    if count != len(stored):
        return f"its vector collection has {count} of {len(stored)} products"
    indexed = collection_hashes(collection)
    stale = sum(1 for pid, h in stored.items() if indexed.get(pid) != h)
    return f"its vector collection has {stale} stale products" if stale else None

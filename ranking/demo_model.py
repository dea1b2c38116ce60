"""The fine-tuned checkpoint the demo ranks with out of the box (shipped in ``ranking/models/demo/``).

The demo catalogue (Flipkart fashion + Amazon UK toys) has no behaviour data to train on, so the
repository ships a small checkpoint trained on the shared Amazon behaviour data: the LoRA adapter of
the user tower, the item projection/history mix (``heads.npz``) and the blend weights — about 2.5 MB.
Its item-id statistics (popularity, co-occurrence, item residuals) are dropped on export: they name Amazon items that
the demo catalogue does not have. Which data set it was trained on was chosen by the measured transfer
to the *other* data set (docs/ranking.md, "Transfer"); ``ranking/models/demo/PROVENANCE.md`` has the
command, data and numbers.

``shopassist demo`` calls :func:`install_demo_checkpoint`: when ``<data_dir>/models/ranker`` holds no
good checkpoint, the shipped one is copied there (a later ``train ranker --from-events`` version is
newer and replaces it in a running server).

Export (after training)::

    python -m ranking.demo_model var/models/scientific/<version>
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from ranking.checkpoint import CHECKPOINT_FILE, USER_ADAPTER_DIR, newest_good, save_stats
from ranking.heads import Heads

SHIPPED_DIR = Path(__file__).resolve().parent / "models" / "demo"


def install_demo_checkpoint(settings, echo=print) -> str | None:
    """Copy the shipped checkpoint into the served model folder unless a good one is there; returns its version."""
    from ranking.ranker import model_root

    root = model_root(settings)
    current = newest_good(root)
    if current is not None:
        echo(f"      recommender: fine-tuned checkpoint {current.version} (already in {root})")
        return None
    shipped = newest_good(SHIPPED_DIR)
    if shipped is None:
        echo("      recommender: no shipped checkpoint found: ranking with the UNTRAINED encoder")
        return None
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(shipped.path, root / shipped.version, dirs_exist_ok=True)
    trained = shipped.meta.get("data", {}).get("trained_on", "?")
    echo(f"      recommender: fine-tuned checkpoint {shipped.version} (LoRA, trained on {trained}) installed")
    return shipped.version


def export_demo_checkpoint(src: Path, dest_root: Path = SHIPPED_DIR, note: dict | None = None) -> Path:
    """Write a small copy of the version ``src`` under ``dest_root`` (adapter, heads, meta; no id statistics)."""
    src = Path(src)
    meta = json.loads((src / CHECKPOINT_FILE).read_text())
    if not (src / USER_ADAPTER_DIR).is_dir():
        raise ValueError(f"{src} has no LoRA adapter ({USER_ADAPTER_DIR}/): train with --adapter lora")
    dest = dest_root / src.name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(src / USER_ADAPTER_DIR, dest / USER_ADAPTER_DIR)
    Heads.load(src).without_residual().save(dest)  # per-item residuals name Amazon items too
    for name in ("curve.png", "curve.json"):
        if (src / name).exists():
            shutil.copy2(src / name, dest / name)
    save_stats(dest, [], np.zeros(0, np.float32), __import__("scipy").sparse.csr_matrix((0, 0), dtype=np.float32))
    (dest / "split.json").write_text(json.dumps({"note": "trained on a different catalogue; no demo users used"}))
    meta["data"] = dict(meta.get("data", {}), trained_on=Path(str(meta.get("data", {}).get("items", "?"))).parent.name,
                        **(note or {}))
    meta["exported_from"] = str(src)
    (dest / CHECKPOINT_FILE).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return dest


if __name__ == "__main__":  # python -m ranking.demo_model VERSION_FOLDER
    print(export_demo_checkpoint(Path(sys.argv[1])))

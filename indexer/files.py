"""Files of the index folder: arrays written whole under a temporary name, opened memory-mapped."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from indexer.manifest import write_atomic


def save_array(path: Path, array: np.ndarray) -> None:
    """Write an .npy file under a temporary name and rename it into place (readers never see a
    half-written file)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array))
    write_atomic(path, buffer.getvalue())


def load_array(path: Path) -> np.ndarray:
    """An .npy file memory-mapped read-only (an empty array is read, since it cannot be mapped)."""
    array = np.load(path, mmap_mode="r")
    return array if array.size else np.array(array)


def temporary_folder(parent: Path, name: str) -> Path:
    """A new empty folder beside `name`, to fill and then `publish`."""
    return Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}."))


def publish(tmp: Path, final: Path) -> None:
    """Rename a filled temporary folder (or file) to its final name. The final name is new (it
    carries a generation), so nothing that a manifest names is replaced."""
    if final.exists():
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        return
    os.replace(tmp, final)


def remove(path: Path) -> None:
    """Delete a derived file or folder if it is there."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

"""Files of the index folder: arrays written whole under a temporary name, opened memory-mapped."""

from __future__ import annotations

import io
import mmap
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


def read_rows(array: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """A copy of array[lo:hi] (rows of the first axis). For a memory-mapped C-ordered array it
    is read from the file instead of through the mapping: a scan of a whole index file then
    goes through the page cache, which processes share and the kernel can drop, and does not
    leave every page of the file resident in this process."""
    # Only a whole mapping knows where its data starts (a slice of one keeps the parent's offset).
    whole = isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap)
    if not whole or not array.flags.c_contiguous or hi <= lo:
        return np.array(array[lo:hi])
    row = int(np.prod(array.shape[1:], dtype=np.int64))
    start = array.offset + lo * row * array.dtype.itemsize
    flat = np.fromfile(array.filename, dtype=array.dtype, count=(hi - lo) * row, offset=start)
    return flat.reshape((hi - lo, *array.shape[1:]))


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

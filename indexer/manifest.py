"""The index folder's self-description (manifest.json): format version, model, dimension, files."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from models.errors import IndexMismatchError

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class Manifest:
    """What an index folder holds; `derived` maps a derived index to its file and generation."""

    model: str
    dim: int
    format_version: int = FORMAT_VERSION
    derived: dict[str, dict] = field(default_factory=dict)
    # Windows embedded per paper (0: every window of a long abstract); fixed when the index is
    # created, so that every paper and every query of an index is embedded the same way.
    max_windows: int = 0
    # The engine that serves the vectors (indexer.backend.BackendConfig); empty: the embedded one.
    backend: dict = field(default_factory=dict)

    def check_model(self, model: str | None, dim: int | None = None) -> None:
        """Refuse a model other than the one the index was built with."""
        if model is not None and model != self.model:
            raise IndexMismatchError(
                f"this index was built with model {self.model!r} but {model!r} was requested; "
                f"use --model {self.model!r} or build a new index with --index"
            )
        if dim is not None and dim != self.dim:
            raise IndexMismatchError(
                f"this index holds {self.dim}-dimensional vectors from {self.model!r} but the "
                f"loaded model gives {dim} dimensions"
            )

    def check_windows(self, max_windows: int) -> None:
        """Refuse to add papers embedded with another window cap than the index's."""
        if max_windows != self.max_windows:
            raise IndexMismatchError(
                f"this index embeds {_windows(self.max_windows)} of each paper but "
                f"{_windows(max_windows)} was requested; drop --max-windows or build a new "
                "index with --index"
            )


def _windows(max_windows: int) -> str:
    return "every window" if max_windows == 0 else f"at most {max_windows} window(s)"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a reader (or a crash) sees either the old or the new content."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST_NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{index_dir} has index format version {version}; this paperscope reads version "
            f"{FORMAT_VERSION}. Rebuild it with `paperscope ingest` into a new --index folder."
        )
    return Manifest(
        model=data["model"],
        dim=int(data["dim"]),
        format_version=version,
        derived=data.get("derived", {}),
        max_windows=int(data.get("max_windows", 0)),
        backend=data.get("backend") or {},
    )


def save_manifest(index_dir: Path, manifest: Manifest) -> None:
    write_atomic(index_dir / MANIFEST_NAME, json.dumps(asdict(manifest), indent=2).encode())

"""Embeddings made elsewhere (a GPU, another machine), read and written as files.

Two layouts are read from a folder:
- the shared layout: `embeddings.json` (model, dim, max_windows, dtype, rows, `vectors`, `ids`),
  a float16 or float32 `.npy` matrix and `ids.txt`, one id per line in row order;
- Parquet: `*.parquet` files with columns `id`, `vector` (a list of floats) and optionally
  `text_hash` (of indexer.paper.text_hash; a record whose text differs is embedded again), and
  the model, dim and max_windows in `embeddings.json` or in each file's schema metadata.
`export` writes the Parquet layout, with `embeddings.json` beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import BadInputError, IndexMismatchError

DESCRIPTION = "embeddings.json"
EXPORT_ROWS = 100_000  # rows per Parquet file


@dataclass
class Embeddings:
    """Vectors by paper id, with what made them."""

    model: str
    dim: int
    max_windows: int
    ids: dict[str, int]  # id -> row
    vectors: np.ndarray  # (rows, dim), any float dtype, maybe memory-mapped
    text_hashes: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def check(self, model: str, dim: int, max_windows: int) -> None:
        """Refuse vectors made by another model, dimension or window cap than the index's."""
        if _short(self.model) != _short(model):
            raise IndexMismatchError(
                f"the embeddings were made with model {self.model!r} but the index uses "
                f"{model!r}; embed with the index's model or build a new index with --index"
            )
        if self.dim != dim:
            raise IndexMismatchError(
                f"the embeddings have {self.dim} dimensions but the index's model gives {dim}"
            )
        if self.max_windows != max_windows:
            raise IndexMismatchError(
                f"the embeddings embed max_windows={self.max_windows} windows of each paper but "
                f"the index uses max_windows={max_windows}; pass --max-windows "
                f"{self.max_windows} for a new index, or embed again"
            )

    def vector(self, paper_id: str, text_hash: str) -> np.ndarray | None:
        """The L2-normalised float32 vector of a paper, None when there is none for its text."""
        row = self.ids.get(paper_id)
        if row is None:
            return None
        if self.text_hashes is not None and self.text_hashes[row] not in (None, text_hash):
            return None
        vec = np.asarray(self.vectors[row], dtype=np.float32)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else None


def _short(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def read(folder: Path) -> Embeddings:
    """Open the embeddings in `folder` (either layout); a clear error for anything else."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError(f"--embeddings {folder}: no such folder")
    meta = _description(folder)
    parquet = sorted(folder.glob("*.parquet"))
    if parquet:
        return _read_parquet(parquet, meta)
    if meta is None:
        raise BadInputError(
            f"--embeddings {folder}: neither {DESCRIPTION} with a .npy matrix nor .parquet files"
        )
    return _read_npy(folder, meta)


def _description(folder: Path) -> dict | None:
    path = folder / DESCRIPTION
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{path}: not valid JSON ({exc})") from exc


def _fields(meta: dict, where: str) -> tuple[str, int, int]:
    try:
        return str(meta["model"]), int(meta["dim"]), int(meta.get("max_windows", 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInputError(f"{where}: needs model and dim ({exc})") from exc


def _read_npy(folder: Path, meta: dict) -> Embeddings:
    model, dim, windows = _fields(meta, str(folder / DESCRIPTION))
    matrix_path = folder / meta.get("vectors", "vectors.npy")
    ids_path = folder / meta.get("ids", "ids.txt")
    for path in (matrix_path, ids_path):
        if not path.is_file():
            raise BadInputError(f"--embeddings {folder}: {path.name} is missing")
    vectors = np.load(matrix_path, mmap_mode="r")
    ids = ids_path.read_text(encoding="utf-8").split("\n")
    ids = [i for i in ids if i]
    if vectors.ndim != 2 or vectors.shape != (len(ids), dim):
        raise BadInputError(
            f"--embeddings {folder}: {matrix_path.name} has shape {vectors.shape}, expected "
            f"({len(ids)}, {dim}) for {len(ids)} ids"
        )
    return Embeddings(model, dim, windows, {pid: row for row, pid in enumerate(ids)}, vectors)


def _read_parquet(files: list[Path], meta: dict | None) -> Embeddings:
    import pyarrow.parquet as pq

    ids: list[str] = []
    hashes: list[str | None] = []
    blocks = []
    for path in files:
        table = pq.read_table(path)
        if "id" not in table.column_names or "vector" not in table.column_names:
            raise BadInputError(f"{path}: needs columns id and vector")
        file_meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        meta = meta or json.loads(file_meta.get("paperscope", "{}")) or None
        ids += table.column("id").to_pylist()
        hashes += (
            table.column("text_hash").to_pylist()
            if "text_hash" in table.column_names
            else [None] * table.num_rows
        )
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        blocks.append(np.asarray(flat, dtype=np.float32).reshape(table.num_rows, -1))
    if meta is None:
        raise BadInputError(f"{files[0].parent}: no {DESCRIPTION} and no paperscope metadata")
    model, dim, windows = _fields(meta, str(files[0].parent))
    vectors = np.vstack(blocks) if blocks else np.zeros((0, dim), np.float32)
    if vectors.shape[1] != dim:
        raise BadInputError(f"{files[0].parent}: vectors have {vectors.shape[1]} dims, not {dim}")
    return Embeddings(model, dim, windows, {p: r for r, p in enumerate(ids)}, vectors, hashes)


def export(
    folder: Path,
    rows: Iterator[tuple[list[str], list[str], np.ndarray]],
    *,
    model: str,
    dim: int,
    max_windows: int,
) -> int:
    """Write (ids, text hashes, vectors) batches as Parquet files plus embeddings.json; returns
    the rows written. Files are written under temporary names and renamed."""
    meta = description(model, dim, max_windows)
    written = 0
    for part, (ids, hashes, vectors) in enumerate(rows):
        written += write_part(folder, part, ids, hashes, vectors, meta)
    describe(folder, meta, written)
    return written


def description(model: str, dim: int, max_windows: int) -> dict:
    """What made the vectors, as embeddings.json and each file's metadata hold it."""
    return {"model": model, "dim": dim, "max_windows": max_windows, "normalized": True}


def part_path(folder: Path, part: int) -> Path:
    """The file name of Parquet part `part` in `folder`."""
    return Path(folder) / f"part-{part:05d}.parquet"


def part_description(path: Path) -> dict:
    """The model, dim and max_windows a Parquet part was written with (its schema metadata)."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    try:
        return json.loads(metadata[b"paperscope"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{path}: no paperscope metadata ({exc})") from exc


def write_part(
    folder: Path, part: int, ids: list[str], hashes: list[str], vectors: np.ndarray, meta: dict
) -> int:
    """Write one Parquet file (id, text_hash, vector) under a temporary name, then rename it into
    place, so that a file that exists is complete; returns its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dim = int(meta["dim"])
    schema = pa.schema(
        [("id", pa.string()), ("text_hash", pa.string()), ("vector", pa.list_(pa.float32(), dim))],
        metadata={"paperscope": json.dumps(meta)},
    )
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), dim)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim)
    table = pa.Table.from_arrays(
        [pa.array(ids, pa.string()), pa.array(hashes, pa.string()), column], schema=schema
    )
    final = part_path(folder, part)
    tmp = folder / f".{final.name}.tmp"
    pq.write_table(table, tmp)
    tmp.replace(final)
    return len(ids)


def describe(folder: Path, meta: dict, rows: int) -> None:
    """Write embeddings.json (under a temporary name, then renamed)."""
    path = Path(folder) / DESCRIPTION
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(meta | {"rows": rows}, indent=2), encoding="utf-8")
    tmp.replace(path)

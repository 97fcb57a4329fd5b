"""Which engine serves an index's vectors, chosen when the index is created and kept in its
manifest: the embedded default (`faiss`: a memory-mapped matrix plus HNSW in the index folder)
or `qdrant` (a collection on a Qdrant server, or in Qdrant's local mode in a folder)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from models.errors import BadInputError, IndexMismatchError

BACKENDS = ("faiss", "qdrant")
# Qdrant's local mode in the index folder when neither a URL nor a path is given.
DEFAULT_QDRANT_FOLDER = "qdrant"


@dataclass(frozen=True)
class BackendConfig:
    """`url` or `path` locate Qdrant (a relative path is inside the index folder, so a copied
    folder takes its collection along); `prefix` names this index's collections, so that
    indexes sharing one server never touch each other's."""

    name: str = "faiss"
    url: str | None = None
    path: str | None = None
    prefix: str = ""

    @classmethod
    def choose(
        cls, name: str | None, *, url: str | None = None, path: Path | str | None = None
    ) -> BackendConfig | None:
        """The backend asked for on the command line (None: not asked for)."""
        if name is None and url is None and path is None:
            return None
        name = name or "qdrant"
        if name not in BACKENDS:
            raise BadInputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
        if name == "faiss":
            if url or path:
                raise BadInputError("--qdrant-url and --qdrant-path need --backend qdrant")
            return cls()
        if url and path:
            raise BadInputError("give --qdrant-url or --qdrant-path, not both")
        return cls(
            "qdrant",
            url=url,
            path=None if url else str(path or DEFAULT_QDRANT_FOLDER),
            prefix=f"paperscope-{uuid.uuid4().hex[:8]}-",
        )

    @classmethod
    def from_manifest(cls, data: dict | None) -> BackendConfig:
        return cls(**data) if data else cls()

    def to_manifest(self) -> dict:
        return asdict(self)

    def location(self, index_dir: Path) -> str:
        """Where the vectors live, for stats and messages."""
        if self.name == "faiss":
            return str(index_dir)
        return self.url or str(self.folder(index_dir))

    def folder(self, index_dir: Path) -> Path:
        """The local-mode folder (relative paths are inside the index folder)."""
        path = Path(self.path or DEFAULT_QDRANT_FOLDER)
        return path if path.is_absolute() else Path(index_dir) / path

    def check_vector_kind(self, kind: str | None) -> None:
        """Refuse a vector index kind other than auto for an engine that indexes itself."""
        if self.name == "qdrant" and kind not in (None, "auto"):
            raise BadInputError(
                f"--vector-index {kind} is for the faiss backend: Qdrant indexes its vectors itself"
            )

    def same_place(self, other: BackendConfig) -> bool:
        """Whether both name the same engine and place (the collection prefix aside)."""
        return (self.name, self.url, self.path) == (other.name, other.url, other.path)

    def check_same(self, wanted: BackendConfig | None) -> None:
        """Refuse to reopen an index with another backend than the one it was made with."""
        if wanted is None or wanted.name == self.name and wanted.name == "faiss":
            return
        if wanted.name != self.name or (wanted.url or None) != (self.url or None):
            raise IndexMismatchError(
                f"this index serves its vectors from {self.name}"
                + (f" at {self.url}" if self.url else "")
                + f", not {wanted.name}; drop --backend, or move it with "
                "`paperscope reindex --backend ...`"
            )

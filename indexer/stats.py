"""Counts that describe an index: papers, authors, categories, years, sources, derived indexes."""

from __future__ import annotations

from indexer.store import Store


def index_stats(store: Store) -> dict:
    """A JSON-ready summary of what the index holds."""
    return {
        "index": str(store.index_dir),
        "model": store.model_name,
        "dim": store.dim,
        "format_version": store.manifest.format_version,
        "max_windows": store.manifest.max_windows,
        **store.content_counts(),
        "generation": store.generation(),
        "derived": derived_summary(store),
        "derived_up_to_date": not store.is_stale(),
    }


def derived_summary(store: Store) -> dict:
    """What the derived indexes hold: on disk (as of which generation) and in memory since."""
    view = store.view()
    entry = view.entry
    vectors = view.vectors
    return {
        "vectors": {
            "kind": vectors.kind,
            "requested": entry.get("requested", "auto"),
            "count": len(vectors),
            "file": entry["vectors"],
            "backend": store.backend.name,
            "location": store.backend.location(store.index_dir),
            "collection": entry.get("collection"),
            "generation": int(entry["generation"]),
            "slots": vectors.slots,
            "hnsw_rows": vectors.ann_rows,
            "in_memory_rows": view.pending,
        },
        "keyword": {
            "count": len(view.keywords),
            "segments": [part["dir"] for part in entry["keyword"]],
            "collection": entry.get("keyword_collection"),
            "generation": int(entry["generation"]),
        },
    }

"""Counts that describe an index: papers, authors, categories, years, sources, derived indexes."""

from __future__ import annotations

from indexer.store import Store


def index_stats(store: Store) -> dict:
    """A JSON-ready summary of what the index holds."""
    one = lambda sql: store.execute(sql)[0][0]  # noqa: E731
    years = store.execute("SELECT MIN(year), MAX(year) FROM papers")[0]
    return {
        "index": str(store.index_dir),
        "model": store.model_name,
        "dim": store.dim,
        "format_version": store.manifest.format_version,
        "max_windows": store.manifest.max_windows,
        "papers": one("SELECT COUNT(*) FROM papers"),
        "embeddings": one("SELECT COUNT(*) FROM embeddings"),
        "authors": one("SELECT COUNT(DISTINCT name_key) FROM authors"),
        "categories": one("SELECT COUNT(DISTINCT category) FROM categories"),
        "with_date": one("SELECT COUNT(*) FROM papers WHERE published IS NOT NULL"),
        "with_citation_count": one("SELECT COUNT(*) FROM papers WHERE citation_count IS NOT NULL"),
        "novelty_scored": one("SELECT COUNT(*) FROM novelty"),
        "year_range": list(years) if years[0] is not None else None,
        "sources": dict(
            store.execute("SELECT source, COUNT(*) FROM papers GROUP BY source ORDER BY 2 DESC")
        ),
        "generation": store.generation(),
        "derived": store.manifest.derived,
        "derived_up_to_date": not store.is_stale(),
    }

"""SQLite schema of the store and the mapping between table rows and Paper records."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from indexer.paper import Paper, content_hash, normalize_name, text_hash, title_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- vid is the numeric id the FAISS and BM25 indexes use; AUTOINCREMENT never reuses a deleted one.
CREATE TABLE IF NOT EXISTS papers (
    vid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    abstract TEXT NOT NULL,
    published TEXT,
    date_precision TEXT,
    year INTEGER,
    updated TEXT,
    venue TEXT,
    doi TEXT,
    url TEXT,
    code_url TEXT,
    has_code INTEGER,
    citation_count INTEGER,
    refs TEXT NOT NULL DEFAULT '[]',
    affiliations TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    title_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS papers_published ON papers (published);
CREATE INDEX IF NOT EXISTS papers_year ON papers (year);
CREATE INDEX IF NOT EXISTS papers_title_key ON papers (title_key);
-- Filters read vids from indexes only (a venue substring scans this index, not the rows).
CREATE INDEX IF NOT EXISTS papers_venue ON papers (venue);
CREATE TABLE IF NOT EXISTS authors (
    vid INTEGER NOT NULL REFERENCES papers (vid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    PRIMARY KEY (vid, position)
);
CREATE INDEX IF NOT EXISTS authors_name_key ON authors (name_key);
CREATE TABLE IF NOT EXISTS categories (
    vid INTEGER NOT NULL REFERENCES papers (vid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (vid, position)
);
CREATE INDEX IF NOT EXISTS categories_category ON categories (category);
CREATE INDEX IF NOT EXISTS categories_category_nocase ON categories (category COLLATE NOCASE);
-- One row per entry of a paper's `refs` list, so that "cited by" is an index lookup on `cited`
-- (an id that may or may not be in the index) instead of a scan of every JSON list.
CREATE TABLE IF NOT EXISTS citations (
    citing INTEGER NOT NULL REFERENCES papers (vid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    cited TEXT NOT NULL,
    PRIMARY KEY (citing, position)
);
CREATE INDEX IF NOT EXISTS citations_cited ON citations (cited);
-- float32 little-endian vectors, L2-normalised, of the manifest's dimension.
CREATE TABLE IF NOT EXISTS embeddings (
    vid INTEGER PRIMARY KEY REFERENCES papers (vid) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
-- Which papers each generation added, changed or removed: the derived indexes replay it.
CREATE TABLE IF NOT EXISTS changes (generation INTEGER NOT NULL, vid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changes_generation ON changes (generation);
-- Novelty scores are derived from embeddings and dates; `generation` says when they were computed.
CREATE TABLE IF NOT EXISTS novelty (
    vid INTEGER PRIMARY KEY REFERENCES papers (vid) ON DELETE CASCADE,
    raw REAL,
    max_similarity REAL,
    prior_count INTEGER NOT NULL,
    percentile REAL,
    generation INTEGER NOT NULL,
    -- The 20th (NEIGHBOURS-th) nearest prior similarity and the vids of the nearest prior
    -- papers (int64 LE):
    -- what an incremental update needs to know which scores a write can change.
    kth_similarity REAL,
    neighbours BLOB,
    -- The plain kNN distance (1 - mean cosine of the 10 nearest), beside the novelty score raw.
    distance REAL
);
-- Saved searches (`paperscope watch`): not papers, so writing one never bumps the generation.
-- seen_vid is the high-water mark of the last run: vids only grow, so the papers added since
-- are those above it.
CREATE TABLE IF NOT EXISTS watches (
    name TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    last_run TEXT,
    seen_vid INTEGER NOT NULL
);
-- Records of one work (indexer/work_rule.py). work_keys holds each record's lookup keys (arXiv
-- id, DOI, title); two records are linked only if they share one and the rule agrees.
CREATE TABLE IF NOT EXISTS work_keys (
    key TEXT NOT NULL,
    vid INTEGER NOT NULL REFERENCES papers (vid) ON DELETE CASCADE,
    PRIMARY KEY (key, vid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS work_keys_vid ON work_keys (vid);
-- One row per record merged with others: `work` is the group's lowest vid; `linked_to` and
-- `reason` say which record it was matched with and why (NULL for the lowest). A record alone
-- in its work has no row.
CREATE TABLE IF NOT EXISTS works (
    vid INTEGER PRIMARY KEY REFERENCES papers (vid) ON DELETE CASCADE,
    work INTEGER NOT NULL,
    linked_to INTEGER,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS works_work ON works (work);
-- Pairs of paper ids split apart by `paperscope split` (a < b): ids, not vids, so that the
-- pair stays apart when either record is removed and ingested again.
CREATE TABLE IF NOT EXISTS work_splits (
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (a, b)
);
"""

# Columns added after the first release: (table, column, declaration).
ADDED_COLUMNS = (
    ("novelty", "kth_similarity", "REAL"),
    ("novelty", "neighbours", "BLOB"),
    ("novelty", "distance", "REAL"),
)


def migrate(conn: sqlite3.Connection) -> None:
    """Add the columns an older index lacks (SQLite's ALTER TABLE ADD COLUMN is instant), and fill
    the citations table once from the stored `refs` lists of an index made before it existed."""
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    if conn.execute("SELECT 1 FROM meta WHERE key = 'citations_filled'").fetchone() is None:
        with conn:
            conn.execute("DELETE FROM citations")
            conn.execute(
                "INSERT INTO citations SELECT p.vid, j.key, j.value FROM papers p, "
                "json_each(p.refs) j WHERE p.refs != '[]'"
            )
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('citations_filled', '1')")


PAPER_COLUMNS = (
    "id, title, abstract, published, date_precision, year, updated, venue, doi, url, code_url, "
    "has_code, citation_count, refs, affiliations, source, extra, title_key, content_hash, "
    "text_hash"
)


def connect(path: str) -> sqlite3.Connection:
    """Open the database in WAL mode: readers never block the single writer, and a killed writer
    leaves the last committed transaction intact."""
    conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def paper_to_row(paper: Paper) -> tuple:
    return (
        paper.id,
        paper.title,
        paper.abstract,
        paper.published.isoformat() if paper.published else None,
        paper.date_precision,
        paper.year,
        paper.updated.isoformat() if paper.updated else None,
        paper.venue,
        paper.doi,
        paper.url,
        paper.code_url,
        None if paper.has_code is None else int(paper.has_code),
        paper.citation_count,
        json.dumps(list(paper.references)),
        json.dumps(list(paper.affiliations)),
        paper.source,
        json.dumps(paper.extra, default=str),
        title_key(paper.title),
        content_hash(paper),
        text_hash(paper),
    )


def row_to_paper(row: sqlite3.Row | tuple, authors: list[str], categories: list[str]) -> Paper:
    """Rebuild a Paper from a `SELECT vid, <PAPER_COLUMNS>` row plus its authors and categories."""
    (
        _vid,
        pid,
        title,
        abstract,
        published,
        precision,
        _year,
        updated,
        venue,
        doi,
        url,
        code_url,
        has_code,
        citations,
        refs,
        affiliations,
        source,
        extra,
        *_hashes,
    ) = row
    return Paper(
        id=pid,
        title=title,
        abstract=abstract,
        authors=tuple(authors),
        categories=tuple(categories),
        published=date.fromisoformat(published) if published else None,
        date_precision=precision,
        updated=date.fromisoformat(updated) if updated else None,
        venue=venue,
        doi=doi,
        url=url,
        code_url=code_url,
        has_code=None if has_code is None else bool(has_code),
        citation_count=citations,
        references=tuple(json.loads(refs)),
        affiliations=tuple(json.loads(affiliations)),
        source=source,
        extra=json.loads(extra),
    )


def author_rows(vid: int, paper: Paper) -> list[tuple]:
    return [(vid, i, name, normalize_name(name)) for i, name in enumerate(paper.authors)]


def category_rows(vid: int, paper: Paper) -> list[tuple]:
    return [(vid, i, category) for i, category in enumerate(paper.categories)]


def citation_rows(vid: int, paper: Paper) -> list[tuple]:
    return [(vid, i, cited) for i, cited in enumerate(paper.references)]

"""The Paper record that flows from readers to the store to results, and its embedded text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date

_SPACE = re.compile(r"\s+")


def normalize_space(text: str | None) -> str:
    """Collapse runs of whitespace and newlines (arXiv wraps titles and abstracts) to one space."""
    return _SPACE.sub(" ", text or "").strip()


def normalize_name(name: str) -> str:
    """Case-, accent- and punctuation-insensitive form of an author name, for matching."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    letters = re.sub(r"[^\w\s]", " ", stripped.casefold())
    return normalize_space(letters.replace("_", " "))


def title_key(title: str) -> str:
    """Normalised title used to recognise the same paper under another id."""
    return normalize_name(title)


@dataclass(frozen=True)
class Paper:
    """One paper. Dates are calendar dates; `date_precision` says how much of it is known."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: date | None = None
    # "day", "month" or "year": a year-only source (S2ORC) is stored as Jan 1st of that year.
    date_precision: str | None = None
    updated: date | None = None
    venue: str | None = None
    doi: str | None = None
    url: str | None = None
    code_url: str | None = None
    has_code: bool | None = None
    citation_count: int | None = None
    references: tuple[str, ...] = ()
    affiliations: tuple[str, ...] = ()
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (dates as ISO strings, tuples as lists)."""
        out = asdict(self)
        for key in ("published", "updated"):
            out[key] = out[key].isoformat() if out[key] else None
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        out["year"] = self.year
        out.pop("extra", None)
        return out


PAPER_FIELDS = tuple(f.name for f in fields(Paper))


def embedding_text(title: str, abstract: str) -> str:
    """The one text that is embedded, for documents and for paper-as-query alike."""
    title = normalize_space(title)
    abstract = normalize_space(abstract)
    if title and abstract:
        return (
            f"{title}. {abstract}" if not title.endswith((".", "?", "!")) else f"{title} {abstract}"
        )
    return title or abstract


def text_hash(paper: Paper) -> str:
    """Hash of the embedded text: an unchanged hash means the stored embedding is still valid."""
    return hashlib.sha1(embedding_text(paper.title, paper.abstract).encode("utf-8")).hexdigest()


def content_hash(paper: Paper) -> str:
    """Hash of every stored field: an unchanged hash means re-ingesting the record is a no-op."""
    data = paper.to_dict()
    data.pop("source", None)
    return hashlib.sha1(repr(sorted(data.items())).encode("utf-8")).hexdigest()


def merge_papers(old: Paper, new: Paper) -> Paper:
    """Merge two records with the same id: the newer wins field by field where it has a value."""
    changes = {}
    for name in PAPER_FIELDS:
        if name in ("id", "extra"):
            continue
        value = getattr(new, name)
        if value not in (None, "", ()):
            changes[name] = value
    return replace(old, **changes)

"""Papers and result lists as BibTeX, RIS or CSV text, for reference managers and spreadsheets.

Written by hand rather than by a library: the three formats are small and line-oriented, the
writer must decide the things a library leaves to its caller anyway (citation keys, escaping,
which fields an arXiv preprint gets), and the server keeps no extra runtime dependency. The tests
read every export back with independent, well-kept parsers (bibtexparser with pylatexenc's LaTeX
decoding, rispy, the csv module), so they check the writer instead of echoing it.

Input is what the searches return: Paper records, or hits that carry one (`.paper`: search Hit,
RelatedHit, Recommendation). CSV rows are the flattened `to_dict()` of those items, so CSV and
JSON are one serialisation. JSON itself stays with the caller (each route's own body).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import string
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields, is_dataclass
from datetime import date
from typing import Protocol

from indexer.paper import Paper, normalize_space
from models.errors import InvalidQueryError
from search.results import DECIMALS

FORMATS = ("json", "bibtex", "ris", "csv")
TEXT_FORMATS = ("bibtex", "ris", "csv")
MEDIA_TYPES = {
    "json": "application/json",
    "bibtex": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "csv": "text/csv",
}
EXTENSIONS = {"json": "json", "bibtex": "bib", "ris": "ris", "csv": "csv"}

_ARXIV_NEW = re.compile(r"^\d{4}\.\d{4,5}$")
_ARXIV_OLD = re.compile(r"^[a-z-]+(?:\.[A-Z]{2})?/\d{7}$")
_ARXIV_URL = re.compile(r"^https?://(?:www\.)?arxiv\.org/abs/(.+?)(?:v\d+)?$")
_ARXIV_CATEGORY = re.compile(r"^[a-z-]+(?:\.[A-Za-z-]+)?$")  # hep-ph, cs.LG; not "Medicine"
_VERSION = re.compile(r"v\d+$")
# Words a citation key skips at the start of a title, as Google Scholar's keys do.
_KEY_STOPWORDS = frozenset({
    "a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "from", "at", "by", "towards",
})  # fmt: skip
# Letters that NFKD does not take apart into an ASCII letter and an accent.
_TRANSLITERATE = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ł": "l", "Ł": "L",
     "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "ı": "i"}
)  # fmt: skip
_NAME_SUFFIXES = frozenset(["jr", "jr.", "sr", "sr.", "ii", "iii", "iv"])
# Venue words that make a record a conference paper (@inproceedings, RIS CPAPER).
_PROCEEDINGS = re.compile(r"\b(proceedings|proc\.|conference|workshop|symposium)\b", re.I)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

# Characters that LaTeX or BibTeX would read as markup. Braces are escaped as \{ \} only when
# they nest properly: BibTeX counts every brace in a field, escaped or not, so a lone one is
# written as \textbraceleft{} / \textbraceright{} to keep the field balanced.
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
# TeX joins -- into a dash and `` '' into curly quotes; an empty group between keeps them apart.
_LIGATURE = re.compile(r"([-`'])(?=\1)")
_NESTED_BRACES = {"{": r"\{", "}": r"\}"}
_LONE_BRACES = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}"}


# Result fields that are store internals, not columns.
INTERNAL = ("vid",)


class HasPaper(Protocol):
    """A result dataclass that carries its paper (Hit, RelatedHit, Recommendation)."""

    paper: Paper


Item = Paper | HasPaper


def export_text(items: Iterable[Item], fmt: str) -> str:
    """The items as BibTeX, RIS or CSV text (json is each caller's own body)."""
    if fmt not in TEXT_FORMATS:
        raise InvalidQueryError(f"format={fmt!r}: the text formats are {', '.join(TEXT_FORMATS)}")
    items = list(items)
    if fmt == "csv":
        return to_csv(items)
    papers = unique_papers(items)
    return to_bibtex(papers) if fmt == "bibtex" else to_ris(papers)


def unique_papers(items: Iterable[Item]) -> list[Paper]:
    """The papers of `items` in order, each id once (a bibliography lists a work once)."""
    seen: dict[str, Paper] = {}
    for item in items:
        paper = item if isinstance(item, Paper) else item.paper
        seen.setdefault(paper.id, paper)
    return list(seen.values())


# ---- fields shared by the formats ---------------------------------------------------------
def arxiv_id(paper: Paper) -> str | None:
    """The arXiv identifier without version (0704.0001, math/0703001), where one is known."""
    found = _ARXIV_URL.match(paper.url or "")
    candidates = (
        str(paper.extra.get("arxiv_id") or ""),
        paper.id if paper.source == "arxiv" else "",
        found.group(1) if found else "",
    )
    for candidate in candidates:
        candidate = _VERSION.sub("", candidate.strip())
        if _ARXIV_NEW.match(candidate) or _ARXIV_OLD.match(candidate):
            return candidate
    return None


def primary_class(paper: Paper) -> str | None:
    """The first category when it is an arXiv category (S2ORC's fields of study are not)."""
    if paper.categories and _ARXIV_CATEGORY.match(paper.categories[0]):
        return paper.categories[0]
    return None


def link(paper: Paper) -> str | None:
    """The paper's own URL, else its arXiv page, else its DOI resolver link."""
    if paper.url and paper.url.startswith(("http://", "https://")):
        return paper.url
    if found := arxiv_id(paper):
        return f"https://arxiv.org/abs/{found}"
    return f"https://doi.org/{paper.doi}" if paper.doi else None


def is_proceedings(venue: str | None) -> bool:
    return bool(venue and _PROCEEDINGS.search(venue))


# ---- BibTeX -------------------------------------------------------------------------------
def escape_bibtex(text: str) -> str:
    """Plain text as a BibTeX field value: LaTeX specials escaped, braces kept balanced, one
    line. arXiv's TeX in titles ($\\gamma$) is text here too and comes out as written."""
    text = normalize_space(text)
    braces = _NESTED_BRACES if _braces_nest(text) else _LONE_BRACES
    escaped = "".join(_SPECIAL.get(ch) or braces.get(ch) or ch for ch in text)
    return _LIGATURE.sub(r"\g<0>{}", escaped)


def _braces_nest(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _verbatim(text: str) -> str:
    """A URL or DOI: read verbatim by biblatex, so only what would break the field is encoded."""
    return normalize_space(text).replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def bibtex_keys(papers: Sequence[Paper]) -> list[str]:
    """One key per paper: first author's last name + year + first title word, ASCII lowercase
    ("balazs2007calculation"). Papers that share a key get a, b, c... in order of date and id,
    so the keys of a set of papers do not depend on the order they were ranked in."""
    bases = [_key_base(paper) for paper in papers]
    groups: dict[str, list[int]] = {}
    for i, base in enumerate(bases):
        groups.setdefault(base, []).append(i)
    keys = list(bases)
    used = {base for base, members in groups.items() if len(members) == 1}
    for base, members in groups.items():
        if len(members) == 1:
            continue
        members.sort(key=lambda i: (papers[i].published or date.max, papers[i].id))
        suffixes = _suffixes()
        for i in members:
            key = base + next(suffixes)
            while key in used:  # "smith2007deep" + "a" could be another paper's own key
                key = base + next(suffixes)
            keys[i] = key
            used.add(key)
    return keys


def _suffixes() -> Iterator[str]:
    """a, b, ..., z, aa, ab, ..."""
    for size in itertools.count(1):
        for letters in itertools.product(string.ascii_lowercase, repeat=size):
            yield "".join(letters)


def _key_base(paper: Paper) -> str:
    last = _ascii_word(_last_name(paper.authors[0])) if paper.authors else ""
    words = [_ascii_word(w) for w in re.split(r"[\s\-/]+", paper.title)]
    first = next((w for w in words if w and w not in _KEY_STOPWORDS), "")
    return f"{last or 'anon'}{paper.year or 'nd'}{first}"


def _last_name(name: str) -> str:
    if "," in name:  # "Allen, Kelsey"
        return name.split(",", 1)[0]
    # The name ends before a token without letters: arXiv has "A. S. Mishchenko 1 and 2".
    words = list(itertools.takewhile(lambda t: any(c.isalpha() for c in t), name.split()))
    tokens = [t for t in words if t.lower() not in _NAME_SUFFIXES]
    return tokens[-1] if tokens else ""


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    folded = folded.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _bibtex_author(name: str) -> str:
    """A name as BibTeX reads it; braced when " and " or commas would split it wrongly."""
    escaped = escape_bibtex(name)
    if re.search(r"\sand\s", name, re.I) or name.count(",") > 1:
        return "{" + escaped + "}"
    return escaped


def bibtex_entry(paper: Paper, key: str) -> str:
    """One @article / @inproceedings / @misc entry with every field that is known."""
    eprint = arxiv_id(paper)
    kind = "misc"
    fields: list[tuple[str, str]] = [("title", escape_bibtex(paper.title))]
    if paper.authors:
        fields.append(("author", " and ".join(_bibtex_author(a) for a in paper.authors)))
    if paper.year:
        fields.append(("year", str(paper.year)))
    if paper.published and paper.date_precision in ("day", "month"):
        fields.append(("month", _MONTHS[paper.published.month - 1]))  # a macro: no braces
    if paper.venue:
        kind = "inproceedings" if is_proceedings(paper.venue) else "article"
        venue_field = "booktitle" if kind == "inproceedings" else "journal"
        fields.append((venue_field, escape_bibtex(paper.venue)))
    if eprint:
        fields += [("eprint", eprint), ("archivePrefix", "arXiv")]
        if cls := primary_class(paper):
            fields.append(("primaryClass", cls))
    if paper.doi:
        fields.append(("doi", _verbatim(paper.doi)))
    if url := link(paper):
        fields.append(("url", _verbatim(url)))
    if paper.abstract:
        fields.append(("abstract", escape_bibtex(paper.abstract)))
    body = ",\n".join(
        f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}"
        for name, value in fields
    )
    return f"@{kind}{{{key},\n{body}\n}}\n"


def to_bibtex(papers: Sequence[Paper]) -> str:
    """A .bib file: one entry per paper, keys unique within it."""
    keys = bibtex_keys(papers)
    return "\n".join(bibtex_entry(p, k) for p, k in zip(papers, keys, strict=True))


# ---- RIS ----------------------------------------------------------------------------------
def ris_entry(paper: Paper) -> str:
    """One RIS record (TY ... ER); every value on one line."""
    eprint = arxiv_id(paper)
    if paper.venue:
        kind = "CPAPER" if is_proceedings(paper.venue) else "JOUR"
    else:
        kind = "UNPB" if eprint else "GEN"
    tags: list[tuple[str, str]] = [("TY", kind), ("ID", paper.id), ("TI", paper.title)]
    tags += [("AU", name) for name in paper.authors]
    if paper.year:
        tags.append(("PY", str(paper.year)))
    if paper.published:
        day = paper.published
        parts = {"day": f"{day:%Y/%m/%d}/", "month": f"{day:%Y/%m}//"}
        tags.append(("DA", parts.get(paper.date_precision or "", f"{day:%Y}///")))
    if paper.venue:
        tags.append(("T2", paper.venue))
    if paper.doi:
        tags.append(("DO", paper.doi))
    if url := link(paper):
        tags.append(("UR", url))
    if eprint:
        tags += [("AN", f"arXiv:{eprint}"), ("DB", "arXiv.org")]
    tags += [("KW", category) for category in paper.categories]
    if paper.abstract:
        tags.append(("AB", paper.abstract))
    lines = [f"{tag}  - {normalize_space(value)}" for tag, value in tags if normalize_space(value)]
    return "\n".join([*lines, "ER  - "]) + "\n"


def to_ris(papers: Sequence[Paper]) -> str:
    """A .ris file: records separated by a blank line."""
    return "\n".join(ris_entry(paper) for paper in papers)


# ---- CSV ----------------------------------------------------------------------------------
def csv_row(item: Item) -> dict[str, str]:
    """The item flattened: its own scalar fields (rank, score...), then the paper's; lists
    joined with "; ", booleans as true/false, scores rounded as in JSON, unknowns empty."""
    if isinstance(item, Paper):
        return _scalars(item.to_dict())
    own = {f.name: getattr(item, f.name) for f in fields(item) if f.name not in INTERNAL}
    own = {"rank": own.pop("rank", None), **own}  # the first column, as in the lists
    return _scalars(own) | _scalars(item.paper.to_dict())


def _scalars(data: dict) -> dict[str, str]:
    out = {}
    for name, value in data.items():
        if isinstance(value, dict) or is_dataclass(value):
            continue  # the nested paper is flattened by the caller; snippets stay in JSON
        if isinstance(value, list):
            value = _cell("; ".join(str(v) for v in value))
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, str):
            value = _cell(value)
        elif isinstance(value, float):
            value = round(value, DECIMALS)
        out[name] = "" if value is None else str(value)
    return out


def _cell(text: str) -> str:
    """Text that a spreadsheet would run as a formula ("=HYPERLINK(...)" in a title) gets a
    leading apostrophe, which spreadsheets show as text (OWASP's CSV injection advice); numbers
    are not text and stay as they are."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(items: Sequence[Item]) -> str:
    """A CSV table with a header row; the columns are those of the items (a Paper's fields for
    an empty list)."""
    rows = [csv_row(item) for item in items]
    columns: dict[str, None] = {}
    for row in rows or [_scalars(Paper(id="", title="", abstract="").to_dict())]:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()

"""Atom 1.0 (RFC 4287) feeds of papers, built with ElementTree so that every text is escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from indexer.paper import Paper, normalize_space
from search.watches import feed_date

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 cannot hold at all, not even escaped (some abstracts carry them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def stamp(day: date | datetime) -> str:
    """An RFC 3339 date-time; a date is midnight UTC."""
    if not isinstance(day, datetime):
        day = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return day.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(
    *,
    feed_id: str,
    title: str,
    self_url: str,
    page_url: str,
    papers: Sequence[Paper],
    paper_url: Callable[[Paper], str],
) -> bytes:
    """The feed as UTF-8 XML. `papers` come newest first; `paper_url` gives an entry's absolute
    link (also its id). `updated` is the newest entry's date, or now for an empty feed."""
    # Plain tags under an xmlns attribute: Atom's default namespace without ElementTree's global
    # prefix registry (and its refusal of unqualified attributes with default_namespace).
    feed = ET.Element("feed", xmlns=ATOM)
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    dates = [d for d in map(feed_date, papers) if d]
    _text(feed, "updated", stamp(max(dates) if dates else datetime.now(UTC)))
    _link(feed, "self", self_url, "application/atom+xml")
    _link(feed, "alternate", page_url, "text/html")
    author = ET.SubElement(feed, "author")  # entries without authors inherit it
    _text(author, "name", "paperscope")
    _text(feed, "generator", "paperscope")
    for paper in papers:
        _entry(feed, paper, paper_url(paper))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, paper: Paper, url: str) -> None:
    entry = ET.SubElement(feed, "entry")
    _text(entry, "id", url)
    _text(entry, "title", paper.title)
    updated = feed_date(paper)
    # An undated paper has no date of its own; the epoch says "unknown" and sorts it last.
    _text(entry, "updated", stamp(updated or date(1970, 1, 1)))
    if paper.published:
        _text(entry, "published", stamp(paper.published))
    _link(entry, "alternate", url, "text/html")
    if paper.url and paper.url.startswith(("http://", "https://")):
        _link(entry, "related", paper.url, None)
    for name in paper.authors:
        _text(ET.SubElement(entry, "author"), "name", name)
    for category in paper.categories:
        ET.SubElement(entry, "category", term=_clean(category))
    if paper.abstract:
        summary = _text(entry, "summary", paper.abstract)
        summary.set("type", "text")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _clean(text)
    return element


def _link(parent: ET.Element, rel: str, href: str, kind: str | None) -> None:
    attrs = {"rel": rel, "href": href} | ({"type": kind} if kind else {})
    ET.SubElement(parent, "link", attrs)


def _clean(text: str) -> str:
    return _NOT_XML.sub("", normalize_space(text))

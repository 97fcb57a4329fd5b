"""The HTML pages through the real app (TestClient): rendering, escaping, empty states and error
pages, over a small real index that the packaged model embedded (seed profile + 40 arXiv records
+ two hostile or undated papers)."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from datetime import date
from urllib.parse import parse_qs, quote, urlsplit

import bibtexparser
import pytest
import rispy
from fastapi.testclient import TestClient

from api import charts
from api.app import create_app
from api.pages import _environment, marked, paper_url
from api.settings import Settings
from indexer.embeddings_io import read as read_embeddings
from indexer.ingest import ingest_papers
from indexer.paper import Paper, text_hash
from indexer.readers.detect import read_papers
from search.engine import Engine
from search.results import Snippet
from tests.conftest import small_index

SEED_TITLE = "Improving Dual-Encoder Training through Dynamic Indexes for Negative Mining"
XSS_TITLE = '<script>alert("xss")</script> Attention & <b>graph</b> transformers'
AUTHOR_LINK = '<a class="author" href="/author/Kelsey%20Allen">Kelsey Allen</a>'
XSS_AUTHOR = "Eve <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def client(shared_data, encoder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    store = small_index(shared_data, encoder, folder)
    hostile = Paper(
        id="xss/0001",
        title=XSS_TITLE,
        abstract="We study <i>graph</i> transformers </p><script>alert(2)</script> for molecules.",
        authors=(XSS_AUTHOR, "Kelsey Allen"),
        categories=("cs.LG",),
        published=date(2025, 6, 1),
        date_precision="day",
    )
    undated = Paper(
        id="undated-1",
        title="Undated note on sparse graph transformers",
        abstract="A note without a date.",
        authors=("Nobody Dated",),
    )
    # Its "published version": one work with it (same title, first author, year), whose venue,
    # DOI and URL carry markup and a script URL.
    journal = dataclasses.replace(
        hostile,
        id="xss/0001-journal",
        published=date(2025, 9, 1),
        venue='<i>Journal</i> of "x"',
        doi='10.1/"><script>alert(3)</script>',
        url="javascript:alert(4)",
    )
    ingest_papers(store, encoder, [hostile, undated, journal])
    # arXiv papers of 2025 (120) and 2026 (60) with their shipped vectors: cohorts big enough
    # for percentiles (the seed author's papers of each year alone are too few to rank).
    arxiv_2025 = shared_data / "arxiv-2025"
    with gzip.open(arxiv_2025 / "arxiv-2025-115k.jsonl.gz", "rt") as lines:
        rows = [json.loads(line) for line in itertools.islice(lines, 50_000)]
    chosen = rows[:120] + [r for r in rows if r["published"].startswith("2026")][:60]
    records = folder / "arxiv-cohorts.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in chosen))
    papers = list(read_papers(records))
    shipped = read_embeddings(arxiv_2025 / "embeddings")
    store.write_batch(papers, [], {p.id: shipped.vector(p.id, text_hash(p)) for p in papers})
    store.sync_derived()
    engine = Engine(store, encoder)
    with TestClient(create_app(Settings(index_dir=store.index_dir), engine=engine)) as c:
        yield c


def html(response, status: int = 200) -> str:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def seed_id(client) -> str:
    page = html(client.get("/", params={"q": SEED_TITLE, "mode": "keyword"}))
    return re.search(r'<h3><a href="/paper/([^"#]+)">' + re.escape(SEED_TITLE), page).group(1)


# ---- search page ----------------------------------------------------------------------------
def test_landing_page_has_the_form_and_prolific_authors(client):
    page = html(client.get("/"))
    assert '<form class="search" action="/" method="get"' in page
    assert all(f'value="{m}"' in page for m in ("keyword", "semantic", "hybrid"))
    assert 'name="year_from"' in page and 'name="category"' in page and 'name="author"' in page
    assert AUTHOR_LINK in page
    assert "Content-Security-Policy" in client.get("/").headers


def test_results_mark_matched_terms_and_link_authors_related_and_novelty(client):
    page = html(client.get("/", params={"q": "hard negatives mining", "mode": "keyword"}))
    first = page.split('<ol class="results"', 1)[1].split("</li>", 1)[0]
    assert SEED_TITLE in first
    assert re.search(r"<mark>negatives?</mark>", first)
    assert '<a class="author" href="/author/Nicholas%20Monath">Nicholas Monath</a>' in first
    assert "et al." in first  # the seed record is truncated after three names
    assert re.search(r'href="/paper/[^"]+#related"', first)
    assert re.search(r'href="/paper/[^"]+#novelty"', first)
    assert '<span class="badge cat">cs.LG</span>' in first and "27 Mar 2023" in first


def test_pagination_keeps_the_query_in_the_url(client):
    page1 = html(client.get("/", params={"q": "quantum field theory", "mode": "hybrid"}))
    next_url = re.search(r'<a rel="next" href="([^"]+)"', page1).group(1).replace("&amp;", "&")
    params = parse_qs(urlsplit(next_url).query)
    assert params == {"q": ["quantum field theory"], "mode": ["hybrid"], "page": ["2"]}
    page2 = html(client.get(next_url))
    assert '<ol class="results" start="11">' in page2 and 'rel="prev"' in page2
    first, second = (set(re.findall(r'<h3><a href="(/paper/[^"]+)"', p)) for p in (page1, page2))
    assert len(first) == 10 and second and not first & second


def test_filters_restrict_results_and_stay_in_the_form(client):
    page = html(client.get("/", params={"q": "learning", "category": "cs", "year_from": "2020"}))
    badges = re.findall(r'<span class="badge cat">([^<]+)</span>', page)
    assert badges and all(b.startswith("cs.") for b in badges)
    years = re.findall(r'<span class="date">(?:\d+ )?(?:\w{3} )?(\d{4})</span>', page)
    assert years and all(int(y) >= 2020 for y in years)
    assert 'name="category" value="cs"' in page and 'name="year_from" value="2020"' in page
    page = html(client.get("/", params={"q": "learning", "author": "kelsey allen"}))
    results = page.split('<ol class="results"', 1)[1].split("</ol>", 1)[0].split("<li>")[1:]
    # She is shown even where the source hid her behind "et al." (4th author and later).
    assert len(results) == 10 and all(AUTHOR_LINK in r for r in results)


def test_result_cards_show_venue_citations_and_reading_links(client):
    page = html(client.get("/", params={"q": "graph transformers molecules", "mode": "keyword"}))
    cards = page.split('<ol class="results"', 1)[1].split("</ol>", 1)[0].split("<li>")[1:]
    # The hostile work is one card; the journal record's venue shows escaped where it is shown.
    assert sum("/paper/xss/0001" in c for c in cards) == 1
    render = (
        _environment()
        .from_string('{% from "macros.html" import paper_item %}{{ paper_item(p) }}')
        .render
    )
    shown = render(
        p=Paper(
            "j1", "T", "A", venue="<i>J</i>", citation_count=1234, code_url="https://github.com/x/y"
        )
    )
    assert '<span class="venue">&lt;i&gt;J&lt;/i&gt;</span>' in shown and "1,234 citations" in shown
    assert '<a class="badge code" href="https://github.com/x/y"' in shown
    hostile = render(p=Paper("j2", "T", "A", code_url="javascript:alert(1)"))
    assert "javascript:" not in hostile and '<span class="badge code">Code</span>' in hostile
    page = html(client.get("/", params={"q": "diphoton production Tevatron", "mode": "keyword"}))
    card = page.split('<ol class="results"', 1)[1].split("</li>", 1)[0]
    where = card.split('<p class="where">', 1)[1].split("</p>", 1)[0]
    links = dict(re.findall(r'href="([^"]+)" rel="noopener noreferrer">([^<]+)</a>', where))
    assert links == {
        "https://arxiv.org/abs/0704.0001": "arXiv",
        "https://arxiv.org/pdf/0704.0001": "PDF",
        "https://doi.org/10.1103/PhysRevD.76.013009": "DOI",
    }


def test_no_results_is_an_empty_state_not_an_error(client):
    page = html(client.get("/", params={"q": "zzqxv", "mode": "keyword"}))
    assert "No results" in page and "<q>zzqxv</q>" in page and 'rel="next"' not in page
    # Past the last page of a query that has results: said so, with a link back to page 1.
    params = {"q": "graph transformers molecules", "mode": "keyword"}
    assert "<h3>" in html(client.get("/", params=params))
    past = html(client.get("/", params={**params, "page": 30}))
    assert "No more results on page 30" in past and "Nothing in the index matches" not in past
    assert 'href="/?q=graph+transformers+molecules&amp;mode=keyword">Back to page 1' in past


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x", "year_from": "abc"}, "year_from=&#39;abc&#39; is not a year"),
        ({"q": "x", "year_from": "2020", "year_to": "2000"}, "year_from=2020 is after"),
        ({"q": "x", "mode": "fuzzy"}, "mode=&#39;fuzzy&#39;: choose one of"),
        ({"q": "x", "page": "0"}, "page=&#39;0&#39; is not a page number"),
        ({"q": "x", "page": "9999"}, "narrow the search with filters"),
    ],
)
def test_bad_queries_are_400_pages_that_keep_the_form(client, params, message):
    page = html(client.get("/", params=params), 400)
    assert message in page and 'name="q" value="x"' in page


# ---- paper page -----------------------------------------------------------------------------
def test_paper_page_shows_metadata_related_and_novelty_with_chart(client):
    paper_id = seed_id(client)
    page = html(client.get(f"/paper/{paper_id}"))
    assert f"<h1>{SEED_TITLE}</h1>" in page and "Dual encoder models are ubiquitous" in page
    related = page.split('id="related"', 1)[1]
    assert related.count('<article class="paper">') >= 5 and SEED_TITLE not in related
    novelty = page.split('id="novelty"', 1)[1].split('id="related"', 1)[0]
    # A 2023 paper: too few scored 2023 papers here to rank it among, and the page says so.
    assert re.search(
        r'title="no percentile: only \d+ other scored papers from 2023[^"]*at least 50">\s*'
        r'<span class="value">unknown</span>\s*<span class="name">'
        r"percentile \(among \d+ papers? of 2023",
        novelty,
    )
    assert re.search(
        r'<span class="value">0\.\d{3}</span><span class="name">novelty score', novelty
    )
    assert re.search(r'<span class="value">0\.\d{3}</span><span class="name">distance', novelty)
    evidence = re.findall(r'<span class="date">([^<]+)</span>', novelty.split("evidence", 1)[1])
    years = [int(d[-4:]) for d in evidence]
    assert len(years) == 5 and max(years) <= 2022  # only papers before 27 Mar 2023
    svg = re.search(r"<svg.*?</svg>", novelty, re.S).group(0)
    ET.fromstring(svg)
    assert svg.count("<circle") == 5 and "this paper" in svg


def test_a_paper_in_a_big_enough_cohort_shows_its_percentile_and_the_cohort(client):
    page = html(client.get("/paper/xss/0001"))  # 2025, among the arXiv 2025 papers
    novelty = page.split('id="novelty"', 1)[1].split('id="related"', 1)[0]
    found = re.search(
        r'<span class="value">\d+%</span>\s*<span class="name">percentile \(among (\d+) papers '
        r"of 2025\)",
        novelty,
    )
    assert found and int(found.group(1)) >= 50


def test_undated_paper_says_why_it_has_no_novelty(client):
    page = html(client.get("/paper/undated-1"))
    assert "Not scored: this paper has no publication date" in page
    assert "undated" in page and "<svg" not in page


def test_unknown_paper_is_a_404_page(client):
    page = html(client.get("/paper/0000.99999"), 404)
    assert "Not found" in page and "no paper with id &#39;0000.99999&#39;" in page


# ---- author page ----------------------------------------------------------------------------
def test_author_page_mirrors_the_profile_header(client):
    page = html(client.get("/author/Kelsey Allen"))
    assert "<h1>Kelsey Allen</h1>" in page
    figures = dict(
        (name, (title, value))
        for title, value, name in re.findall(
            r'<div class="figure[^"]*" title="([^"]*)">\s*<span class="value">([^<]+)</span>\s*'
            r'<span class="name">([^<]+)</span>',
            page,
        )
    )
    assert set(figures) == {"h-index", "papers", "citations", "Novelty %", "AI Score"}
    assert figures["papers"][1] == "15"  # 14 seed papers + the hostile one
    # No source here carries citation counts: unknown, and the tooltip says why.
    assert figures["h-index"][1] == "unknown" and "citation count" in figures["h-index"][0]
    assert figures["citations"][1] == "unknown"
    assert re.fullmatch(r"\d+%", figures["Novelty %"][1])
    assert "median of the percentiles" in figures["Novelty %"][0]
    assert figures["AI Score"][1].isdigit() and "AI score =" in figures["AI Score"][0]
    papers = page.split('<section class="papers">', 1)[1]
    assert papers.count('<article class="paper">') == 15
    assert papers.count('<span class="badge code">Code</span>') == 3
    assert "et al." in papers and '<p class="abstract">' in papers


def test_author_page_novelty_chart_has_one_dot_per_scored_paper(client):
    page = html(client.get("/author/kelsey allen"))  # any case
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    root = ET.fromstring(svg)
    dots = root.findall(".//{http://www.w3.org/2000/svg}circle")
    scored = int(re.search(r"(\d+) of 15 papers have a percentile", page).group(1))
    assert len(dots) == scored >= 3
    assert root.find(".//{http://www.w3.org/2000/svg}polyline") is not None


def test_author_without_scored_papers_has_an_empty_chart_state(client):
    page = html(client.get("/author/Nobody Dated"))
    assert "None of these papers has a percentile" in page and "<svg" not in page
    novelty = re.search(
        r'<div class="figure unknown" title="([^"]*)">\s*<span class="value">'
        r'unknown</span>\s*<span class="name">Novelty %',
        page,
    )
    assert novelty and novelty.group(1).startswith("withheld: 0 of 1 papers have a percentile")


def test_unknown_author_is_a_404_page_with_similar_names(client):
    page = html(client.get("/author/Nobody Allen"), 404)
    assert "no author named &#39;Nobody Allen&#39;" in page and AUTHOR_LINK in page


# ---- export links and the recommendations page ----------------------------------------------
def export_links(page: str) -> dict[str, str]:
    """label -> URL of the page's export links (with &amp; unescaped)."""
    block = re.search(r'<p class="export">(.*?)</p>', page, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)" download>([^<]+)</a>', block)
    return {label: href.replace("&amp;", "&") for href, label in links}


def shown_ids(page: str) -> list[str]:
    """The paper ids of a page's result list, in order, as they appear in /paper/ links."""
    results = page.split('<ol class="results"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<h3><a href="/paper/([^"#]+)">', results)


def test_search_page_links_the_same_page_as_bibtex_ris_and_csv(client):
    params = {"q": "quantum field theory", "mode": "hybrid", "page": "2"}
    page = html(client.get("/", params=params))
    links = export_links(page)
    assert list(links) == ["BibTeX", "RIS", "CSV"]
    url = urlsplit(links["CSV"])
    assert url.path == "/search"
    assert parse_qs(url.query) == {
        "q": ["quantum field theory"],
        "mode": ["hybrid"],
        "k": ["10"],
        "offset": ["10"],
        "format": ["csv"],
    }
    rows = list(csv.DictReader(io.StringIO(client.get(links["CSV"]).text)))
    assert [quote(r["id"], safe="/:") for r in rows] == shown_ids(page)
    assert rows[0]["rank"] == "11"
    bib = client.get(links["BibTeX"])
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert len(bibtexparser.parse_string(bib.text).entries) == len(rows)
    assert len(rispy.loads(client.get(links["RIS"]).text)) == len(rows)
    empty = html(client.get("/", params={"q": "zzqxv", "mode": "keyword"}))
    assert "No results" in empty and '<p class="export">' not in empty


def test_paper_and_author_pages_link_their_exports(client):
    paper_id = seed_id(client)
    links = export_links(html(client.get(f"/paper/{paper_id}")))
    assert links["BibTeX"] == f"/papers/{paper_id}?format=bibtex"
    (entry,) = bibtexparser.parse_string(client.get(links["BibTeX"]).text).entries
    assert entry.fields_dict["title"].value == SEED_TITLE
    links = export_links(html(client.get("/author/kelsey allen")))
    assert links["RIS"] == "/authors/Kelsey%20Allen?format=ris"
    assert len(rispy.loads(client.get(links["RIS"]).text)) == 15


def test_recommend_page_lists_papers_like_the_liked_one_and_links_its_export(client):
    paper_id = seed_id(client)
    paper_page = html(client.get(f"/paper/{paper_id}"))
    href = re.search(r'href="(/recommend\?[^"]+)">Recommend papers like this one', paper_page)
    page = html(client.get(href.group(1).replace("&amp;", "&")))
    liked, results = page.split('<ol class="results"', 1)
    assert "<h1>Recommended papers</h1>" in liked and SEED_TITLE in liked
    assert results.count('<article class="paper">') == 20 and SEED_TITLE not in results
    links = export_links(page)
    url = urlsplit(links["RIS"])
    assert url.path == "/recommendations"
    assert parse_qs(url.query) == {"positive": [paper_id], "k": ["20"], "format": ["ris"]}
    records = rispy.loads(client.get(links["RIS"]).text)
    assert [quote(r["id"], safe="/:") for r in records] == shown_ids(page)


def test_recommend_page_errors(client):
    assert "give at least one liked paper" in html(client.get("/recommend"), 400)
    page = html(client.get("/recommend", params={"positive": "0000.99999"}), 404)
    assert "no paper with id &#39;0000.99999&#39;" in page


# ---- escaping -------------------------------------------------------------------------------
def test_markup_in_titles_authors_and_abstracts_is_shown_as_text(client):
    pages = [
        html(client.get("/", params={"q": "graph transformers molecules", "mode": "keyword"})),
        html(client.get("/paper/xss/0001")),
        html(client.get("/author/Kelsey Allen")),
        html(client.get("/author/" + XSS_AUTHOR)),
        html(client.get("/recommend", params={"positive": "xss/0001"})),
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>graph" not in page
        assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in page
    assert "<title>&lt;script&gt;alert(" in pages[1]
    # The versions list of the work: both records, the markup in venue and DOI as text.
    versions = pages[1][pages[1].index('id="versions"') :]
    assert 'href="/paper/xss/0001-journal"' in versions and "(this record)" in versions
    assert "&lt;i&gt;Journal&lt;/i&gt; of &#34;x&#34;" in versions
    assert "<script>alert(3)" not in versions and 'href="javascript:' not in pages[1]
    assert "same title and first author" in versions
    assert "Eve &lt;img src=x onerror=alert(1)&gt;" in pages[1]
    assert 'href="/author/Eve%20%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"' in pages[1]
    # Export links carry the hostile id and name URL-quoted, and the query's & escaped.
    assert export_links(pages[1])["BibTeX"] == "/papers/xss/0001?format=bibtex"
    xss_author = "/authors/Eve%20%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E?format=ris"
    assert export_links(pages[3])["RIS"] == xss_author
    assert 'href="/search?q=graph+transformers+molecules&amp;mode=keyword&amp;' in pages[0]
    assert 'href="/recommendations?positive=xss%2F0001&amp;k=20&amp;format=csv"' in pages[4]


def test_marked_snippet_escapes_text_around_and_inside_marks():
    snippet = Snippet("a <b> & graph</p> x", ((3, 4), (8, 13)))
    assert str(marked(snippet)) == "a &lt;<mark>b</mark>&gt; &amp; <mark>graph</mark>&lt;/p&gt; x"


def test_charts_are_well_formed_svg_with_escaped_tooltips():
    def paper(i: int, day: date) -> Paper:
        return Paper(id=f"p/{i}", title=f'T{i} <x> & "q"', abstract="", published=day)

    evidence = [(paper(1, date(2001, 5, 1)), 0.71), (paper(2, date(2006, 1, 1)), 0.55)]
    svg = str(charts.prior_similarity_chart(evidence, date(2007, 4, 2), paper_url))
    root = ET.fromstring(svg)
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert 'T1 <x> & "q" (2001-05-01): similarity 0.710' in titles
    links = [a.get("href") for a in root.iter("{http://www.w3.org/2000/svg}a")]
    assert links == ["/paper/p/1", "/paper/p/2"]
    svg_ns = "{http://www.w3.org/2000/svg}"
    cy = {
        c.find(svg_ns + "title").text.rsplit(" ", 1)[1]: float(c.get("cy"))
        for c in root.iter(svg_ns + "circle")
    }
    assert cy["0.710"] < cy["0.550"]  # higher similarity, higher dot (SVG y grows downwards)
    assert str(charts.prior_similarity_chart([], None, paper_url)) == ""
    novelty = charts.author_novelty_chart([(paper(3, date(2020, 1, 1)), 80.0)], [], paper_url)
    assert ET.fromstring(str(novelty)).find("{http://www.w3.org/2000/svg}polyline") is None


def test_static_stylesheet_is_served_and_nothing_else(client):
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media (max-width" in css.text
    assert client.get("/static/..%2Fpages.py").status_code == 404
    assert client.get("/static/pages.py").status_code == 404


# ---- nothing is fetched from another host ---------------------------------------------------
_FETCHED = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""")


def _fetched_urls(page: str) -> list[str]:
    """URLs a browser loads from the page: scripts, images, stylesheets, frames (not links a
    reader may follow, which are <a href>)."""
    loaded = re.sub(r"<a\s[^>]*>", "", page)
    return [a or b for a, b in _FETCHED.findall(loaded)]


def test_docs_and_pages_load_nothing_from_another_host(client):
    paths = ["/docs", "/redoc", "/", "/?q=graph", "/paper/xss/0001", "/author/Kelsey Allen"]
    for path in paths:
        page = html(client.get(path))
        urls = _fetched_urls(page)
        assert all(not re.match(r"(?:https?:)?//", u) for u in urls), (path, urls)
        for url in urls:
            if url.startswith("/") and not url.startswith("/paper") and "{" not in url:
                assert client.get(url).status_code == 200, (path, url)
    docs = html(client.get("/docs"))
    assert "swagger-ui-bundle.js" in docs and "/openapi.json" in docs
    assert "redoc.standalone.js" in html(client.get("/redoc"))

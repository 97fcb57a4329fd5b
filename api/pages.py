"""The web pages (search, paper, author, recommendations) as server-rendered HTML from Jinja2."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from api import charts
from api.errors import status_of
from api.links import (
    api_author_url,
    api_paper_url,
    author_url,
    export_urls,
    feed_url,
    paper_url,
)
from indexer.filters import Filters
from indexer.paper import Paper, normalize_name
from models.errors import InvalidQueryError, NotFoundError, PaperscopeError
from search.authors import author_profile, find_authors
from search.citations import citation_lists
from search.facets import FACETS
from search.novelty import novelty_of_paper
from search.recommend import recommend
from search.related import related
from search.results import Snippet
from search.retrieval import MODES, search
from search.sorting import SORTS
from search.works import reading_links, work_of

HERE = Path(__file__).parent
STATIC = HERE / "static"
PER_PAGE = 10
# Form values left out of the URLs the page makes, so that a plain search keeps a plain URL.
DEFAULTS = {"sort": "relevance"}
RELATED = 8
CITATIONS = 50  # per list on the paper page; the API gives more
RECOMMENDED = 20
SHOWN_AUTHORS = 3
# Pages carry no script at all, so the browser may refuse every script: a second guard (after
# autoescaping) against titles and abstracts that smuggle markup.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


def show_date(paper: Paper) -> str:
    """The date as precise as the source gave it: '27 Mar 2023', 'Mar 2023' or '2015'."""
    day = paper.published
    if day is None:
        return "undated"
    if paper.date_precision == "year":
        return str(day.year)
    if paper.date_precision == "month":
        return day.strftime("%b %Y")
    return f"{day.day} {day.strftime('%b %Y')}"


def shown_authors(
    authors: tuple[str, ...], limit: int | None, keep: str | None = None
) -> tuple[list[str], str | None, bool]:
    """(first `limit` names, `keep` as written in the list when it falls after them, whether
    names are left out): the profile's or the filter's author stays visible behind "et al."."""
    if not limit or len(authors) <= limit:
        return list(authors), None, False
    key = normalize_name(keep) if keep else ""
    kept = next((name for name in authors[limit:] if key and normalize_name(name) == key), None)
    return list(authors[:limit]), kept, len(authors) > limit + (kept is not None)


def marked(snippet: Snippet) -> Markup:
    """The snippet with each matched term in <mark>; every piece of text is escaped."""
    out, last = [], 0
    for start, end in snippet.spans:
        out += [escape(snippet.text[last:start]), Markup("<mark>"), escape(snippet.text[start:end])]
        out.append(Markup("</mark>"))
        last = end
    out.append(escape(snippet.text[last:]))
    return Markup("").join(out)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        paper_url=paper_url,
        reading_links=reading_links,
        author_url=author_url,
        export_urls=export_urls,
        api_paper_url=api_paper_url,
        api_author_url=api_author_url,
        shown_authors=shown_authors,
        author_limit=SHOWN_AUTHORS,
        modes=MODES,
        sorts=SORTS,
    )
    env.filters.update(show_date=show_date, marked=marked)
    return env


ENV = _environment()


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    engine = request.app.state.engine
    context.setdefault("paper_total", engine.store.count() if engine else 0)
    html = ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def error_page(request: Request, exc: PaperscopeError, **context) -> HTMLResponse:
    """400 for bad input (the API's 422 too: a person typed it), 404 for unknown ids and names."""
    status = status_of(exc)
    status = 400 if status == 422 else status
    return render(request, "error.html", status, status=status, message=str(exc), **context)


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str = "",
    mode: str = "hybrid",
    year_from: str = "",
    year_to: str = "",
    category: str = "",
    author: str = "",
    venue: str = "",
    sort: str = "relevance",
    page: str = "1",
) -> HTMLResponse:
    """Search form, results with marked snippets, totals, facets and paging; everything lives in
    the URL."""
    form = {
        "q": q,
        "mode": mode,
        "year_from": year_from,
        "year_to": year_to,
        "category": category,
        "author": author,
        "venue": venue,
        "sort": sort,
    }
    engine = request.app.state.engine
    common = {"form": form, "categories": _categories(engine)}
    try:
        filters, number = _parse_form(form, page)
        offset = (number - 1) * PER_PAGE
        settings = request.app.state.settings
        if offset > settings.max_offset:
            raise InvalidQueryError(
                f"page {number} is past the last page shown ({settings.max_offset // PER_PAGE + 1}"
                "); narrow the search with filters instead"
            )
        if not q.strip():
            return render(request, "search.html", **common, top_authors=_top_authors(engine))
        result = search(
            engine,
            q,
            k=PER_PAGE + 1,
            mode=mode,
            filters=filters,
            offset=offset,
            sort=sort,
            facets=FACETS,
        )
    except PaperscopeError as exc:
        return error_page(request, exc, **common)
    hits = result.hits[:PER_PAGE]
    keep = {key: value for key, value in form.items() if value and DEFAULTS.get(key) != value}
    return render(
        request,
        "search.html",
        **common,
        hits=hits,
        number=number,
        prev_url="/?" + urlencode({**keep, "page": number - 1}) if number > 1 else None,
        first_url="/?" + urlencode(keep),
        next_url="/?" + urlencode({**keep, "page": number + 1})
        if len(result.hits) > PER_PAGE and offset + PER_PAGE <= settings.max_offset
        else None,
        result=result,
        facets=_facet_links(result, keep),
        authors=_matching_authors(engine, q) if number == 1 else [],
        exports=export_urls("/search", {**keep, "k": PER_PAGE, "offset": offset}),
        feed_url=feed_url(keep),
    )


@router.get("/paper/{paper_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, paper_id: str) -> HTMLResponse:
    """Metadata, abstract, related papers and novelty with the nearest earlier papers."""
    engine = request.app.state.engine
    try:
        paper = engine.store.get(paper_id)
    except PaperscopeError as exc:
        return error_page(request, exc)
    novelty = novelty_of_paper(engine, paper.id)
    evidence = [(e.paper, e.similarity) for e in novelty.evidence]
    return render(
        request,
        "paper.html",
        paper=paper,
        related=related(engine, paper.id, k=RELATED),
        citations=citation_lists(engine.store, paper.id, limit=CITATIONS),
        work=work_of(engine.store, paper.id),
        novelty=novelty,
        chart=charts.prior_similarity_chart(
            evidence, novelty.published or paper.published, paper_url
        ),
    )


@router.get("/author/{name:path}", response_class=HTMLResponse)
def author_page(request: Request, name: str) -> HTMLResponse:
    """The profile: figures with their definitions, a novelty chart and the paper list."""
    engine = request.app.state.engine
    try:
        profile = author_profile(engine, name)
    except NotFoundError as exc:
        words = name.split()
        similar = find_authors(engine, words[-1], limit=8) if words else []
        return error_page(request, exc, similar=similar)
    except PaperscopeError as exc:
        return error_page(request, exc)
    novelty = {n.paper_id: n for n in profile.paper_novelty}
    scored = [
        (p, novelty[p.id].percentile)
        for p in profile.papers
        if novelty[p.id].percentile is not None
    ]
    return render(
        request,
        "author.html",
        profile=profile,
        novelty=novelty,
        chart=charts.author_novelty_chart(scored, profile.novelty_by_year, paper_url),
        scored=len(scored),
    )


@router.get("/recommend", response_class=HTMLResponse)
def recommend_page(
    request: Request,
    positive: Annotated[list[str] | None, Query()] = None,
    negative: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    """Papers like the `positive` ones (and unlike the `negative` ones), with export links."""
    engine = request.app.state.engine
    positive, negative = positive or [], negative or []
    try:
        if not positive:
            raise InvalidQueryError("give at least one liked paper: /recommend?positive=ID")
        limit = request.app.state.settings.max_positives
        if len(positive) + len(negative) > limit:
            raise InvalidQueryError(
                f"{len(positive) + len(negative)} input papers exceed the maximum of {limit}"
            )
        liked = [engine.store.get(paper_id) for paper_id in positive]
        recs = recommend(engine, positive, negative, k=RECOMMENDED)
    except PaperscopeError as exc:
        return error_page(request, exc)
    query = {"positive": positive, "negative": negative, "k": RECOMMENDED}
    return render(
        request,
        "recommend.html",
        liked=liked,
        recs=recs,
        exports=export_urls("/recommendations", query),
    )


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """The pages' own assets (a stylesheet); only files that ship in api/static/."""
    path = STATIC / name
    if name.startswith(".") or path.parent != STATIC or not path.is_file():
        raise NotFoundError(f"no static file {name!r}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


def _facet_links(result, keep: dict[str, str]) -> list[tuple[str, list[tuple[str, int, str]]]]:
    """(facet, [(value, count, URL of this search with the value's filter added)]), for the
    facets with more than one value or one that narrows the results."""
    out = []
    for name, values in result.facets.items():
        links = []
        for value in values:
            added = {key: str(v) for key, v in value.filter.items()}
            if all(keep.get(key) == v for key, v in added.items()):
                continue  # already applied
            links.append((value.value, value.count, "/?" + urlencode({**keep, **added})))
        if links:
            out.append((name, links))
    return out


def _parse_form(form: dict[str, str], page: str) -> tuple[Filters | None, int]:
    if form["mode"] not in MODES:
        raise InvalidQueryError(f"mode={form['mode']!r}: choose one of {', '.join(MODES)}")
    years = {name: _year(name, form[name]) for name in ("year_from", "year_to")}
    filters = Filters(
        category=form["category"].strip() or None,
        author=form["author"].strip() or None,
        venue=form["venue"].strip() or None,
        **years,
    ).validate()
    if not page.isdigit() or int(page) < 1:
        raise InvalidQueryError(f"page={page!r} is not a page number: give 1, 2, 3, ...")
    return (None if filters.is_empty() else filters), int(page)


def _year(name: str, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 9999:
        raise InvalidQueryError(f"{name}={text!r} is not a year: give four digits such as 2007")
    return int(text)


def _categories(engine) -> list[str]:
    """The most common categories, offered as suggestions in the filter box."""
    return engine.store.top_categories(40)


def _matching_authors(engine, q: str) -> list:
    """Authors whose name starts like a short query, so that a name search finds the profile."""
    if len(q) > 60 or not normalize_name(q):
        return []
    return find_authors(engine, q, limit=5)


def _top_authors(engine) -> list[tuple[str, int]]:
    return [(name, count) for name, count in engine.store.top_authors(12) if count > 1]

"""The HTTP API through the real app (TestClient): every endpoint, on each vector backend, over
a small real index that the packaged model embedded (14 seed papers + the first 40 arXiv sample
records)."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api import schemas
from api.app import create_app
from api.settings import Settings
from indexer.store import Store
from search.engine import Engine
from search.limits import Limits
from tests.conftest import BACKENDS, small_index

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEED_TITLE = "Improving Dual-Encoder Training through Dynamic Indexes for Negative Mining"


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request, shared_data, encoder, tmp_path_factory) -> Engine:
    """The module runs once per vector backend: every endpoint must answer the same way."""
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    store = small_index(shared_data, encoder, folder, request.param)
    assert store.backend.name == request.param
    return Engine(store, encoder)


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(Settings(index_dir=engine.store.index_dir), engine=engine)) as c:
        yield c


@pytest.fixture
def writer(engine, tmp_path):
    """A client with writes enabled, over a copy of the index (the shared one stays as built)."""
    shutil.copytree(engine.store.index_dir, tmp_path / "idx")
    copy = Engine(Store.open(tmp_path / "idx"), engine.encoder)
    settings = Settings(index_dir=tmp_path / "idx", api_token=TOKEN)
    with TestClient(create_app(settings, engine=copy)) as c:
        yield c


@pytest.fixture(scope="module")
def seed_id(engine) -> str:
    """The id of SEED_TITLE (seed records have ids derived from their titles)."""
    return engine.store.ids_by_title(SEED_TITLE)[0]


# ---- system ------------------------------------------------------------------------------
def test_health_and_stats(client):
    assert client.get("/health").json() == {
        "status": "ok",
        "papers": 54,
        "model": "all-MiniLM-L6-v2",
        "writes_enabled": False,
    }
    stats = client.get("/stats").json()
    assert (stats["papers"], stats["embeddings"], stats["dim"]) == (54, 54, 384)
    assert stats["sources"] == {"arxiv": 40, "jsonl": 14}
    assert stats["index"] == "idx" and stats["derived_up_to_date"] is True


# ---- papers ------------------------------------------------------------------------------
def test_get_paper(client):
    paper = client.get("/papers/0704.0001").json()
    assert paper["title"].startswith("Calculation of prompt diphoton production")
    assert paper["published"] == "2007-04-02" and paper["year"] == 2007
    assert paper["categories"] == ["hep-ph"] and paper["authors"][0] == "C. Balázs"


def test_write_read_search_and_delete_with_a_slash_id(writer):
    paper = {
        "id": "math/0703001",
        "title": "Spectral graph sparsification by effective resistances",
        "abstract": "We sample edges of a graph with probabilities proportional to their "
        "effective resistances and obtain a sparse graph whose Laplacian approximates the "
        "original spectrally.",
        "authors": "Daniel Spielman; Nikhil Srivastava",
        "categories": "math.CO cs.DS",
        "published": "2007-03",
    }
    added = writer.post("/papers", json=paper, headers=AUTH)
    assert added.status_code == 200, added.text
    assert added.json() == {"received": 1, "added": 1, "updated": 0, "unchanged": 0, "total": 55}
    stored = writer.get("/papers/math/0703001").json()
    assert stored["authors"] == ["Daniel Spielman", "Nikhil Srivastava"]
    assert stored["categories"] == ["math.CO", "cs.DS"] and stored["date_precision"] == "month"
    assert stored["source"] == "api"
    hits = writer.get("/search", params={"q": "sparsify a graph spectrally", "k": 1}).json()
    assert hits["hits"][0]["paper"]["id"] == "math/0703001"
    # Posting it again changes nothing; a changed title updates it in place.
    again = writer.post(
        "/papers", json=[paper, paper | {"title": "Graph sparsification"}], headers=AUTH
    ).json()
    assert (again["added"], again["updated"], again["total"]) == (0, 1, 55)
    assert writer.get("/papers/math/0703001").json()["title"] == "Graph sparsification"
    related = writer.get("/papers/math/0703001/related", params={"k": 2}).json()
    assert related["paper_id"] == "math/0703001" and len(related["hits"]) == 2
    removed = writer.delete("/papers/math/0703001", headers=AUTH)
    assert removed.json() == {"removed": "math/0703001", "total": 54}
    assert writer.get("/papers/math/0703001").status_code == 404
    hits = writer.get("/search", params={"q": "sparsify a graph spectrally", "k": 5}).json()
    assert "math/0703001" not in [h["paper"]["id"] for h in hits["hits"]]


# ---- search ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_search_finds_the_paper_a_query_describes(client, mode):
    query = "hard negatives for training dual encoders with a dynamic tree index"
    page = client.get("/search", params={"q": query, "mode": mode, "k": 3}).json()
    assert (page["query"], page["mode"], page["k"], page["offset"]) == (query, mode, 3, 0)
    assert [h["rank"] for h in page["hits"]] == [1, 2, 3]
    assert page["hits"][0]["paper"]["title"] == SEED_TITLE
    assert (page["hits"][0]["keyword_score"] is None) == (mode == "semantic")


def test_search_filters_and_pages(client):
    params = {"q": "quark masses in QCD", "k": 5, "category": "hep-ph", "year_to": 2007}
    page = client.get("/search", params=params).json()
    assert page["filters"] == {"category": "hep-ph", "year_to": 2007}
    assert len(page["hits"]) == 5
    assert all("hep-ph" in h["paper"]["categories"] for h in page["hits"])
    second = client.get("/search", params=params | {"k": 2, "offset": 2}).json()
    assert [h["paper"]["id"] for h in second["hits"]] == [
        h["paper"]["id"] for h in page["hits"][2:4]
    ]
    assert second["hits"][0]["rank"] == 3
    by_author = client.get("/search", params={"q": "video", "author": "kelsey allen"}).json()
    assert by_author["hits"]
    assert all("Kelsey Allen" in h["paper"]["authors"] for h in by_author["hits"])


# ---- discovery ---------------------------------------------------------------------------
def test_related_papers(client, seed_id):
    pid = seed_id
    body = client.get(f"/papers/{pid}/related", params={"k": 5}).json()
    assert body["paper_id"] == pid
    hits = body["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert pid not in [h["paper"]["id"] for h in hits]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    # A machine-learning paper's neighbours are the other ML papers, not the 2007 physics ones.
    assert all(h["paper"]["source"] == "jsonl" for h in hits[:3])
    physics = client.get(f"/papers/{pid}/related", params={"k": 3, "category": "hep-ph"}).json()
    assert len(physics["hits"]) == 3
    assert all("hep-ph" in h["paper"]["categories"] for h in physics["hits"])


def test_recommendations_from_liked_and_disliked_papers(client, seed_id):
    liked = [seed_id]
    disliked = ["0704.0001"]
    body = {"positive_ids": liked, "negative_ids": disliked, "k": 4}
    hits = client.post("/recommendations", json=body).json()["hits"]
    ids = [h["paper"]["id"] for h in hits]
    assert len(hits) == 4 and not set(ids) & set(liked + disliked)
    assert all(h["closest_positive_id"] == liked[0] for h in hits)
    assert hits[0]["paper"]["source"] == "jsonl"


def test_novelty_of_a_paper_and_of_a_draft(client):
    scored = client.get("/papers/0704.0001/novelty", params={"k": 3}).json()
    assert scored["paper_id"] == "0704.0001" and scored["published"] == "2007-04-02"
    assert scored["k"] == 3 and 0 < len(scored["evidence"]) <= 3
    draft = {
        "title": "Hard-negative mining with a dynamic tree index",
        "abstract": "We train dual encoders with hard negatives found by a tree index that is "
        "kept up to date as the encoder changes, instead of rebuilding a static index.",
        "date": "2024-01-15",
    }
    novelty = client.post("/novelty", json=draft).json()
    assert novelty["paper_id"] is None and novelty["published"] == "2024-01-15"
    assert novelty["raw"] is not None and novelty["explanation"]
    # Only earlier papers count: the 2023 seed paper on the same method is the closest.
    evidence = novelty["evidence"]
    assert all(e["paper"]["published"] < "2024-01-15" for e in evidence)
    assert evidence[0]["paper"]["title"] == SEED_TITLE


# ---- authors -----------------------------------------------------------------------------
def test_find_authors_and_profile(client):
    found = client.get("/authors", params={"q": "KEL"}).json()
    assert found["authors"][0] == {"name": "Kelsey Allen", "paper_count": 14}
    profile = client.get("/authors/kelsey allen").json()
    assert profile["name"] == "Kelsey Allen" and profile["paper_count"] == 14
    assert len(profile["papers"]) == 14 and profile["citations"] is None
    assert profile["citations_note"]


# ---- docs --------------------------------------------------------------------------------
ENDPOINTS = {
    ("get", "/health"),
    ("get", "/stats"),
    ("get", "/search"),
    ("get", "/papers/{paper_id}"),
    ("post", "/papers"),
    ("delete", "/papers/{paper_id}"),
    ("get", "/papers/{paper_id}/related"),
    ("get", "/papers/{paper_id}/novelty"),
    ("post", "/recommendations"),
    ("post", "/novelty"),
    ("get", "/authors"),
    ("get", "/authors/{name}"),
    ("get", "/recommendations"),
    ("get", "/watches"),
    ("post", "/watches"),
    ("delete", "/watches/{name}"),
    ("get", "/feeds/{name}.atom"),
    ("get", "/search.atom"),
}


def test_openapi_documents_every_endpoint_with_examples_and_the_error_body(client):
    spec = client.get("/openapi.json").json()
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert found >= ENDPOINTS, ENDPOINTS - found
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # every 422 uses the one error body
    for method, path in ENDPOINTS:
        op = spec["paths"][path][method]
        text = str(op) + str([schemas[r.split("/")[-1]] for r in _refs(op)])
        assert "example" in text, f"{method} {path} has no example"
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, status)
    assert client.get("/docs").status_code == 200


def test_every_documented_example_is_valid_for_its_model():
    models = [m for m in vars(schemas).values() if isinstance(m, type) and m is not BaseModel]
    documented = [
        m for m in models if issubclass(m, BaseModel) and "json_schema_extra" in m.model_config
    ]
    assert len(documented) >= 15
    for model in documented:
        for example in model.model_config["json_schema_extra"]["examples"]:
            model.model_validate(example)  # raises on an example that breaks the schema


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_background_novelty_setting_holds_for_an_engine_passed_in(engine):
    """`serve` opens the engine itself and passes it in; the setting must still reach it (it
    was ignored, and a 3M-paper server then ran the whole-index novelty scan regardless)."""
    import dataclasses

    copy = dataclasses.replace(engine)
    off = Settings(index_dir=engine.store.index_dir, background_novelty=False)
    with TestClient(create_app(off, engine=copy)):
        assert copy.background_novelty is False
    with TestClient(create_app(off.model_copy(update={"background_novelty": True}), engine=copy)):
        assert copy.background_novelty is True


def test_a_raised_max_k_is_honoured_by_search_related_and_recommendations(
    engine, seed_id, monkeypatch
):
    """PAPERSCOPE_MAX_K reaches the library: k=150 is refused by default and accepted at 500."""
    with TestClient(create_app(Settings(index_dir=engine.store.index_dir), engine=engine)) as c:
        for path, params in (
            ("/search", {"q": "neural networks"}),
            (f"/papers/{seed_id}/related", {}),
        ):
            refused = c.get(path, params={**params, "k": 150})
            assert refused.status_code == 422, path
            assert refused.json()["error"]["type"] == "invalid_query"
            assert "from 1 to 100" in refused.json()["error"]["message"]
    monkeypatch.setenv("PAPERSCOPE_MAX_K", "500")
    settings = Settings.from_env(index_dir=engine.store.index_dir)
    assert settings.max_k == 500
    try:
        with TestClient(create_app(settings, engine=engine)) as c:
            query = {"q": "neural networks", "k": 150, "mode": "semantic"}
            found = c.get("/search", params=query)
            assert found.status_code == 200 and len(found.json()["hits"]) == 54
            related = c.get(f"/papers/{seed_id}/related", params={"k": 150})
            assert related.status_code == 200 and len(related.json()["hits"]) == 53
            body = {"positive_ids": [seed_id], "k": 150}
            recs = c.post("/recommendations", json=body)
            assert recs.status_code == 200 and len(recs.json()["hits"]) == 53
    finally:  # the module's engine is shared: give it back the default limits
        engine.limits = Limits()


def test_default_facets_equal_the_totals_of_each_filter(client):
    """GET /search?q=neural&facets=year,category as given (hybrid): on an index smaller than the
    candidate depth every count is exact, and each equals the total of its filter."""
    answer = client.get("/search", params={"q": "neural", "facets": "year,category"}).json()
    assert answer["mode"] == "hybrid" and answer["total_exact"] and answer["depth"] is None
    assert set(answer["facets"]) == {"year", "category"} and len(answer["facets"]["year"]) >= 3
    for values in answer["facets"].values():
        for value in values:
            filtered = client.get("/search", params={"q": "neural", **value["filter"]}).json()
            assert filtered["total"] == value["count"], value

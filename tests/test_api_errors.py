"""API errors: every error class and client mistake gets the one body shape and a 4xx, never a 500.

The app runs over a small index of real records embedded by the FakeEncoder (plumbing only: the
real model is exercised by test_api.py and test_api_server.py).
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import install_error_handlers
from api.settings import Settings
from indexer.ingest import ingest
from indexer.store import Store
from models import errors
from search.engine import Engine
from tests.fakes import FakeEncoder

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def engine(shared_data, tmp_path_factory) -> Engine:
    encoder = FakeEncoder()
    store = Store.create_or_open(tmp_path_factory.mktemp("api-err") / "idx", encoder.name, 32)
    ingest(store, encoder, [shared_data / "seed_profile.jsonl"], progress=False)
    return Engine(store, encoder)


def _client(engine: Engine, **settings) -> TestClient:
    app = create_app(Settings(index_dir=engine.store.index_dir, **settings), engine=engine)
    return TestClient(app)


@pytest.fixture(scope="module")
def client(engine):
    with _client(engine, max_k=20, max_query_chars=200, max_positives=3) as c:
        yield c


def assert_error(response, status: int, kind: str | tuple[str, ...], match: str = "") -> dict:
    """The response has `status` and exactly the one error body, with a message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] in ((kind,) if isinstance(kind, str) else kind), body
    assert match in body["error"]["message"], body
    return body


# ---- the mapping itself, on a bare app with one route per error class ---------------------
@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.BadInputError("bad"), 400),
        (errors.UnauthorizedError("who"), 401),
        (errors.ForbiddenError("no"), 403),
        (errors.NotFoundError("gone"), 404),
        (errors.IndexMismatchError("other model"), 409),
        (errors.InvalidQueryError("k=0"), 422),
        (errors.ModelLoadError("no model"), 503),
        (errors.PaperscopeError("generic"), 400),
    ],
)
def test_every_library_error_maps_to_its_status_and_kind(exc, status):
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom():
        raise exc

    response = TestClient(app).get("/boom")
    assert_error(response, status, exc.kind, str(exc))
    assert ("www-authenticate" in response.headers) == (status == 401)


def test_an_unexpected_exception_is_a_500_with_the_same_body():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/bug")
    def bug():
        raise RuntimeError("internal detail that must not leak")

    response = TestClient(app, raise_server_exceptions=False).get("/bug")
    body = assert_error(response, 500, "internal_error")
    assert "internal detail" not in body["error"]["message"]


# ---- routing: unknown routes, methods, ids ------------------------------------------------
def test_unknown_route_method_and_id(client):
    assert_error(client.get("/no/such/route"), 404, "not_found", "/docs")
    response = client.put("/health")
    assert_error(response, 405, "method_not_allowed", "PUT")
    assert response.headers["allow"] == "GET"
    # Two routes share /papers/{id}: the Allow header names the methods of both.
    assert client.patch("/papers/0704.0001").headers["allow"] == "DELETE, GET"
    assert_error(client.get("/papers/no-such-id"), 404, "not_found", "no-such-id")
    assert_error(client.get("/papers/math/0000001"), 404, "not_found", "math/0000001")


# ---- client mistakes on the read routes: 422 with a message that says what to change --------
@pytest.mark.parametrize(
    ("path", "params", "match"),
    [
        ("/search", {}, "q is required in the query"),
        ("/search", {"q": ""}, "the query is empty"),
        ("/search", {"q": "   "}, "the query is empty"),
        ("/search", {"q": "x" * 201}, "the query has 201 characters, more than the maximum of 200"),
        (
            "/search",
            {"q": "graphs", "k": 21},
            "k=21 is out of range: give a whole number from 1 to 20",
        ),
        ("/search", {"q": "graphs", "k": 0}, "k=0 is out of range"),
        ("/search", {"q": "graphs", "k": "ten"}, "k: Input should be a valid integer"),
        (
            "/search",
            {"q": "graphs", "offset": 1001},
            "offset=1001 is out of range: the maximum is 1000",
        ),
        ("/search", {"q": "graphs", "mode": "fuzzy"}, "mode: Input should be 'keyword'"),
        ("/search", {"q": "graphs", "year_from": 2020, "year_to": 2010}, "after year_to"),
        ("/search", {"q": "graphs", "year_from": 10**30}, "year_from"),
        ("/papers/0704.0001/related", {"k": 21}, "k=21 is out of range"),
        ("/papers/0704.0001/related", {"direction": "sideways"}, "direction"),
        ("/papers/0704.0001/novelty", {"k": -1}, "k=-1 is out of range"),
        ("/authors", {"q": ""}, "q"),
        ("/authors", {"q": "!!!"}, "give the start of an author's name"),
        ("/authors", {"q": "kel", "limit": 5000}, "limit=5000 exceeds the maximum of 1000"),
    ],
)
def test_bad_read_parameters_are_422(client, path, params, match):
    assert_error(client.get(path, params=params), 422, ("invalid_query", "invalid_request"), match)


@pytest.mark.parametrize("path", ["/search?q=graphs", "/papers/0704.0001/related?"])
def test_one_error_type_for_a_number_out_of_range_on_either_side(client, path):
    for k in (0, -3, 21):
        assert_error(client.get(f"{path}&k={k}"), 422, "invalid_query", f"k={k}")
    if path.startswith("/search"):
        for offset in (-1, 1001):
            assert_error(client.get(f"{path}&offset={offset}"), 422, "invalid_query", "offset")


@pytest.mark.parametrize(
    ("path", "body", "status", "match"),
    [
        ("/recommendations", {"positive_ids": []}, 422, "positive_ids"),
        ("/recommendations", {"positive_ids": "p1"}, 422, "positive_ids"),
        (
            "/recommendations",
            {"positive_ids": ["a", "b", "c", "d"]},
            422,
            "4 liked (positive) papers exceed the maximum of 3",
        ),
        ("/recommendations", {"positive_ids": ["no-such-id"]}, 404, "no-such-id"),
        ("/recommendations", {"positive_ids": ["x"], "k": 1.5}, 422, "k"),
        ("/recommendations", {"positive_ids": ["x"], "extra": 1}, 422, "extra"),
        ("/novelty", {"title": "T"}, 422, "abstract is required"),
        ("/novelty", {"abstract": "  "}, 422, "abstract is empty"),
        ("/novelty", {"abstract": "y" * 201}, 422, "abstract has 201 characters"),
        ("/novelty", {"abstract": "a", "date": "2024-13-01"}, 422, "date"),
        ("/novelty", ["not", "an", "object"], 422, "body"),
    ],
)
def test_bad_bodies_are_4xx(client, path, body, status, match):
    kind = "not_found" if status == 404 else ("invalid_query", "invalid_request")
    assert_error(client.post(path, json=body), status, kind, match)


def test_unknown_ids_and_names_are_404(client):
    assert_error(client.get("/papers/nope/related"), 404, "not_found", "nope")
    assert_error(client.get("/papers/a/b/novelty"), 404, "not_found", "'a/b'")
    assert_error(client.get("/authors/Nobody At All"), 404, "not_found", "Nobody At All")


# ---- writes: off by default, token checked ------------------------------------------------
def test_writes_are_forbidden_without_a_configured_token(client):
    paper = {"title": "T", "abstract": "A"}
    assert_error(client.post("/papers", json=paper), 403, "forbidden", "PAPERSCOPE_API_TOKEN")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert_error(client.delete("/papers/x", headers=headers), 403, "forbidden")
    assert client.get("/health").json()["writes_enabled"] is False


def test_writes_need_the_right_token(engine):
    with _client(engine, api_token=TOKEN) as c:
        paper = {"title": "T", "abstract": "A"}
        assert_error(c.post("/papers", json=paper), 401, "unauthorized", "Bearer")
        wrong = {"Authorization": "Bearer not-the-token"}
        assert_error(c.post("/papers", json=paper, headers=wrong), 401, "unauthorized", "wrong")
        basic = {"Authorization": f"Basic {TOKEN}"}
        assert_error(c.delete("/papers/x", headers=basic), 401, "unauthorized")
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert_error(c.delete("/papers/no-such-id", headers=good), 404, "not_found")
        as_json = good | {"Content-Type": "application/json"}
        assert_error(c.post("/papers", content=b"{not", headers=as_json), 400, "malformed_json")
        assert_error(c.post("/papers", json=[], headers=good), 422, "invalid_request", "1 item")
        no_abstract = {"id": "x1", "title": "Only a title", "abstract": " "}
        assert_error(c.post("/papers", json=no_abstract, headers=good), 400, "bad_input", "x1")
        bad_date = {"title": "T", "abstract": "A", "published": "yesterday-ish"}
        assert_error(c.post("/papers", json=bad_date, headers=good), 400, "bad_input", "date")
        unknown = {"title": "T", "abstract": "A", "colour": "blue"}
        assert_error(
            c.post("/papers", json=unknown, headers=good), 422, "invalid_request", "colour"
        )
        typed = {"title": "T", "abstract": "A", "citation_count": "many"}
        assert_error(c.post("/papers", json=typed, headers=good), 422, "invalid_request")
        # A body not sent as JSON: 415, whatever it holds, and for every route that takes one.
        form = good | {"Content-Type": "application/x-www-form-urlencoded"}
        for path in ("/papers", "/recommendations", "/watches"):
            assert_error(
                c.post(path, content=b"title=T", headers=form),
                415,
                "unsupported_media_type",
                "application/json",
            )
        assert_error(
            c.post("/papers", content=b'{"title": "T"}', headers=good | {"Content-Type": ""}),
            415,
            "unsupported_media_type",
            "no Content-Type",
        )
        ld = good | {"Content-Type": "application/ld+json; charset=utf-8"}
        assert_error(c.post("/papers", content=b"{not", headers=ld), 400, "malformed_json")
        huge = b"[" + b" " * (17 * 1024 * 1024) + b"]"
        assert_error(c.post("/papers", content=huge, headers=as_json), 413, "too_large")
        assert c.get("/health").json()["papers"] == 14  # nothing above wrote anything


# ---- start-up ---------------------------------------------------------------------------
def test_startup_fails_fast_on_a_missing_index(tmp_path):
    app = create_app(Settings(index_dir=tmp_path / "nothing-here"))
    with pytest.raises(errors.NotFoundError, match="paperscope ingest"), TestClient(app):
        pass


def test_startup_fails_fast_on_a_model_mismatch(engine):
    app = create_app(Settings(index_dir=engine.store.index_dir, model="some/other-model"))
    with pytest.raises(errors.IndexMismatchError, match="fake-encoder"), TestClient(app):
        pass

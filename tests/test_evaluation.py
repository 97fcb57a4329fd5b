"""Evaluation: metrics against hand-computed values, BEIR loading, and `paperscope eval`."""

from __future__ import annotations

import json
import math

import pytest

from api.cli import main
from indexer.ingest import ingest
from indexer.store import Store
from models.errors import BadInputError
from search.engine import Engine
from search.evaluation import load_beir, mrr_at, ndcg_at, read_qrels, recall_at, run_eval
from tests.fakes import FakeEncoder


def test_metrics_match_hand_computed_values():
    relevant = {"a": 1, "b": 2}
    ranked = ["x", "b", "y", "a"]
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(ranked, relevant, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(ranked, relevant, 1) == 0.0
    assert ndcg_at(["b", "a"], relevant, 10) == pytest.approx(1.0)
    assert recall_at(ranked, relevant, 2) == 0.5 and recall_at(ranked, relevant, 100) == 1.0
    assert mrr_at(ranked, relevant, 10) == 0.5 and mrr_at(ranked, relevant, 1) == 0.0
    assert ndcg_at(ranked, {}, 10) == 0.0


def _write_beir(folder, docs, queries, qrels, split="test"):
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w") as handle:
        for doc_id, (title, text) in docs.items():
            handle.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as handle:
        for qid, text in queries.items():
            handle.write(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n")
    rows = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in qrels]
    (folder / "qrels" / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    return folder


def _judged_slice(source, wanted: set[str], others: int) -> dict[str, tuple[str, str]]:
    """The documents of a BEIR corpus that are `wanted`, and the first `others` besides."""
    docs = {}
    with (source / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["_id"] in wanted or len(docs) < others:
                docs[record["_id"]] = (record["title"], record["text"])
    return docs


def test_load_beir_keeps_judged_queries_and_positive_grades(tmp_path):
    folder = _write_beir(
        tmp_path / "set",
        {"d1": ("T", "x")},
        {"1": "first", "2": "second", "3": "unjudged"},
        [("1", "d1", 1), ("2", "d1", 0), ("1", "d2", 2)],
    )
    data = load_beir(folder, "test")
    assert data.queries == {"1": "first"} and data.qrels == {"1": {"d1": 1, "d2": 2}}
    assert read_qrels(folder / "qrels" / "test.tsv") == {"1": {"d1": 1, "d2": 2}}
    with pytest.raises(BadInputError, match=r"train.tsv is missing.*splits found: test"):
        load_beir(folder, "train")


def test_run_eval_scores_each_mode(tmp_path):
    docs = {f"d{i}": (f"topic{i} study", f"alpha{i} beta{i} gamma{i}") for i in range(12)}
    queries = {str(i): f"alpha{i} beta{i}" for i in range(4)}
    folder = _write_beir(tmp_path / "set", docs, queries, [(str(i), f"d{i}", 1) for i in range(4)])
    encoder = FakeEncoder()
    store = Store.create_or_open(tmp_path / "idx", encoder.name, encoder.dim)
    ingest(store, encoder, [folder / "corpus.jsonl"], fmt="beir", progress=False)
    results = run_eval(Engine(store, encoder), load_beir(folder), ["keyword", "hybrid", "rrf"])
    assert [r.mode for r in results] == ["keyword", "hybrid", "rrf"]
    for r in results:
        assert r.queries == 4 and r.metrics["ndcg@10"] == pytest.approx(1.0)
        assert set(r.to_dict()) >= {"mode", "ndcg@10", "recall@100", "mrr@10", "mean_ms"}


@pytest.fixture(scope="module")
def real_encoder():
    from models.encoder import load_encoder

    return load_encoder()


def test_eval_command_on_real_scifact_queries(
    shared_data, tmp_path, capsys, monkeypatch, real_encoder
):
    """Real model, real claims and abstracts: 8 test queries, their abstracts and 24 others."""
    source = shared_data / "scifact"
    data = load_beir(source, "test")
    qids = sorted(data.queries, key=int)[:8]
    docs = _judged_slice(source, {d for q in qids for d in data.qrels[q]}, 24)
    qrels = [(q, d, 1) for q in qids for d in data.qrels[q]]
    folder = _write_beir(tmp_path / "set", docs, {q: data.queries[q] for q in qids}, qrels)
    monkeypatch.setattr("models.encoder.load_encoder", lambda *a, **kw: real_encoder)
    index = tmp_path / "idx"
    argv = ["eval", str(folder), "--json", "-q", "--index", str(index)]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["queries"] == 8 and first["ingest"]["added"] == len(docs)
    by_mode = {r["mode"]: r for r in first["results"]}
    assert set(by_mode) == {"keyword", "semantic", "hybrid", "rrf"}  # rrf: the baseline
    assert by_mode["hybrid"]["ndcg@10"] > 0.6 and by_mode["hybrid"]["recall@100"] == 1.0
    assert main([*argv, "--modes", "keyword"]) == 0  # reusing the index: nothing re-ingested
    second = json.loads(capsys.readouterr().out)
    assert second["ingest"]["added"] == 0 and [r["mode"] for r in second["results"]] == ["keyword"]
    assert main(["eval", str(folder), "--split", "dev", "-q"]) == 2
    assert "dev.tsv is missing" in capsys.readouterr().err


def test_eval_keeps_title_only_documents_and_reports_skipped_records(
    shared_data, tmp_path, capsys, monkeypatch, real_encoder
):
    """BEIR counts a document with an empty text: it is indexed, found by its title, and a
    malformed line is skipped and reported by reason."""
    source = shared_data / "scifact"
    data = load_beir(source, "test")
    qid = sorted(data.queries, key=int)[0]
    target = next(iter(data.qrels[qid]))
    docs = {}
    with (source / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["_id"] == target or len(docs) < 12:
                docs[record["_id"]] = (record["title"], record["text"])
    docs[target] = (docs[target][0], "")  # the judged document keeps only its title
    folder = _write_beir(tmp_path / "set", docs, {qid: data.queries[qid]}, [(qid, target, 1)])
    with (folder / "corpus.jsonl").open("a") as handle:
        handle.write('{"_id": "broken", "title": \n')
    monkeypatch.setattr("models.encoder.load_encoder", lambda *a, **kw: real_encoder)
    assert main(["eval", str(folder), "--json", "-q", "--modes", "keyword", "semantic"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ingest"]["added"] == len(docs) and sum(out["skipped"].values()) == 1
    semantic = next(r for r in out["results"] if r["mode"] == "semantic")
    assert semantic["recall@100"] == 1.0  # the title-only document is in the index and found
    assert main(["eval", str(folder), "-q", "--modes", "keyword"]) == 0
    assert "skipped 1 records:" in capsys.readouterr().out


@pytest.mark.slow
def test_fusion_floor_on_a_small_judged_set(shared_data, encoder, tmp_path):
    """Hybrid is at least as good as plain RRF of the same two lists and as either mode alone,
    on NPL (a collection the fusion was not tuned on: physics abstracts, lower case, no titles):
    every test query, over its judged documents and 400 others (2,080 in all)."""
    source = shared_data / "npl"
    data = load_beir(source, "test")
    docs = _judged_slice(source, {d for grades in data.qrels.values() for d in grades}, 400)
    qrels = [(q, d, g) for q, grades in data.qrels.items() for d, g in grades.items()]
    folder = _write_beir(tmp_path / "npl", docs, data.queries, qrels)
    store = Store.create_or_open(tmp_path / "idx", encoder.name, encoder.dim)
    ingest(store, encoder, [folder / "corpus.jsonl"], fmt="beir", keep_title_only=True)
    modes = ["keyword", "semantic", "hybrid", "rrf"]
    ndcg = {
        r.mode: r.metrics["ndcg@10"]
        for r in run_eval(Engine(store, encoder), load_beir(folder), modes)
    }
    assert ndcg["hybrid"] >= max(ndcg["keyword"], ndcg["semantic"], ndcg["rrf"]), ndcg

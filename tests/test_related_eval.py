"""Related-paper evaluation: metric functions on toy rankings, edge files, and a real Cora slice."""

from __future__ import annotations

import json
import math

import pytest

from api.cli import main
from models.errors import BadInputError
from search.related_eval import ndcg_at_k, read_edges, recall_at_k, split_edges
from search.tfidf import TfidfIndex


def test_recall_and_ndcg_on_toy_rankings():
    ranked = ["a", "x", "b", "y"]
    assert recall_at_k(ranked, {"a", "b", "c", "d"}, k=10) == 0.5
    assert recall_at_k(ranked, {"a", "b"}, k=1) == 0.5
    assert recall_at_k(ranked, set(), k=10) == 0.0
    dcg = 1 + 1 / math.log2(4)  # hits at ranks 1 and 3
    ideal = 1 + 1 / math.log2(3)  # two relevant papers, both on top
    assert ndcg_at_k(ranked, {"a", "b"}, k=10) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["a", "b"], {"a", "b"}, k=10) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], {"a"}, k=10) == 0.0
    # Only the top k count, and the ideal uses at most k relevant papers.
    assert ndcg_at_k(["x", "a"], {"a"}, k=1) == 0.0
    assert ndcg_at_k(["a"], {"a", "b", "c"}, k=1) == pytest.approx(1.0)


def test_edges_are_read_undirected_and_split_reproducibly(tmp_path):
    path = tmp_path / "edges.tsv"
    path.write_text("src\tdst\n1\t2\n2\t1\n3\t3\n2\t3\n\n4\t1\n")
    edges = read_edges(path)
    assert edges == [("1", "2"), ("1", "4"), ("2", "3")]
    known, hidden = split_edges(edges, 1 / 3, seed=0)
    assert len(hidden) == 1 and sorted(known + hidden) == edges
    assert split_edges(edges, 1 / 3, seed=0) == (known, hidden)
    with pytest.raises(BadInputError):
        split_edges(edges, 1.0, seed=0)
    (tmp_path / "empty.tsv").write_text("src\tdst\n")
    with pytest.raises(BadInputError, match="no edges"):
        read_edges(tmp_path / "empty.tsv")


def test_tfidf_baseline_ranks_the_lexically_closest_first():
    index = TfidfIndex.build(
        ["a", "b", "c"],
        ["genetic algorithms evolve programs", "evolving programs with genetic search", "kernels"],
    )
    assert index.rank("a", 2) == ["b", "c"]
    assert index.rank("a", 2, skip={"b"}) == ["c"]
    sims = index.similarities(["a"])[0]
    assert sims[0] == pytest.approx(1.0) and sims[2] == 0.0


def _cora_slice(shared_data, size: int) -> tuple[list[str], list[tuple[str, str]]]:
    """A connected slice of Cora (breadth-first from node 35), as JSON lines and its edges."""
    edges = read_edges(shared_data / "cora" / "cora_edges.tsv")
    neighbours: dict[str, set[str]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    chosen, frontier = ["35"], ["35"]
    while frontier and len(chosen) < size:
        nxt = []
        for node in frontier:
            for other in sorted(neighbours[node], key=int):
                if other not in chosen and len(chosen) < size:
                    chosen.append(other)
                    nxt.append(other)
        frontier = nxt
    keep = set(chosen)
    lines = [
        line
        for line in (shared_data / "cora" / "cora_papers.jsonl").read_text().splitlines()
        if str(json.loads(line)["node_id"]) in keep
    ]
    return lines, [(a, b) for a, b in edges if a in keep and b in keep]


def test_eval_related_command_on_a_real_cora_slice(shared_data, tmp_path, capsys):
    lines, edges = _cora_slice(shared_data, 40)
    papers = tmp_path / "papers.jsonl"
    papers.write_text("\n".join(lines) + "\n")
    edge_file = tmp_path / "edges.tsv"
    edge_file.write_text("src\tdst\n" + "".join(f"{a}\t{b}\n{b}\t{a}\n" for a, b in edges))
    argv = ["eval-related", str(papers), str(edge_file), "--index", str(tmp_path / "idx"), "-q"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["papers"] == 40 and report["edges"] == len(edges)
    assert report["hidden_edges"] == round(len(edges) * 0.2)
    rows = {(s["protocol"], s["method"]): s for s in report["scores"]}
    assert set(rows) == {
        ("all", "tfidf"),
        ("all", "dense"),
        ("all", "text"),
        ("hidden", "tfidf"),
        ("hidden", "text"),
        ("hidden", "text+citations"),
    }
    assert rows["all", "text"]["queries"] == 40  # every paper of a connected slice has a link
    assert all(0 <= s["recall"] <= 1 and 0 <= s["ndcg"] <= 1 for s in rows.values())
    # On a neighbourhood of one paper most links are findable by text.
    assert rows["all", "text"]["recall"] > 0.3
    # The readable table names every method (the papers are in the index already now).
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "text+citations" in out and "recall@10" in out

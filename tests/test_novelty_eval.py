"""eval-novelty on a real slice of novelty-dev and its paperlists prior work, against a hand
computation of both correlations over the time rule."""

from __future__ import annotations

import gzip
import json
from datetime import date

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from api.cli import main
from indexer.store import Store
from search import periods

LABEL = "technical_novelty_mean"


def _slice(source, out, keep, limit: int) -> list[dict]:
    rows = []
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if keep(record):
                rows.append(record)
            if len(rows) == limit:
                break
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows


@pytest.fixture(scope="module")
def files(shared_data, tmp_path_factory):
    """40 NeurIPS 2022 and 40 2023 papers with reviewers' scores (2 stripped of it, 1 made
    unreadable, 1 dated before all prior work), and 120 paperlists papers of 2016-2021 as
    their prior work."""
    folder = tmp_path_factory.mktemp("novelty-eval")
    dev = shared_data / "novelty-dev" / "neurips-2022-2023.jsonl.gz"
    labelled = _slice(dev, folder / "a.jsonl", lambda r: r["published"] < "2023", 40)
    labelled += _slice(dev, folder / "b.jsonl", lambda r: r["published"] > "2023", 40)
    for record in labelled[:2]:
        record.pop(LABEL)
    labelled[2][LABEL] = "n/a"
    labelled[3]["published"] = "1990-06-01"  # nothing earlier to compare with: not scored
    papers = folder / "labelled.jsonl"
    papers.write_text("".join(json.dumps(r) + "\n" for r in labelled), encoding="utf-8")
    prior = folder / "prior.jsonl"
    lists = shared_data / "paperlists" / "paperlists-ml-1987-2022.jsonl.gz"
    _slice(lists, prior, lambda r: "2016" <= str(r.get("published"))[:4] <= "2021", 120)
    return papers, prior, labelled


def test_eval_novelty_reports_both_scores_as_computed_by_hand(files, tmp_path, capsys):
    papers, prior, labelled = files
    index = tmp_path / "index"
    argv = ["eval-novelty", str(papers), "--prior", str(prior), "--index", str(index), "-q"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ingest"]["added"] == 200 and out["without_label"] == {
        "no label": 2,
        "label not a number": 1,
    }
    assert (out["labelled"], out["unscored"], out["not_in_index"]) == (77, 1, 0)
    truth = {r["id"]: float(r[LABEL]) for r in labelled[4:]}

    # By hand: every dated paper's earlier papers under the interval rule, then both scores.
    store = Store.open(index)
    vids, starts, ends, _years = periods.all_bounds(store)
    ids = {vid: p.id for vid, p in store.papers_with_vids(vids.tolist())}
    vectors = store.embeddings(vids.tolist())
    by_year: dict[int, list[tuple[float, float, float]]] = {2022: [], 2023: []}
    for i, vid in enumerate(vids.tolist()):
        if ids[vid] not in truth:
            continue
        prior_rows = np.flatnonzero(ends < starts[i])
        assert len(prior_rows) >= 20  # every labelled paper has the 120 prior papers
        sims = vectors[prior_rows] @ vectors[i]
        nearest = np.argsort(-sims, kind="stable")[:20]
        ages = (starts[i] - ends[prior_rows[nearest]]) / 365.25
        method = 1 - (sims[nearest] * (0.25 + 0.75 * 0.8**ages)).mean()
        baseline = 1 - sims[nearest[:10]].mean()
        year = date.fromordinal(int(starts[i])).year
        by_year[year].append((method, baseline, truth[ids[vid]]))
    everything = by_year[2022] + by_year[2023]
    method, baseline, label = (np.array(column) for column in zip(*everything, strict=True))
    assert out["method"]["n"] == out["baseline"]["n"] == len(truth) == 76
    assert out["method"]["spearman"] == pytest.approx(spearmanr(method, label)[0], abs=1e-4)
    assert out["method"]["kendall"] == pytest.approx(kendalltau(method, label)[0], abs=1e-4)
    assert out["baseline"]["spearman"] == pytest.approx(spearmanr(baseline, label)[0], abs=1e-4)
    assert out["baseline"]["kendall"] == pytest.approx(kendalltau(baseline, label)[0], abs=1e-4)
    # The NeurIPS 2022 papers are prior work of the 2023 ones, so the two years differ.
    assert out["by_year"]["2023"]["method"]["n"] == len(by_year[2023]) == 40
    assert out["by_year"]["2022"]["method"]["n"] == len(by_year[2022]) == 36
    assert out["method"]["spearman"] != out["baseline"]["spearman"]

    # A rerun on the kept index embeds nothing; --year keeps one year; the table names both.
    assert main([*argv, "--json", "--year", "2023"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    assert rerun["ingest"]["added"] == 0 and rerun["method"] == out["by_year"]["2023"]["method"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "paperscope novelty" in table and "kNN baseline" in table and "2023" in table


def test_eval_novelty_without_the_label_says_which_field_is_missing(files, tmp_path, capsys):
    papers, prior, _ = files
    code = main(["eval-novelty", str(papers), "--prior", str(prior), "--label", "nope", "-q"])
    assert code == 2
    assert "'nope'" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()

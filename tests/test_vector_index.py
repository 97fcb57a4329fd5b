"""Vector index: exact search is the oracle; HNSW must reach recall@10 >= 0.95 against it."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.vector_index import VectorIndex, choose_kind


def _clustered(n: int, dim: int = 64, clusters: int = 200, seed: int = 0) -> np.ndarray:
    """Vectors around random centres, like topic clusters of real abstracts, normalised."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    data = centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, dim))
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data.astype(np.float32)


def test_auto_kind_switches_on_size():
    assert choose_kind("auto", 1000) == "flat"
    assert choose_kind("auto", 200_000) == "hnsw"
    assert choose_kind("auto", 10_000_000) == "hnsw_sq8"
    assert choose_kind("flat", 10_000_000) == "flat"


@pytest.mark.parametrize("kind", ["hnsw", "hnsw_sq8"])
def test_approximate_recall_against_exact(kind, tmp_path):
    data = _clustered(20_200)
    data, queries = data[:20_000], data[20_000:]  # held-out queries from the same distribution
    vids = np.arange(100, 100 + len(data), dtype=np.int64) * 3  # ids need not be row numbers
    exact = VectorIndex.build(64, vids, data, "flat")
    approx = VectorIndex.build(64, vids, data, kind)
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95, recall
    _, deeper = approx.search(queries, 10, ef_search=400)  # a deeper search finds at least as much
    deep = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, deeper, strict=True)])
    assert deep >= recall - 0.005, (deep, recall)
    assert deep >= (0.98 if kind == "hnsw" else 0.95), deep  # 8-bit codes cap it a little lower


def test_filtered_search_is_exact_and_complete():
    data = _clustered(5_020)
    data, queries = data[:5_000], data[5_000:]
    vids = np.arange(len(data), dtype=np.int64)
    allowed = vids[vids % 7 == 0]
    for kind in ("flat", "hnsw", "hnsw_sq8"):
        index = VectorIndex.build(64, vids, data, kind)
        scores, found = index.search(queries, 10, allowed)
        brute = queries @ data[allowed].T
        best = allowed[np.argsort(-brute, axis=1)[:, :10]]
        assert set(found.ravel()) <= set(allowed)
        assert found.shape == (20, 10)
        if kind == "hnsw_sq8":  # exact over the allowed papers, but scored from 8-bit codes
            overlap = [len(set(f) & set(b)) / 10 for f, b in zip(found, best, strict=True)]
            assert np.mean(overlap) >= 0.95, kind
        else:
            assert (found == best).mean() > 0.99, kind


def test_read_rows_reads_mapped_files_and_their_slices(tmp_path):
    """Rows read from the file equal the mapped rows: an .npy (header offset), a raw float32
    file, a slice of a mapping (its offset is the parent's), and an array in memory."""
    from indexer.files import load_array, read_rows, save_array

    data = np.random.default_rng(0).standard_normal((3000, 8)).astype(np.float32)
    save_array(tmp_path / "a.npy", data)
    data.tofile(tmp_path / "b.f32")
    raw = np.memmap(tmp_path / "b.f32", dtype="<f4", mode="r", shape=(3000, 8))
    for array in (load_array(tmp_path / "a.npy"), raw, data):
        for lo, hi in ((0, 3000), (17, 18), (2999, 3000), (5, 5)):
            assert np.array_equal(read_rows(array, lo, hi), data[lo:hi])
        assert np.array_equal(read_rows(array[100:], 3, 40), data[103:140])

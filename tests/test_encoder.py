"""Encoder: the fast paths (bf16 documents, ONNX queries) keep the fp32 model's embeddings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from models import hardware
from models.encoder import load_encoder
from models.errors import BadInputError
from models.onnx_query import onnx_available

SAMPLE = 32


@pytest.fixture(scope="module")
def abstracts(shared_data) -> list[str]:
    """Real SciFact abstracts, every 100th, so lengths vary (many are longer than one window)."""
    from indexer.paper import embedding_text

    out = []
    with open(shared_data / "scifact/corpus.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 100 == 0:
                record = json.loads(line)
                out.append(embedding_text(record["title"], record["text"]))
    return out[:SAMPLE]


@pytest.fixture(scope="module")
def fp32():
    """The reference: the same model in fp32, the path every fast path is compared with."""
    return load_encoder(precision="fp32")


@pytest.fixture(scope="module")
def fp32_vectors(fp32, abstracts) -> np.ndarray:
    return fp32.encode_documents(abstracts)


def _neighbour_recall(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean overlap of each text's k nearest other texts under the two embeddings."""
    top_a = np.argsort(-(a @ a.T), axis=1)[:, 1 : k + 1]
    top_b = np.argsort(-(b @ b.T), axis=1)[:, 1 : k + 1]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(top_a, top_b, strict=True)]))


def test_bf16_documents_keep_fp32_quality(abstracts, fp32_vectors):
    fast = load_encoder(precision="bf16", query_backend="torch")
    vectors = fast.encode_documents(abstracts, batch_size=16)
    cosine = np.sum(vectors * fp32_vectors, axis=1)
    recall = _neighbour_recall(vectors, fp32_vectors)
    print(
        f"bf16 vs fp32: mean cosine {cosine.mean():.5f}, min {cosine.min():.5f}, "
        f"neighbour recall@10 {recall:.3f}"
    )
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.98
    assert recall >= 0.9


@pytest.mark.parametrize(
    ("native", "speedup", "chosen"),
    [(True, 2.0, "bf16"), (True, 1.2, "bf16"), (True, 1.1, "fp32"), (False, 3.0, "fp32")],
)
def test_auto_precision_takes_bf16_only_where_the_cpu_has_it_and_runs_it_faster(
    native, speedup, chosen, monkeypatch
):
    """The rule from fixed facts (native bf16, measured speed-up), not restated from the code."""
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: native)
    monkeypatch.setattr(hardware, "bf16_speedup", lambda: speedup)
    assert hardware.resolve_precision("auto", "cpu") == chosen


def test_the_auto_encoder_keeps_fp32_quality(encoder, fp32_vectors, abstracts):
    assert encoder.precision in ("bf16", "fp32")
    cosine = np.sum(encoder.encode_documents(abstracts[:16]) * fp32_vectors[:16], axis=1)
    assert cosine.min() >= 0.98


def test_vectors_are_float32_normalised_and_in_input_order(fp32, abstracts, fp32_vectors):
    assert fp32_vectors.shape == (len(abstracts), fp32.dim) and fp32_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(fp32_vectors, axis=1), 1.0, atol=1e-5)
    # Batches are sorted by length inside; each text must still get its own vector back.
    for i in (0, 7, len(abstracts) - 1):
        single = fp32.encode_documents([abstracts[i]])[0]
        assert float(single @ fp32_vectors[i]) > 0.9999
    assert fp32.encode_documents([]).shape == (0, fp32.dim)


def test_long_text_is_averaged_over_windows(fp32, abstracts):
    parts = abstracts[:4]
    whole = fp32.encode_documents([" ".join(parts)])[0]  # about a thousand tokens: 4+ windows
    each = fp32.encode_documents(parts)
    between = each @ each.T
    unrelated = between[~np.eye(4, dtype=bool)].max()
    # Every part, the last one too, pulls the average: cutting after the first window would not.
    assert (each @ whole).min() > unrelated, (each @ whole, unrelated)
    assert abs(float(np.linalg.norm(whole)) - 1.0) < 1e-5


def test_one_window_cuts_like_plain_sentence_transformers(fp32, abstracts, fp32_vectors):
    from sentence_transformers import SentenceTransformer

    first_only = load_encoder(precision="fp32", max_windows=1)
    cut = first_only.encode_documents(abstracts)
    plain = SentenceTransformer(fp32._location, device="cpu", local_files_only=True)
    expected = plain.encode(abstracts, normalize_embeddings=True)  # truncates at 256 tokens
    assert float(np.sum(cut * expected, axis=1).min()) > 0.999
    # Abstracts longer than one window differ from their whole-text vector; short ones do not.
    lengths = [len(fp32._tokenizer(a, add_special_tokens=False)["input_ids"]) for a in abstracts]
    long = np.array(lengths) > 254
    assert long.any() and (~long).any()
    same = np.sum(cut * fp32_vectors, axis=1)
    assert same[~long].min() > 0.9999 and same[long].min() < 0.999


@pytest.mark.skipif(not onnx_available(), reason="onnxruntime is not installed")
def test_onnx_queries_equal_torch_fp32(fp32, abstracts):
    onnx = load_encoder(precision="fp32", query_backend="onnx")
    assert onnx.query_path == "onnx"
    queries = ["p53", "vitamin D deficiency and tuberculosis risk", abstracts[5] * 2]
    for query in queries:  # the last is longer than a window: split and averaged too
        torch_vector = fp32.encode_documents([query])[0]
        assert float(onnx.encode_query(query) @ torch_vector) > 0.9999, query[:40]
    # A padded batch of mixed lengths through the exported graph (dynamic axes).
    batch = [abstracts[0][:50], abstracts[1], "short"]
    got = onnx._encode(batch, batch_size=8, progress=False, onnx=True)
    np.testing.assert_allclose(got, fp32.encode_documents(batch), atol=1e-4)


def test_precision_and_backend_choices_are_checked():
    assert hardware.resolve_precision("auto", "cuda") == "fp16"
    assert hardware.resolve_precision("fp32", "cpu") == "fp32"
    assert hardware.resolve_precision("auto", "cpu") in ("bf16", "fp32")
    with pytest.raises(BadInputError, match="choose one of"):
        hardware.resolve_precision("int3", "cpu")
    with pytest.raises(BadInputError, match="query backend"):
        load_encoder(query_backend="tensorrt")


def test_threads_do_not_exceed_physical_cores(encoder):
    # One torch thread per physical core: more only contend for the same matrix units.
    cores = hardware.physical_cores()
    topology = Path("/sys/devices/system/cpu/cpu0/topology")
    if not topology.is_dir():
        pytest.skip("no CPU topology in /sys on this machine")
    # Independent of the code's /proc/cpuinfo reading: distinct (package, core) pairs among the
    # CPUs this process may run on, from sysfs.
    usable = {
        tuple(
            (Path(f"/sys/devices/system/cpu/cpu{cpu}/topology") / name).read_text().strip()
            for name in ("physical_package_id", "core_id")
        )
        for cpu in os.sched_getaffinity(0)
    }
    assert cores == len(usable)
    if not os.environ.get("OMP_NUM_THREADS"):
        assert torch.get_num_threads() == cores == encoder.threads


def test_concurrent_queries_and_documents_share_one_encoder(encoder, abstracts):
    from concurrent.futures import ThreadPoolExecutor

    queries = [f"question {i} about {abstracts[i][:60]}" for i in range(16)]
    expected = [encoder.encode_query(q) for q in queries]
    with ThreadPoolExecutor(max_workers=6) as pool:
        documents = pool.submit(encoder.encode_documents, abstracts[:8])
        got = list(pool.map(encoder.encode_query, queries))
        assert documents.result().shape == (8, encoder.dim)
    for a, b in zip(got, expected, strict=True):
        assert float(a @ b) > 0.999

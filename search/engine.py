"""An open index and its encoder, loaded once and shared by every search and discovery call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from indexer.store import Store
from models.encoder import Encoder, canonical_model_name, load_encoder
from search.limits import Limits


@dataclass
class Engine:
    """Store plus the encoder of the model the index was built with."""

    store: Store
    encoder: Encoder
    # Whether stale novelty scores start a background rescoring (serve's setting).
    background_novelty: bool = True
    # Request limits from the entry point's settings; the library keeps no constants of its own.
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def open(
        cls,
        index_dir: Path,
        model: str | None = None,
        *,
        precision: str = "auto",
        warm: bool = False,
        limits: Limits | None = None,
    ) -> Engine:
        """Open an index; `model` is only a check: the index's own model is the one loaded.
        `warm` prepares the fast query path at once (a server's start-up, not a one-shot CLI);
        `limits` are the entry point's request limits."""
        store = Store.open(index_dir, canonical_model_name(model) if model else None)
        encoder = load_encoder(
            store.model_name, precision=precision, max_windows=store.manifest.max_windows
        )
        store.manifest.check_model(encoder.name, encoder.dim)
        store.sync_derived()
        if warm:
            encoder.warm()
        return cls(store, encoder, limits=limits or Limits())

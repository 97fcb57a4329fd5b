"""Embed metadata dumps into Parquet shards for `ingest --embeddings`, in this process or on Ray.

The records are read by ingest's own readers (streaming, the same skip-and-count rule, records
sharing an id inside a shard merged as ingest merges them) and cut into shards of `shard_rows`
records in input order. Each shard is embedded through the one Encoder (models/encoder.py) and
written as `part-NNNNN.parquet` under a temporary name, then renamed: a shard file that exists
is complete. A rerun with the same inputs and settings skips the shards already written, so an
interrupted run resumes where it stopped; `embed.json` records the settings, and a rerun with
other settings into the same folder is refused.

On Ray (`ray_address`: "local" starts a cluster on this machine, else an address), the pending
shards go in waves of WAVE_SHARDS: each wave is one Ray Data dataset mapped by an actor pool
(`map_batches`), every actor loading the encoder once per wave and embedding its batches on a
CPU or a GPU. The driver collects the wave's vectors and writes the shard files, so both paths
write exactly the same layout.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer import embeddings_io
from indexer.ingest import IngestReport, batched, read_records
from indexer.paper import embedding_text, text_hash
from indexer.readers.detect import iter_input_files
from models.errors import BadInputError

log = logging.getLogger(__name__)

SHARD_ROWS = 10_000
# Shards per Ray dataset: the actors load the model once per wave (seconds), not per shard.
WAVE_SHARDS = 16
JOB = "embed.json"


@dataclass
class EmbedReport:
    """What one embed run did: records read and skipped, shards embedded now or found done."""

    read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    embedded: int = 0
    shards_written: int = 0
    shards_resumed: int = 0
    seconds: float = 0.0
    workers: str = ""

    def to_dict(self) -> dict:
        return {
            "read": self.read,
            "skipped": self.skipped,
            "embedded": self.embedded,
            "shards_written": self.shards_written,
            "shards_resumed": self.shards_resumed,
            "seconds": round(self.seconds, 2),
            "papers_per_s": round(self.embedded / self.seconds, 1) if self.seconds else None,
            "workers": self.workers,
        }


@dataclass(frozen=True)
class EmbedSettings:
    """What decides the shards' contents; a resumed run must match it."""

    model: str
    max_windows: int
    precision: str = "auto"
    device: str | None = None
    shard_rows: int = SHARD_ROWS
    fmt: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    keep_title_only: bool = False

    def to_dict(self, files: Sequence[Path]) -> dict:
        return {
            "model": self.model,
            "max_windows": self.max_windows,
            "precision": self.precision,
            "device": self.device,
            "shard_rows": self.shard_rows,
            "format": self.fmt,
            "map": self.mapping,
            "keep_title_only": self.keep_title_only,
            "inputs": [str(Path(f).resolve()) for f in files],
        }


class ShardEncoder:
    """Embeds shards of (ids, texts): one Encoder in this process, or a Ray actor pool."""

    def __init__(
        self,
        settings: EmbedSettings,
        *,
        batch_size: int = 64,
        ray_address: str | None = None,
        actors: int = 1,
    ) -> None:
        self.settings, self.device, self.batch_size = settings, settings.device, batch_size
        self.ray_address, self.actors = ray_address, actors
        self._encoder = None
        if ray_address is None:
            from models.encoder import load_encoder

            self._encoder = load_encoder(
                settings.model,
                device=settings.device,
                precision=settings.precision,
                max_windows=settings.max_windows,
            )
            self.workers = f"1 process ({self._encoder.device})"
            self.wave_shards = 1
        else:
            self._start_ray()

    def _start_ray(self) -> None:
        try:
            import ray
            import ray.data
        except ImportError:
            raise BadInputError(
                "--ray needs the ray extra: pip install 'paperscope[ray]'"
            ) from None
        if not log.isEnabledFor(logging.DEBUG):  # library logs stay quiet unless --verbose
            import os

            os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
            for name in ("ray", "ray.data"):
                logging.getLogger(name).setLevel(logging.ERROR)
        if not ray.is_initialized():
            if self.ray_address == "local":
                ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            else:
                ray.init(address=self.ray_address, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        self.wave_shards = WAVE_SHARDS
        gpu = self.device == "cuda"
        self.workers = (
            f"Ray, {self.actors} actor{'s' * (self.actors != 1)} ({'cuda' if gpu else 'cpu'})"
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised, in the order of `texts`."""
        if self._encoder is not None:
            return self._encoder.encode_documents(texts, batch_size=self.batch_size)
        import ray

        rows = [{"row": i, "text": text} for i, text in enumerate(texts)]
        gpu = self.device == "cuda"
        dataset = ray.data.from_items(rows).map_batches(
            RayEncoder,
            fn_constructor_kwargs={
                "model": self.settings.model,
                "device": self.device,
                "precision": self.settings.precision,
                "max_windows": self.settings.max_windows,
                "batch_size": self.batch_size,
            },
            batch_size=max(self.batch_size, len(texts) // (4 * self.actors) or 1),
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.actors),
            num_gpus=1 if gpu else 0,
            num_cpus=0 if gpu else 1,
        )
        out = dataset.to_pandas()
        order = np.argsort(out["row"].to_numpy())
        return np.stack(out["vector"].to_numpy()[order]).astype(np.float32)


class RayEncoder:
    """A Ray Data actor: loads the encoder once, then embeds each batch it is given."""

    def __init__(
        self, model: str, device: str | None, precision: str, max_windows: int, batch_size: int
    ) -> None:
        import os

        # One torch thread per CPU Ray gives the actor (Ray sets this for its workers; set here
        # too, before torch loads): a thread per core in every actor would fight for the cores.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from models.encoder import load_encoder

        self.encoder = load_encoder(
            model, device=device, precision=precision, max_windows=max_windows
        )
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        vectors = self.encoder.encode_documents(texts, batch_size=self.batch_size)
        return {"row": batch["row"], "vector": list(vectors)}


def embed_files(
    paths: Sequence[Path],
    out: Path,
    settings: EmbedSettings,
    encoder: ShardEncoder,
    *,
    progress: bool = True,
) -> EmbedReport:
    """Embed every readable record of `paths` into Parquet shards in `out` (resuming)."""
    started = time.perf_counter()
    files = iter_input_files(paths)
    out = Path(out)
    job = settings.to_dict(files)
    _check_resume(out, job)
    out.mkdir(parents=True, exist_ok=True)
    (out / JOB).write_text(json.dumps(job, indent=2), encoding="utf-8")
    counts = IngestReport()
    report = EmbedReport(workers=encoder.workers)
    records = read_records(files, settings.fmt, settings.mapping, settings.keep_title_only, counts)
    bar = tqdm(desc="embed", unit=" papers", disable=True if not progress else None)
    state = {"meta": None, "rows": 0}

    def flush(wave: list[tuple[int, list]]) -> None:
        texts = [embedding_text(p.title, p.abstract) for _, shard in wave for p in shard]
        vectors = encoder.encode(texts)
        meta = state["meta"] = state["meta"] or embeddings_io.description(
            settings.model, int(vectors.shape[1]), settings.max_windows
        )
        at = 0
        for part, shard in wave:
            block = vectors[at : at + len(shard)]
            at += len(shard)
            ids, hashes = [p.id for p in shard], [text_hash(p) for p in shard]
            embeddings_io.write_part(out, part, ids, hashes, block, meta)
            report.shards_written += 1
            report.embedded += len(shard)
            bar.update(len(shard))
        # After every wave, so that a partial folder is already usable by ingest.
        embeddings_io.describe(out, meta, state["rows"])

    wave: list[tuple[int, list]] = []
    try:
        for part, shard in enumerate(batched(records, settings.shard_rows)):
            state["rows"] += len(shard)
            if embeddings_io.part_path(out, part).is_file():
                report.shards_resumed += 1
                bar.update(len(shard))
                continue
            wave.append((part, shard))
            if len(wave) >= encoder.wave_shards:
                flush(wave)
                wave = []
        if wave:
            flush(wave)
    finally:
        bar.close()
    rows = state["rows"]
    if state["meta"] is None and rows:
        # Every shard was there already (a run stopped after its last shard): describe them.
        meta = embeddings_io.part_description(embeddings_io.part_path(out, 0))
        embeddings_io.describe(out, meta, rows)
    report.read = counts.read
    report.skipped = dict(counts.skipped)
    if rows == 0:
        raise BadInputError(f"no readable record in {', '.join(map(str, files))}: nothing to embed")
    report.seconds = time.perf_counter() - started
    log.info("embed: %s", report.to_dict())
    return report


def _check_resume(out: Path, job: dict) -> None:
    path = out / JOB
    if not path.is_file():
        if out.is_dir() and any(out.glob("*.parquet")):
            raise BadInputError(
                f"{out} already holds Parquet files not written by `paperscope embed`: "
                "give an empty or new --out folder"
            )
        return
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        before = {}
    if before != job:
        changed = sorted(k for k in set(before) | set(job) if before.get(k) != job.get(k))
        raise BadInputError(
            f"{out} holds shards of another embed run (different {', '.join(changed)}): "
            "resume with the same inputs and settings, or give a new --out folder"
        )

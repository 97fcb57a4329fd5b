"""The one settings object: defaults and help text, read from flags and PAPERSCOPE_* variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from models.errors import BadInputError

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # kept equal to models.encoder.DEFAULT_MODEL; no torch import


@dataclass(frozen=True)
class Settings:
    """Everything an entry point may configure. Library code receives explicit arguments instead."""

    index_dir: Path = field(
        default=Path("paperscope-index"), metadata={"help": "index folder", "env": "INDEX"}
    )
    model: str | None = field(
        default=None,
        metadata={
            "help": "sentence-transformers model, name or local path (default: the index's "
            f"model, or {DEFAULT_MODEL} for a new index)",
            "env": "MODEL",
        },
    )
    quiet: bool = field(default=False, metadata={"help": "no progress bars", "env": "QUIET"})
    precision: str = field(
        default="auto",
        metadata={
            "help": "encoder precision: auto (bf16 where the CPU runs it faster than fp32, fp16 on "
            "a GPU, else fp32), fp32, bf16 or fp16",
            "env": "PRECISION",
        },
    )
    max_windows: int | None = field(
        default=None,
        metadata={
            "help": "256-token windows embedded per paper: 0 every window (a long abstract is "
            "embedded whole), 1 cuts after the first like plain sentence-transformers (faster on "
            "long abstracts). Fixed when an index is created (default: the index's, else 0)",
            "env": "MAX_WINDOWS",
        },
    )
    host: str = field(default="127.0.0.1", metadata={"help": "address to bind", "env": "HOST"})
    port: int = field(default=8000, metadata={"help": "port to bind", "env": "PORT"})
    api_token: str | None = field(
        default=None, metadata={"help": "enables write routes when set", "env": "API_TOKEN"}
    )
    background_novelty: bool = field(
        default=True,
        metadata={
            "help": "serve keeps stored novelty scores up to date in the background (off: only "
            "`paperscope novelty --all` scores; the exact scan grows with the square of the "
            "papers, about a minute at 100k and hours past 1M on 2 cores)",
            "env": "BACKGROUND_NOVELTY",
        },
    )
    max_k: int = field(
        default=100, metadata={"help": "largest k a request may ask", "env": "MAX_K"}
    )
    max_offset: int = field(
        default=1000, metadata={"help": "largest result offset", "env": "MAX_OFFSET"}
    )
    max_query_chars: int = field(
        default=20000, metadata={"help": "longest query, in characters", "env": "MAX_QUERY_CHARS"}
    )
    max_positives: int = field(
        default=50, metadata={"help": "most papers in one recommendation", "env": "MAX_POSITIVES"}
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then PAPERSCOPE_* variables, then flags (overrides that are not None)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get("PAPERSCOPE_" + f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "index_dir" in values:
            values["index_dir"] = Path(values["index_dir"])
        return cls(**values)


def _parse(name: str, type_name: str, raw: str):
    if "bool" in type_name:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if "int" in type_name:
        try:
            return int(raw)
        except ValueError:
            raise BadInputError(f"PAPERSCOPE setting {name}={raw!r} is not an integer") from None
    return raw

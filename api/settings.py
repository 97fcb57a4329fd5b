"""The one settings object: typed defaults, limits and help text, read from flags and
PAPERSCOPE_* variables by pydantic-settings, and validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.errors import BadInputError
from search.limits import Limits

DEFAULT_MODEL = "all-MiniLM-L6-v2"  # kept equal to models.encoder.DEFAULT_MODEL; no torch import
ENV_PREFIX = "PAPERSCOPE_"


def _env(name: str) -> dict:
    """The field's own name (flags, code) or its PAPERSCOPE_ variable."""
    return {"validation_alias": AliasChoices(name.lower(), ENV_PREFIX + name)}


class Settings(BaseSettings):
    """Everything an entry point may configure. Library code receives explicit arguments
    (and `limits()`) instead."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        frozen=True,
        extra="forbid",
        populate_by_name=True,
    )

    index_dir: Path = Field(Path("paperscope-index"), description="index folder", **_env("INDEX"))
    model: str | None = Field(
        None,
        description="sentence-transformers model, name or local path (default: the index's "
        f"model, or {DEFAULT_MODEL} for a new index)",
    )
    quiet: bool = Field(False, description="no progress bars")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="encoder precision: auto (bf16 where the CPU runs it faster than fp32, fp16 on "
        "a GPU, else fp32), fp32, bf16 or fp16",
    )
    max_windows: int | None = Field(
        None,
        ge=0,
        le=64,
        description="256-token windows embedded per paper: 0 every window (a long abstract is "
        "embedded whole), 1 cuts after the first like plain sentence-transformers (faster on "
        "long abstracts). Fixed when an index is created (default: the index's, else 0)",
    )
    host: str = Field("127.0.0.1", min_length=1, description="address to bind")
    port: int = Field(8000, ge=0, le=65535, description="port to bind (0: a free one)")
    api_token: str | None = Field(None, min_length=1, description="enables write routes when set")
    background_novelty: bool = Field(
        True,
        description="serve keeps stored novelty scores up to date in the background (off: only "
        "`paperscope novelty --all` scores; the exact scan grows with the square of the "
        "papers, about a minute at 100k and hours past 1M on 2 cores)",
    )
    max_k: int = Field(100, ge=1, le=10_000, description="largest k a request may ask")
    max_offset: int = Field(1000, ge=0, le=100_000, description="largest result offset")
    max_query_chars: int = Field(
        20_000, ge=100, le=1_000_000, description="longest query, in characters"
    )
    max_positives: int = Field(
        50,
        ge=1,
        le=10_000,
        description="most liked papers in one recommendation, and as many disliked ones",
    )

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then PAPERSCOPE_* variables, then flags (overrides that are not None).
        Raises BadInputError naming the variable or flag and what it accepts."""
        try:
            return cls(**{name: value for name, value in overrides.items() if value is not None})
        except ValidationError as exc:
            raise BadInputError(_explain(exc)) from None

    def limits(self) -> Limits:
        """The request limits the library enforces."""
        return Limits(
            max_k=self.max_k,
            max_offset=self.max_offset,
            max_query_chars=self.max_query_chars,
            max_positives=self.max_positives,
        )

    @classmethod
    def help(cls, name: str) -> str:
        """A flag's help text: the field's description and its variable."""
        return f"{cls.model_fields[name].description} (also ${env_name(name)})"


def env_name(name: str) -> str:
    """The PAPERSCOPE_ variable of a setting."""
    return ENV_PREFIX + ("INDEX" if name == "index_dir" else name.upper())


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        field = name.lower().removeprefix(ENV_PREFIX.lower())
        field = "index_dir" if field == "index" else field
        problems.append(f"{env_name(field)}={error.get('input')!r}: {error['msg']}")
    return "invalid setting: " + "; ".join(problems)

"""Helpers shared by CLI subcommands: JSON output, the --json and --format flags."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable

from search.export import FORMATS, export_text


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """--json, or --format json|bibtex|ris|csv; a readable table when neither is given."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON instead of a table")
    group.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="print JSON (as --json), BibTeX, RIS or CSV instead of a table",
    )


def output_format(args: argparse.Namespace) -> str | None:
    """The format asked for by --json or --format; None for the table."""
    return "json" if args.json else args.format


def print_export(fmt: str, items: Iterable, data: dict | list) -> None:
    """`data` (the command's JSON) for json, else `items` (papers or hits) as BibTeX/RIS/CSV."""
    if fmt == "json":
        print_json(data)
    else:
        sys.stdout.write(export_text(items, fmt))


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def shorten(text: str, width: int) -> str:
    """Cut text to `width` characters with an ellipsis, for table cells."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def add_backend_flags(parser: argparse.ArgumentParser, *, when: str) -> None:
    """--backend faiss|qdrant with where Qdrant is (`when`: when the choice applies)."""
    parser.add_argument(
        "--backend",
        choices=["faiss", "qdrant"],
        default=None,
        help=f"engine that serves the vectors, {when}: faiss (embedded, the default) or qdrant "
        "(the `qdrant` extra)",
    )
    parser.add_argument(
        "--qdrant-url", default=None, metavar="URL", help="Qdrant server, e.g. http://host:6333"
    )
    parser.add_argument(
        "--qdrant-path",
        default=None,
        metavar="DIR",
        help="Qdrant's local mode in DIR (in-process, one process at a time; default with "
        "--backend qdrant and no URL: the index folder's qdrant/)",
    )


def backend_of(args: argparse.Namespace):
    """The backend the flags ask for; None when none of them was given."""
    from indexer.backend import BackendConfig

    return BackendConfig.choose(args.backend, url=args.qdrant_url, path=args.qdrant_path)

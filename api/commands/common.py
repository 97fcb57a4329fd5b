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

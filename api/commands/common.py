"""Helpers shared by CLI subcommands: JSON output and the --json flag."""

from __future__ import annotations

import argparse
import json
import sys


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def shorten(text: str, width: int) -> str:
    """Cut text to `width` characters with an ellipsis, for table cells."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

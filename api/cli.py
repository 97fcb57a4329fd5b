"""The `paperscope` command: a thin dispatcher; each subcommand lives in api/commands/."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from api.settings import Settings
from models.errors import PaperscopeError

# name -> (module, one-line help). Modules are imported only when their command runs, so that
# `paperscope --help` does not pay for torch.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("api.commands.ingest", "add papers from metadata dumps to the index"),
    "embed": (
        "api.commands.embed",
        "embed dumps into Parquet shards (here or on Ray), for `ingest --embeddings`",
    ),
    "export-embeddings": (
        "api.commands.export_embeddings",
        "write the index's vectors as Parquet, for `ingest --embeddings`",
    ),
    "export": ("api.commands.export", "papers by id as BibTeX, RIS, CSV or JSON"),
    "stats": ("api.commands.stats", "counts and settings of an index"),
    "reindex": ("api.commands.reindex", "rebuild the vector and keyword indexes from SQLite"),
    "remove": ("api.commands.remove", "delete papers from every index"),
    "search": ("api.commands.search", "keyword, semantic or hybrid search"),
    "eval": ("api.commands.eval", "search quality (nDCG@10, Recall@100, MRR@10) on a BEIR set"),
    "related": ("api.commands.related", "papers related to a paper"),
    "citations": ("api.commands.citations", "a paper's references and cited-by lists"),
    "versions": ("api.commands.versions", "the records of a paper's work and why they merged"),
    "split": ("api.commands.split", "take a paper out of a wrong merge, for good"),
    "recommend": ("api.commands.recommend", "recommendations from liked and disliked papers"),
    "novelty": ("api.commands.novelty", "novelty of a paper or a draft against prior work"),
    "author": ("api.commands.author", "an author's profile"),
    "authors": ("api.commands.authors", "find authors by name prefix"),
    "eval-related": ("api.commands.eval_related", "related-paper quality on a citation graph"),
    "eval-novelty": (
        "api.commands.eval_novelty",
        "novelty against a human label (Spearman, Kendall), with the kNN baseline",
    ),
    "watch": ("api.commands.watch", "saved searches: add, list, remove, run (new papers)"),
    "serve": ("api.commands.serve", "run the HTTP API and web pages"),
}


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags every subcommand takes; their defaults come from Settings (PAPERSCOPE_* variables)."""
    parser.add_argument(
        "--index",
        dest="index_dir",
        default=None,
        help=Settings.help("index_dir") + " (default: ./paperscope-index)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help=Settings.help("model"),
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=None,
        help=Settings.help("quiet") + " (or TQDM_DISABLE=1)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperscope", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        add_common_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # Let the named command add its own flags before parsing, so `COMMAND --help` lists them.
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        module.add_arguments(parser._subparsers._group_actions[0].choices[argv[0]])
    else:
        parser.parse_args(argv)
        return 2
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on itself
    try:
        settings = Settings.from_env(index_dir=args.index_dir, model=args.model, quiet=args.quiet)
        if settings.quiet:
            os.environ["TQDM_DISABLE"] = "1"
        return int(module.run(args, settings) or 0)
    except PaperscopeError as exc:
        print(f"paperscope {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"paperscope {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`paperscope search ... | head`): stop quietly, as Unix tools do.
        # stdout is pointed at devnull so that the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())

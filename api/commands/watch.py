"""`paperscope watch add|list|remove|run`: saved searches and the papers new since the last run."""

from __future__ import annotations

import argparse

from api.commands.common import add_output_flags, output_format, print_export, print_json, shorten
from api.schemas import PaperOut, WatchOut, dump, dump_list
from api.settings import Settings

ACTIONS = ("add", "list", "remove", "run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        '%(prog)s add NAME "QUERY" [filters] | list | remove NAME | run [NAME] [--format F]'
    )
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("name", nargs="?", help="the watch (letters, digits, - and _)")
    parser.add_argument(
        "query", nargs="?", help="for add: the words every new paper must contain (stemmed)"
    )
    parser.add_argument("--year-from", type=int, default=None, help="for add: first year")
    parser.add_argument("--year-to", type=int, default=None, help="for add: last year")
    parser.add_argument("--category", default=None, help='for add: category prefix, e.g. "cs"')
    parser.add_argument("--author", default=None, help="for add: full author name")
    parser.add_argument("--venue", default=None, help="for add: venue substring")
    add_output_flags(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from api.commands.authors import open_without_model
    from api.commands.related import filters_from
    from models.errors import InvalidQueryError
    from search import watches

    needs_name = args.action in ("add", "remove")
    if needs_name and not args.name:
        raise InvalidQueryError(f"watch {args.action} needs a NAME")
    if (args.action == "add") != (args.query is not None):
        raise InvalidQueryError('give a QUERY with add only: watch add NAME "QUERY"')
    if args.action in ("list", "remove") and output_format(args) not in (None, "json"):
        raise InvalidQueryError("--format bibtex|ris|csv exports papers: use it with watch run")
    store = open_without_model(settings).store  # matching reads the keyword index: no model
    if args.action == "add":
        watch = watches.add_watch(store, args.name, args.query, filters_from(args))
        return _print_watches([watch], args, f"added watch {watch.name!r}")
    if args.action == "remove":
        watches.remove_watch(store, args.name)
        print(f"removed watch {args.name!r}")
        return 0
    if args.action == "list":
        return _print_watches(watches.list_watches(store), args, None)
    names = [args.name] if args.name else [w.name for w in watches.list_watches(store)]
    results = [watches.run_watch(store, name) for name in names]
    _print_runs(results, args)
    return 0


def _print_watches(found: list, args: argparse.Namespace, headline: str | None) -> int:
    if output_format(args) == "json":
        print_json(dump_list(WatchOut, found))
        return 0
    if headline:
        print(headline)
    if not found:
        print('no watches; add one with: paperscope watch add NAME "QUERY"')
    for w in found:
        filters = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in w.filters.to_dict().items())
        last = f"last run {w.last_run}" if w.last_run else "never run"
        print(f"{w.name:<20} {shorten(w.query, 50)!r} {filters}  ({last})".rstrip())
    return 0


def _print_runs(results: list, args: argparse.Namespace) -> None:
    fmt = output_format(args)
    if fmt:
        data = [
            {"watch": dump(WatchOut, w), "new": dump_list(PaperOut, papers)}
            for w, papers in results
        ]
        print_export(fmt, [p for _, papers in results for p in papers], data)
        return
    if not results:
        print('no watches; add one with: paperscope watch add NAME "QUERY"')
    for watch, papers in results:
        since = watch.last_run or f"it was added ({watch.created})"
        print(f"{watch.name}: {len(papers)} new paper{'s' * (len(papers) != 1)} since {since}")
        for paper in papers:
            print(f"  {paper.published or '----------'}  {paper.id:<20} {shorten(paper.title, 80)}")

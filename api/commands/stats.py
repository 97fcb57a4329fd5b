"""`paperscope stats`: counts and settings of an index."""

from __future__ import annotations

import argparse

from api.commands.common import add_json_flag, print_json
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_json_flag(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.stats import index_stats
    from indexer.store import Store
    from models.encoder import canonical_model_name

    model = canonical_model_name(settings.model) if settings.model else None
    stats = index_stats(Store.open(settings.index_dir, model))
    if args.json:
        print_json(stats)
        return 0
    for key, value in stats.items():
        if key == "derived":
            for name, info in value.items():
                print(
                    f"{name + ' index':>20}: {info.get('kind', 'bm25')}, {info['count']} "
                    f"papers, generation {info['generation']}"
                )
        else:
            print(f"{key:>20}: {value}")
    return 0

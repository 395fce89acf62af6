"""Command line: python -m metrics COMMAND ... (see `python -m metrics --help`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from metrics import catalog, demo
from metrics.periods import Period
from metrics.store import Store

Command = Callable[[argparse.Namespace, Store], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


@command("demo")
def _demo(args: argparse.Namespace, store: Store) -> int:
    counts = demo.write(store)
    print(json.dumps({"store": str(store.tables_dir), "rows": counts}, ensure_ascii=False))
    return 0


@command("summary")
def _summary(args: argparse.Namespace, store: Store) -> int:
    period = Period.span(Period.parse(args.date_from).start, Period.parse(args.date_to).end)
    scope = catalog.Scope(community_id=args.community)
    con = store.connect()
    result = catalog.summary(con, period, scope)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        for key, value in result.items():
            label = (
                catalog.metric(key).text("label", args.lang) if key in catalog.catalog() else key
            )
            print(f"{label}\t{value}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m metrics", description="基层治理数据看板: data layer"
    )
    p.add_argument("--data-dir", help="store location (default: $GOVDASH_DATA_DIR or ./data)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="write the deterministic demo store (replaces all tables)")
    s = sub.add_parser("summary", help="headline figures over a range of months")
    s.add_argument("--from", dest="date_from", required=True, help="first month, e.g. 2023-01")
    s.add_argument("--to", dest="date_to", required=True, help="last month, e.g. 2025-12")
    s.add_argument("--community", help="community code, e.g. QTX01")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--lang", choices=["zh", "en"], default="zh")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    store = Store(args.data_dir) if args.data_dir else Store()
    try:
        return COMMANDS[args.command](args, store)
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

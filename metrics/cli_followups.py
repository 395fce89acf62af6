"""python -m metrics followups list|add|start|answer|accept|return|edit: tracked follow-up
items (督办事项) from the command line, through metrics.access like the pages: with
--as-user a clerk lists and answers their own community's items only and accepts none.
Refusals are said in Chinese (English with --lang en) on stderr, exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from metrics import access
from metrics.access.tracking import Item, TrackingError
from metrics.i18n import t
from metrics.store import Store
from metrics.tracking import PRIORITIES, RECORD_KINDS, STATUSES

NAME = "followups"
# The options of each action (beside the item's id) and the keyword they are passed as.
_GIVEN = {
    "answer": {"feedback": "feedback", "on": "answered_on"},
    "return": {"reason": "reason"},
    "edit": {
        "title": "title",
        "grid": "grid_id",
        "owner": "owner",
        "deadline": "deadline",
        "priority": "priority",
    },
}


def add_parser(sub: Any) -> None:
    """The `followups` command and its actions, on the CLI's subparsers."""
    f = sub.add_parser(NAME, help="tracked follow-up items (督办事项): list, add, answer, ...")
    actions = f.add_subparsers(dest="action", required=True)
    ls = actions.add_parser("list", help="the items you may see, newest deadline first")
    ls.add_argument("--community", help="community code, e.g. QTX01")
    ls.add_argument("--status", choices=STATUSES)
    add = actions.add_parser("add", help="a new item (leaders and administrators)")
    add.add_argument("--title", required=True, help="what is to be done")
    add.add_argument("--community", required=True, help="community code, e.g. QTX01")
    add.add_argument("--grid", help="grid code, where there is one")
    add.add_argument("--kind", default="other", help="record kind: " + ", ".join(RECORD_KINDS))
    add.add_argument("--record", help="the case or wish id, where there is one")
    add.add_argument("--owner", required=True, help="the person responsible")
    add.add_argument("--deadline", required=True, help="e.g. 2025-12-31")
    add.add_argument("--priority", default="medium", help=", ".join(PRIORITIES))
    for action in ("start", "answer", "accept", "return", "edit"):
        a = actions.add_parser(action, help=f"{action} an item")
        a.add_argument("item", help="the item's id (followups list)")
        for option in _GIVEN.get(action, {}):
            a.add_argument("--" + option, required=option in ("feedback", "reason"))
    for parser in actions.choices.values():
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--lang", choices=["zh", "en"], default="zh")


def run(args: argparse.Namespace, store: Store) -> int:
    lang = args.lang
    try:
        if args.action == "list":
            return _list(args, store)
        if args.action == "add":
            done = access.create_item(store, args.principal, _fields(args))
        else:
            given = {key: getattr(args, opt) for opt, key in _GIVEN.get(args.action, {}).items()}
            done = access.act_on_item(store, args.principal, args.item, args.action, **given)
    except TrackingError as refused:
        print(refused.message(lang), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(done.row(), ensure_ascii=False, default=str))
    else:
        status = t("track_status_" + done.status, lang)
        print(t("track_cli_done", lang, item=done.item_id, status=status))
    return 0


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "title": args.title,
        "community_id": args.community,
        "grid_id": args.grid,
        "record_kind": args.kind,
        "record_id": args.record,
        "owner": args.owner,
        "deadline": args.deadline,
        "priority": args.priority,
    }


def _list(args: argparse.Namespace, store: Store) -> int:
    found = access.tracked_items(
        store, args.principal, community_id=args.community, status=args.status
    )
    for one in found:
        print(json.dumps(one.row(), ensure_ascii=False, default=str) if args.json else _line(one))
    return 0


def _line(one: Item) -> str:
    answered = f" {one.answered_on}" if one.answered_on else ""
    return (
        f"{one.item_id}  {one.status:<11} {one.deadline}  {one.community_id}"
        f"  {one.priority:<6} {one.owner}  {one.title}{answered}"
    )

"""The command line of delivery: `notify` (send new warnings and the meeting packet) and
`subscribe` (add, list and remove subscribers). Hooked into metrics/__main__.py by
`add_parsers` and `COMMANDS`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from metrics import access
from metrics.i18n import Refusal, t
from metrics.periods import Period
from metrics.store import Store


def _notify(args: argparse.Namespace, store: Store) -> int:
    """Exit 0 when everything due went out (or nothing was due), 1 when a send failed (the
    next run retries it), 2 when the run could not start."""
    lang = args.lang
    try:
        period = Period.parse(args.period) if args.period else None
    except ValueError:
        print(t("cli_bad_period", lang, period=args.period), file=sys.stderr)
        return 2
    try:
        done = access.notify_run(store, args.principal, period, dry_run=args.dry_run)
    except Refusal as refused:
        print(refused.message(lang), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([d.as_dict() for d in done], ensure_ascii=False))
    elif not done:
        print(t("notify_none", lang))
    for d in [] if args.json else done:
        status = t(f"notify_status_{d.status}", lang)
        what = t(f"notify_what_{d.what}", lang)
        line = t(
            "notify_line",
            lang,
            status=status,
            what=what,
            kind=d.kind,
            target=d.target,
            count=len(d.keys),
            error=d.error,
        )
        print(line.rstrip())
    return 1 if any(d.status == "failed" for d in done) else 0


def _subscribe(args: argparse.Namespace, store: Store) -> int:
    lang = args.lang
    try:
        if args.list:
            found = access.subscribers(store, args.principal)
            if args.json:
                print(json.dumps([s.as_dict() for s in found], ensure_ascii=False))
            elif not found:
                print(t("notify_no_subscribers", lang))
            for s in [] if args.json else found:
                where = ",".join(s.communities) or "*"
                print("\t".join([s.id, s.kind, s.shown(), where, ",".join(s.what)]))
            return 0
        if args.remove:
            access.remove_subscriber(store, args.principal, args.remove)
            print(t("notify_removed", lang, id=args.remove))
            return 0
        kind, target = next(
            (k, getattr(args, k)) for k in ("email", "wecom", "dingtalk") if getattr(args, k)
        )
        made = access.add_subscriber(
            store,
            args.principal,
            kind,
            target,
            args.secret or "",
            args.community or [],
            [w for w in args.what.split(",") if w.strip()],
        )
    except Refusal as refused:
        print(refused.message(lang), file=sys.stderr)
        return 2
    print(t("notify_subscribed", lang, id=made.id, kind=made.kind, target=made.shown()))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Store], int]] = {
    "notify": _notify,
    "subscribe": _subscribe,
}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    n = sub.add_parser("notify", help="send new warnings and the meeting packet to subscribers")
    n.add_argument("--period", help="the packet's month, e.g. 2025-10 (default: latest closed)")
    n.add_argument("--dry-run", action="store_true", help="say what would be sent, send nothing")
    n.add_argument("--json", action="store_true", help="print one JSON list")
    n.add_argument("--lang", choices=["zh", "en"], default="zh")
    s = sub.add_parser("subscribe", help="add, list or remove who gets warnings and the packet")
    who = s.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", metavar="ADDR", help="an e-mail address")
    who.add_argument("--wecom", metavar="URL", help="a WeCom group robot's webhook URL")
    who.add_argument("--dingtalk", metavar="URL", help="a DingTalk group robot's webhook URL")
    who.add_argument("--list", action="store_true", help="list the subscribers")
    who.add_argument("--remove", metavar="ID", help="remove the subscriber with this id")
    s.add_argument("--secret", help="the DingTalk robot's signing secret (加签)")
    s.add_argument(
        "--community", nargs="+", action="extend", metavar="ID", help="only these communities"
    )
    s.add_argument("--what", default="warnings,packet", help="warnings, packet or both")
    s.add_argument("--json", action="store_true", help="with --list: one JSON list")
    s.add_argument("--lang", choices=["zh", "en"], default="zh")

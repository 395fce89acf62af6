"""python -m metrics boundaries upload|template|show: a community's grid boundaries (网格边界,
GeoJSON) from the command line, through metrics.access like the upload page: with
--as-user a clerk uploads and lists their own community's only. A refused file is said in
Chinese (English with --lang en) on stderr, exit 2, and nothing is written."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from metrics import access
from metrics.i18n import t
from metrics.periods import local_tz
from metrics.store import Store

NAME = "boundaries"


def add_parser(sub: Any) -> None:
    """The `boundaries` command and its actions, on the CLI's subparsers."""
    b = sub.add_parser(NAME, help="grid boundaries (GeoJSON) for the grid map: upload, template")
    actions = b.add_subparsers(dest="action", required=True)
    up = actions.add_parser("upload", help="check a GeoJSON file and keep it as a new version")
    up.add_argument("file", help="a GeoJSON FeatureCollection, one feature per grid")
    tp = actions.add_parser("template", help="the community's grids as placeholder squares")
    tp.add_argument("--out", help="file to write (default: grid-boundaries-<community>.geojson)")
    actions.add_parser("show", help="the community's versions, newest (in force) first")
    for parser in actions.choices.values():
        parser.add_argument("--community", required=True, help="community code, e.g. QTX01")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--lang", choices=["zh", "en"], default="zh")


def run(args: argparse.Namespace, store: Store) -> int:
    action = {"upload": _upload, "template": _template, "show": _show}[args.action]
    return action(args, store)


def _upload(args: argparse.Namespace, store: Store) -> int:
    lang = args.lang
    path = Path(args.file)
    limit = access.max_boundary_bytes()
    try:
        size = path.stat().st_size
        data = path.read_bytes() if size <= limit else b""  # too big: refused unread
    except OSError as exc:
        print(t("cli_io_failed", lang, error=exc), file=sys.stderr)
        return 2
    if size > limit:
        print(t("geo_refused", lang), file=sys.stderr)
        print(f"- {t('geo_too_big', lang, size=_mb(size), limit=_mb(limit))}", file=sys.stderr)
        return 2
    checked = access.check_boundaries(store, data, path.name, args.community, args.principal)
    if not checked.ok:
        print(t("geo_refused", lang), file=sys.stderr)
        for message in checked.messages(lang):
            print(f"- {message}", file=sys.stderr)
        return 2
    for warning in checked.warnings:
        print(warning.message(lang), file=sys.stderr)
    version = access.upload_boundaries(store, checked, args.principal)
    if args.json:
        print(json.dumps({"community_id": args.community, "version": version}))
    else:
        grids = len(checked.grids)
        print(t("geo_saved", lang, community=args.community, version=version, grids=grids))
    return 0


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _template(args: argparse.Namespace, store: Store) -> int:
    data, name = access.boundary_template(store, args.community, args.principal)
    out = Path(args.out or name)
    out.write_bytes(data)
    grids = len(json.loads(data)["features"])
    print(t("geo_template_written", args.lang, path=out, grids=grids))
    return 0


def _show(args: argparse.Namespace, store: Store) -> int:
    lang = args.lang
    versions = access.boundary_versions(store, args.community, args.principal)
    if args.json:
        print(json.dumps([v.as_dict() for v in versions], ensure_ascii=False))
        return 0
    if not versions:
        print(t("geo_none_saved", lang, community=args.community))
    for i, v in enumerate(versions):
        at = v.uploaded_at.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")
        line = t(
            "geo_version_line",
            lang,
            version=v.version,
            grids=v.grids,
            user=v.user,
            at=at,
            file=v.file_name,
            current=t("geo_current", lang) if i == 0 else "",
        )
        print(line)
    return 0

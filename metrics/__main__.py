"""Command line: python -m metrics COMMAND ... (see `python -m metrics --help`).

Which store a command uses: `init` makes the real store (<data dir>/store), `demo` writes
the demo store (<data dir>/demo), `bench` builds its own. Every other command needs the real
store; with none, a command that only reads uses the demo store if there is one and says so
on stderr, and any other says there is no store (exit 2). Recovery runs on open, before
the command (`check` excepted: it reports the store as it finds it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metrics import (
    access,
    catalog,
    check,
    cli_followups,
    cli_geo,
    cli_notify,
    demo,
    ingest,
    location,
    periods,
    review,
    templates,
)
from metrics.cli_log import log_defect
from metrics.delta import StoreError, storage_error
from metrics.i18n import t
from metrics.periods import Period, local_tz
from metrics.schemas import DATASETS
from metrics.store import Store, data_dir

log = logging.getLogger("metrics.cli")

Command = Callable[[argparse.Namespace, Store], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


def _require(args: argparse.Namespace, action: access.Action) -> None:
    access.require(args.principal, action)


def _scope(args: argparse.Namespace, community: str | None) -> catalog.Scope:
    return access.scope_for(args.principal, catalog.Scope(community_id=community))


@command("demo")
def _demo(args: argparse.Namespace, store: Store) -> int:
    _require(args, "admin")
    counts = demo.write(store)
    print(json.dumps({"store": str(store.tables_dir), "rows": counts}, ensure_ascii=False))
    return 0


@command("init")
def _init(args: argparse.Namespace, store: Store) -> int:
    """The real store: empty ledgers, and the registers given, each checked like an upload."""
    lang = args.lang
    files = {"communities": args.communities, "grids": args.grids}
    registers = {}
    for dataset, path in files.items():
        if path:
            try:
                registers[dataset] = (Path(path).read_bytes(), Path(path).name)
            except OSError:
                print(t("cli_no_file", lang, path=path), file=sys.stderr)
                return 2
    checked = access.check_registers(store, args.principal, registers)
    refused = [v for v in checked.values() if not v.ok]
    for validation in refused:
        _print_problems(validation, lang)
        print(t("store_init_refused", lang, file=validation.file_name), file=sys.stderr)
    if refused:
        return 2
    counts, moved = access.init_store(store, args.principal, checked)
    if moved is not None:
        print(t("store_legacy_demo_moved", lang, path=store.tables_dir, moved=moved))
    registered = {"communities": counts["communities"], "grids": counts["grids"]}
    print(t("store_init_done", lang, path=store.tables_dir, **registered))
    return 0


@command("check")
def _check(args: argparse.Namespace, store: Store) -> int:
    """Exit 0 when the store is consistent, 1 when not (after --repair: as repaired)."""
    _require(args, "admin")
    if args.repair:
        access.repair(store, args.principal)
        print(t("check_repaired", args.lang))
    findings = check.run(store)
    print(check.report(store, findings, args.lang))
    return 0 if all(f.ok for f in findings) else 1


@command("audit")
def _audit(args: argparse.Namespace, store: Store) -> int:
    """The audit log's entries, oldest first: one tab-separated line each (times in the
    readers' zone), or one JSON object a line with --json."""
    first = _day(args.date_from, args.lang, end=False)
    last = _day(args.date_to, args.lang, end=True)
    frame = access.audit_entries(store, args.principal, first, last)
    zone = local_tz()
    for entry in frame.to_dict("records"):
        entry = {k: (None if v is None or v != v else v) for k, v in entry.items()}  # NaN → None
        entry["at"] = entry["at"].astimezone(zone).isoformat("T", "seconds")
        if args.json:
            print(json.dumps(entry, ensure_ascii=False, default=str))
            continue
        status = t(f"audit_status_{entry['status']}", args.lang) if entry["status"] else ""
        at = f"{entry['dataset']}@{entry['version']}" if entry["dataset"] else ""
        cells = [entry["at"], entry["user"], entry["role"], entry["community_id"]]
        cells += [entry["action"], status, at, entry["detail"]]
        print("\t".join("" if c is None else str(c) for c in cells))
    return 0


def _day(text: str | None, lang: str, *, end: bool) -> dt.date | None:
    """A --from/--to day: an ISO date, or a period (2025-11, 2025Q3) meaning its first
    (--from) or last (--to) day."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        period = Period.parse(text)
    except ValueError:
        raise StoreError("cli_bad_date", date=text) from None
    return period.end if end else period.start


@command("summary")
def _summary(args: argparse.Namespace, store: Store) -> int:
    period = Period.span(Period.parse(args.date_from).start, Period.parse(args.date_to).end)
    scope = _scope(args, args.community)
    con = store.connect()
    with catalog.read_on(access.clock(store).date()):  # as the pages: the demo's own day
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


@command("ingest")
def _ingest(args: argparse.Namespace, store: Store) -> int:
    lang = args.lang
    access.check_upload(args.principal, args.dataset, args.community)
    if args.replace and not args.period:
        print(t("ingest_replace_needs_period", lang), file=sys.stderr)
        return 2
    path = Path(args.path)
    try:
        data = path.read_bytes()
        period = Period.parse(args.period) if args.period else None
    except OSError:
        print(t("cli_no_file", lang, path=args.path), file=sys.stderr)
        return 2
    except ValueError:
        print(t("cli_bad_period", lang, period=args.period), file=sys.stderr)
        return 2
    max_bytes = int(args.max_mb * 1024 * 1024) if args.max_mb else None
    try:
        validation = ingest.validate(
            data,
            path.name,
            args.dataset,
            args.community,
            store,
            period=period,
            sheet=args.sheet,
            max_bytes=max_bytes,
        )
        if not validation.ok:
            _print_problems(validation, lang)
            return 2
        for note in validation.notes:
            print(note.message(lang), file=sys.stderr)
        if args.dry_run:
            diff = ingest.preview(store, validation, replace=args.replace)
            print(t("ingest_dry_run", lang, **diff.counts()))
            for key in diff.deleted.to_pylist():  # what --replace would delete, one a line
                record = " · ".join(str(v) for v in key.values())
                print(t("cli_would_delete", lang, record=record))
            return 0
        result = access.commit_upload(store, validation, args.principal, replace=args.replace)
    except ingest.IngestError as refused:
        print(refused.message(lang), file=sys.stderr)
        return 2
    spec = DATASETS[result.dataset]
    if not result.committed:
        print(t("ingest_nothing_changed", lang))
    else:
        counts = result.diff.counts()
        name = spec.zh if lang == "zh" else spec.en
        print(t("ingest_committed", lang, dataset=name, version=result.version, **counts))
    return 0


def _print_problems(validation: ingest.Validation, lang: str) -> None:
    """Every problem of a refused file, one a line on stderr: row, column, value, message."""
    for note in validation.notes:
        print(note.message(lang), file=sys.stderr)
    for p in validation.problems:
        where = f"{t('ingest_row', lang)} {p.row}" if p.row else t("ingest_file_level", lang)
        line = f"{where}\t{p.column or ''}\t{p.value or ''}\t{p.message(lang)}"
        print(line, file=sys.stderr)
        if p.key == "ingest_too_large":
            print(t("cli_max_mb", lang), file=sys.stderr)
    print(validation.summary(lang), file=sys.stderr)


@command("template")
def _template(args: argparse.Namespace, store: Store) -> int:
    # A clerk's template is their own community's; others name one (default: the first
    # in the register), and the example row carries it and one of its grids.
    community = _scope(args, args.community).community_id or args.community
    if community is None:
        registered = sorted(ingest.registered_communities(store))
        community = registered[0] if registered else templates.DEFAULT_COMMUNITY
    data = templates.template(
        args.dataset,
        args.format,
        args.lang,
        community_id=community,
        grid_id=templates.example_grid(store, community),
    )
    Path(args.out).write_bytes(data)
    return 0


@command("history")
def _history(args: argparse.Namespace, store: Store) -> int:
    """One JSON object per commit, newest first; rollbacks and whole-table loads always
    (they change every community's rows); times in the readers' zone (GOVDASH_TZ)."""
    community = _scope(args, args.community).community_id
    zone = local_tz()
    for entry in ingest.history(store, args.dataset, community):
        entry["committed_at"] = entry["committed_at"].astimezone(zone).isoformat("T", "seconds")
        print(json.dumps(entry, ensure_ascii=False, default=str))
    return 0


@command("rollback")
def _rollback(args: argparse.Namespace, store: Store) -> int:
    _require(args, "admin")
    lang = args.lang
    dataset, _, version = args.target.partition("@")
    if not version.isdigit() or dataset not in DATASETS:
        print(t("cli_rollback_target", lang, target=args.target), file=sys.stderr)
        return 2
    name = DATASETS[dataset].zh if lang == "zh" else DATASETS[dataset].en
    try:
        undone = ingest.rollback_preview(store, dataset, int(version))
        new = access.rollback(store, dataset, int(version), args.principal)
    except ingest.IngestError as exc:
        print(exc.message(lang), file=sys.stderr)
        return 2
    print(t("ingest_rolled_back", lang, dataset=name, target=version, version=new))
    for entry in undone:  # what the restore undid, every community's
        print(_commit_line(entry, lang))
    return 0


def _commit_line(entry: dict[str, Any], lang: str) -> str:
    zone = local_tz()
    parts = [
        t("history_version", lang, version=entry["version"]),
        entry["committed_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        t(f"history_action_{entry['action']}", lang),
        str(entry.get("user") or ""),
        str(entry.get("community_id") or t("history_all_communities", lang)),
        str(entry.get("file_name") or ""),
    ]
    return "  " + " · ".join(p for p in parts if p)


@command("refresh")
def _refresh(args: argparse.Namespace, store: Store) -> int:
    if args.engine == "spark":
        from metrics.spark.cli import refresh_command  # pyspark is optional

        return refresh_command(args, store)
    access.refresh(store, args.principal)
    print(t("cli_refreshed", args.lang, version=store.version().token))
    return 0


@command("bench")
def _bench(args: argparse.Namespace, store: Store) -> int:
    from metrics import bench  # numpy-heavy; only this command needs it

    workdir = Path(args.dir) if args.dir else None
    result = bench.run(
        float(args.scale), runs=args.runs, workdir=workdir, keep=args.keep, spark=not args.no_spark
    )
    print(json.dumps(result, ensure_ascii=False) if args.json else bench.table_text(result))
    return 0


def _add_upload_commands(sub: Any) -> None:
    datasets = list(DATASETS)
    i = sub.add_parser("ingest", help="validate a CSV/XLSX/XLS/ODS/Parquet file and commit it")
    i.add_argument("path", help="the file to load (.csv, .xlsx, .xls, .ods or .parquet)")
    i.add_argument("--dataset", required=True, choices=datasets)
    i.add_argument("--community", required=True, help="the uploading community, e.g. QTX01")
    i.add_argument("--period", help="e.g. 2025-10 or 2025Q3; required with --replace")
    i.add_argument(
        "--replace",
        action="store_true",
        help="also delete the community's rows of the period that the file no longer has",
    )
    i.add_argument("--dry-run", action="store_true", help="validate and preview, write nothing")
    i.add_argument("--sheet", help="workbook sheet name (default: the first sheet)")
    i.add_argument(
        "--max-mb",
        type=float,
        help="size limit for this file in MB, for batch loads "
        "(default: $GOVDASH_MAX_UPLOAD_MB, else 10)",
    )
    i.add_argument("--user", default=getpass.getuser(), help="recorded in the history")
    i.add_argument("--lang", choices=["zh", "en"], default="zh")
    tp = sub.add_parser("template", help="write an upload template")
    tp.add_argument("dataset", choices=datasets)
    tp.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    tp.add_argument("--community", help="the community whose code and grid the example row carries")
    tp.add_argument("--out", required=True, help="file to write")
    tp.add_argument("--lang", choices=["zh", "en"], default="zh")
    h = sub.add_parser("history", help="commits newest first, one JSON object per line")
    h.add_argument("--dataset", choices=datasets)
    h.add_argument("--community", help="only this community's uploads")
    f = sub.add_parser(
        "refresh", help="bring rollups and period values up to the data (after a metric change)"
    )
    f.add_argument("--lang", choices=["zh", "en"], default="zh")
    f.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    f.add_argument("--master", default="local[2]", help="Spark master URL (--engine spark)")
    r = sub.add_parser("rollback", help="restore a dataset version (itself a new version)")
    r.add_argument("target", metavar="DATASET@VERSION", help="e.g. cases@3 (see `history`)")
    r.add_argument("--user", default=getpass.getuser(), help="recorded in the history")
    r.add_argument("--lang", choices=["zh", "en"], default="zh")


@command("report")
def _report(args: argparse.Namespace, store: Store) -> int:
    _require(args, "view_city")
    # Without --period: the latest closed month, as the meeting page opens on.
    day = access.load_targets(store).deadline_day
    period = (
        Period.parse(args.period)
        if args.period
        else access.latest_closed("month", access.clock(store), day)
    )
    # Fix the version first: the printed token is the one the report is built at, even if
    # an upload lands meanwhile (an unknown or partial --version is refused here, exit 2).
    token = review.resolve(store, args.version, args.lang)
    started = periods.now()
    data = access.meeting_report(store, period, args.format, args.principal, token, args.lang)
    Path(args.out).write_bytes(data)
    result = {
        "out": args.out,
        "period": period.code,
        "version": token,
        "generated_at": started.isoformat(timespec="seconds"),
        "bytes": len(data),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _add_report_command(sub: Any) -> None:
    rp = sub.add_parser("report", help="the review meeting report as PDF or XLSX")
    rp.add_argument(
        "--period", help="2025-10, 2025Q3, 2025H1 or 2025 (default: the latest closed month)"
    )
    rp.add_argument("--format", choices=["pdf", "xlsx"], default="pdf")
    rp.add_argument("--out", required=True, help="file to write")
    rp.add_argument("--version", help="rebuild at a data version token printed in a report")
    rp.add_argument("--lang", choices=["zh", "en"], default="zh")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m metrics", description="基层治理数据看板: data layer"
    )
    p.add_argument("--data-dir", help="store location (default: $GOVDASH_DATA_DIR or ./data)")
    p.add_argument(
        "--as-user",
        metavar="EMAIL",
        help="act as this user, with their role and community from the roles document "
        "(without it, the command runs with the full rights of the server's operator)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "demo", help="(re)write the deterministic demo store, <data dir>/demo (never the real one)"
    )
    n = sub.add_parser("init", help="create the real store: empty ledgers and the registers")
    n.add_argument("--communities", metavar="FILE", help="the community register (CSV/XLSX)")
    n.add_argument("--grids", metavar="FILE", help="the grid register (CSV/XLSX)")
    n.add_argument("--user", default=getpass.getuser(), help="recorded in the history")
    n.add_argument("--lang", choices=["zh", "en"], default="zh")
    c = sub.add_parser("check", help="verify the store; exit 0 when consistent, 1 when not")
    c.add_argument("--repair", action="store_true", help="run the recovery first")
    c.add_argument("--lang", choices=["zh", "en"], default="zh")
    a = sub.add_parser("audit", help="the audit log, oldest first (administrators)")
    a.add_argument("--from", dest="date_from", metavar="DATE", help="first day, e.g. 2025-11-01")
    a.add_argument("--to", dest="date_to", metavar="DATE", help="last day, e.g. 2025-11-30")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.add_argument("--lang", choices=["zh", "en"], default="zh")
    s = sub.add_parser("summary", help="headline figures over a range of months")
    s.add_argument("--from", dest="date_from", required=True, help="first month, e.g. 2023-01")
    s.add_argument("--to", dest="date_to", required=True, help="last month, e.g. 2025-12")
    s.add_argument("--community", help="community code, e.g. QTX01")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--lang", choices=["zh", "en"], default="zh")
    _add_upload_commands(sub)
    _add_report_command(sub)
    cli_followups.add_parser(sub)  # followups list|add|answer|...: metrics/cli_followups.py
    cli_notify.add_parsers(sub)  # notify, subscribe
    cli_geo.add_parser(sub)  # boundaries upload|template|show: metrics/cli_geo.py
    b = sub.add_parser("bench", help="time the pages' queries on a synthetic store of N records")
    b.add_argument("--scale", required=True, help="records: 1e5, 1e6, 1e7 or 1e8")
    b.add_argument("--runs", type=int, default=7, help="timed runs per query (p50, p95)")
    b.add_argument("--dir", help="where to build the store (reused if it holds one)")
    b.add_argument("--keep", action="store_true", help="keep the temporary store")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--no-spark", action="store_true", help="no Spark rebuild beside DuckDB's")
    return p


# Commands that make a store or need none; and those that only read, which use the demo
# store when there is no real one (and say so).
_MAKERS = frozenset({"init", "demo", "bench"})
COMMANDS.update(cli_notify.COMMANDS)
_READERS = frozenset({"summary", "report", "history", "template", "audit", "check", "refresh"})
COMMANDS[cli_followups.NAME] = cli_followups.run
_READERS |= {cli_followups.NAME}  # the demo's items listed; its writes refused in words
COMMANDS[cli_geo.NAME] = cli_geo.run
_READERS |= {cli_geo.NAME}  # the demo's boundaries shown; an upload refused in words


def _open(args: argparse.Namespace, lang: str) -> Store | None:
    """The store the command uses (see the module's docstring); None when there is none."""
    root = location.at(args.data_dir) if args.data_dir else data_dir()
    if args.command == "demo":
        return demo.store_at(root)
    real = Store(root)
    if args.command in _MAKERS or real.kind == "real":
        return real
    shown = demo.store_at(root)
    if args.command in _READERS and shown.exists():
        note = t("store_using_demo", lang, path=real.tables_dir, demo=shown.tables_dir)
        print(note, file=sys.stderr)
        return shown
    print(t("store_missing", lang, path=real.tables_dir), file=sys.stderr)
    return None


def _run(args: argparse.Namespace, lang: str) -> int:
    store = _open(args, lang)
    if store is None:
        return 2
    # Without --as-user the command runs with the full rights of the server's operator,
    # recorded under their login name (or --user) in the history and the audit log.
    args.principal = access.operator(getattr(args, "user", None) or getpass.getuser())
    if args.as_user:
        args.principal = access.resolve(store, args.as_user)
        if args.principal is None:
            print(t("cli_unknown_user", lang, user=args.as_user), file=sys.stderr)
            return 2
    if args.command not in _MAKERS | {"check"}:
        access.store_version(store)  # recovery on open: a version comparison when settled
    return COMMANDS[args.command](args, store)


# deltalake's writer (Rust's object_store) prints a panic note on the process's stderr when
# a write fails, e.g. on a full disk ("thread 'tokio-rt-worker' panicked at ...: Already
# shut down", then a backtrace note). The failure itself reaches us as an exception and is
# said in Chinese; the note is noise that reads like a crash, so it is kept off the screen.
_PANIC = re.compile(r"^thread '[^']*'(?: \(\d+\))? panicked at ")
_PANIC_NOTES = ("stack backtrace:", "note: run with `RUST_BACKTRACE", "note: Some details are")


@contextmanager
def _without_rust_panic_notes() -> Iterator[None]:
    """The process's stderr (fd 2) through a filter that drops Rust's panic notes."""
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        skip = False
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(original, "wb", buffering=0) as out:
            for line in pipe:
                text = line.decode("utf-8", "replace")
                if _PANIC.match(text):
                    skip = True  # the panic's own message is the next line
                elif skip or text.startswith(_PANIC_NOTES):
                    skip = False
                else:
                    out.write(line)

    copy = os.dup(original)
    thread = threading.Thread(target=forward, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(copy, 2)  # the pipe's last writer closes: the filter reads to its end
        os.close(copy)
        thread.join(timeout=5)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    lang = getattr(args, "lang", "zh")
    with _without_rust_panic_notes():
        return _main(args, lang)


def _main(args: argparse.Namespace, lang: str) -> int:
    try:
        return _run(args, lang)
    except access.AccessDenied as denied:
        print(denied.message(lang), file=sys.stderr)
        return 2
    except (StoreError, ingest.IngestError) as refused:
        print(refused.message(lang), file=sys.stderr)
        return 2
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        failed = storage_error(exc)
        if failed is None:  # a defect: the traceback to a log file, a plain sentence here
            print(t("cli_internal_error", lang, log=log_defect()), file=sys.stderr)
            return 1
        # A disk error outside a store write (a report's --out, a template): said, not a
        # traceback; the store's own writes say more (StoreError above).
        log.error("%s failed: %s", args.command, exc)
        key = "cli_disk_full" if failed[0] == "full" else "cli_io_failed"
        print(t(key, lang, error=failed[1]), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

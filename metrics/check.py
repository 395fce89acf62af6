"""`python -m metrics check`: is a store consistent? Every table readable; the natural keys
unique across communities in every dataset; every derived table at the data version and
equal to a recomputation from the records; every data version with exactly one audit entry
and no intent left without its outcome; every recovery mark at the data version.

It reads the store as it is (the command runs no recovery before it); `--repair` runs
the recovery (derived.recovery.recover) and checks again.
Decision: docs/decisions/0008-store-kinds-and-recovery.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metrics import i18n, location
from metrics.delta import load_sql, open_table
from metrics.derived import (
    PERIOD_DATASETS,
    PERIOD_VALUES,
    REFLECTS,
    ROLLUPS,
    audit_log,
    city_counts,
    period_table,
    recovery,
    rollups,
)
from metrics.derived.audit_log import COMMITTED, PENDING
from metrics.location import Location
from metrics.queries import CITY_COUNTS
from metrics.schemas import DATASETS
from metrics.store import Store, StoreVersion

SAMPLE = 5  # duplicated keys named in the report


@dataclass(frozen=True)
class Finding:
    ok: bool
    key: str  # a message in messages.yaml
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        return i18n.t(self.key, lang, **self.params)


def run(store: Store) -> list[Finding]:
    """Every finding, good and bad; the store is consistent when all are ok."""
    version = store.version()
    checks: list[Callable[[], list[Finding]]] = [
        lambda: _readable(store),
        lambda: _keys(store, version),
        lambda: _derived(store, version),
        lambda: _audited(store),
        lambda: _marks(store, version),
    ]
    return [finding for check in checks for finding in check()]


def report(store: Store, findings: list[Finding], lang: str = "zh") -> str:
    kind = i18n.t(f"check_kind_{store.kind or 'real'}", lang)
    lines = [i18n.t("check_title", lang, path=store.tables_dir, kind=kind)]
    lines += [("✓ " if f.ok else "✗ ") + f.message(lang) for f in findings]
    bad = sum(not f.ok for f in findings)
    lines.append(
        i18n.t("check_inconsistent", lang, count=bad) if bad else i18n.t("check_consistent", lang)
    )
    return "\n".join(lines)


# -- every table readable ------------------------------------------------------------------
def _readable(store: Store) -> list[Finding]:
    logs: list[Location] = sorted(store.tables_dir.rglob("_delta_log"), key=str)
    tables = [p.parent for p in logs if p.is_dir()]
    bad = []
    for path in tables:
        try:
            table = open_table(path)
            for uri in table.file_uris() if table is not None else []:
                location.read_parquet(uri)
        except Exception as exc:  # any failure to read is the finding
            name = str(path).removeprefix(f"{store.tables_dir}/")
            bad.append(Finding(False, "check_unreadable", {"table": name, "error": exc}))
    return bad or [Finding(True, "check_readable", {"count": len(tables)})]


# -- natural keys --------------------------------------------------------------------------
def _keys(store: Store, version: StoreVersion) -> list[Finding]:
    con = store.connect(version, rollups=False)
    bad = []
    try:
        for name, spec in DATASETS.items():
            key = ", ".join(spec.key)  # identifiers from the contract
            duplicated = (
                f"SELECT concat_ws('/', {key}) AS k, string_agg(DISTINCT community_id, '、')"
                f" FROM {name} GROUP BY {key} HAVING count(*) > 1 ORDER BY k"
            )
            rows = con.execute(duplicated).fetchall()
            if rows:
                examples = "；".join(f"{k}（{c}）" for k, c in rows[:SAMPLE])
                params = {"dataset": name, "count": len(rows), "examples": examples}
                bad.append(Finding(False, "check_keys_duplicate", params))
    finally:
        con.close()
    return bad or [Finding(True, "check_keys_unique", {"datasets": "、".join(DATASETS)})]


# -- derived tables ------------------------------------------------------------------------
def _derived(store: Store, version: StoreVersion) -> list[Finding]:
    bad = []
    for dataset, tables in ROLLUPS.items():
        data = version.of(dataset)
        if data < 0:
            continue
        for name in tables:
            bad += _table_at(store, f"_rollups/{name}", name, data, _rollup_differs)
        if store.files(dataset, data):  # an empty ledger has no city counts
            name = CITY_COUNTS[dataset]
            bad += _table_at(store, f"_rollups/{name}", name, data, _counts_differs)
    if any(version.of(d) >= 0 for d in PERIOD_DATASETS):
        bad += _period_values(store, version)
    shown = "、".join(f"{d}@{version.of(d)}" for d in ROLLUPS)
    return bad or [Finding(True, "check_derived_current", {"versions": shown})]


def _table_at(
    store: Store, label: str, name: str, data: int, differs: Callable[[Store, str, int], int]
) -> list[Finding]:
    """A derived table whose newest version must reflect `data` and equal a recount."""
    table = open_table(store.rollup_path(name))
    reflects = table.history(limit=1)[0].get(REFLECTS) if table is not None else None
    if reflects is None:
        return [Finding(False, "check_derived_missing", {"table": label, "version": data})]
    if int(reflects) != data:
        params = {"table": label, "reflects": reflects, "version": data}
        return [Finding(False, "check_derived_behind", params)]
    count = differs(store, name, data)
    return [Finding(False, "check_derived_differs", {"table": label, "count": count})] * bool(count)


def _symmetric_difference(con: Any, expected: str, stored: list[str], params: Any) -> int:
    """Rows in one of the two and not the other (each counted with its multiplicity)."""
    # `expected` is our own SQL (rollups.recompute_sql, city_counts.recount), values bound.
    made = f"CREATE OR REPLACE TEMP TABLE _expected AS {expected}"
    con.execute(made, params)
    columns = ", ".join(con.sql("SELECT * FROM _expected").columns)  # names from our SQL
    if stored:
        kept = f"CREATE OR REPLACE TEMP TABLE _stored AS SELECT {columns} FROM read_parquet($files)"
        con.execute(kept, {"files": stored})
    else:  # a table with no rows has no files
        con.execute("CREATE OR REPLACE TEMP TABLE _stored AS SELECT * FROM _expected LIMIT 0")
    row = con.execute(
        "SELECT count(*) FROM ((SELECT * FROM _expected EXCEPT ALL SELECT * FROM _stored)"
        " UNION ALL (SELECT * FROM _stored EXCEPT ALL SELECT * FROM _expected))"
    ).fetchone()
    return int(row[0]) if row else 0


def _rollup_differs(store: Store, name: str, data: int) -> int:
    dataset = next(d for d, tables in ROLLUPS.items() if name in tables)
    files = rollups.files_reflecting(store, name, data) or []
    con = store.records_connection(dataset, data)
    try:
        load_sql(con, "_rollups.sql")
        return _symmetric_difference(con, rollups.recompute_sql(name), files, None)
    finally:
        con.close()


def _counts_differs(store: Store, name: str, data: int) -> int:
    dataset = next(d for d, n in CITY_COUNTS.items() if n == name)
    files = rollups.files_reflecting(store, name, data) or []
    statement, params = city_counts.recount(store, dataset, data)
    con = store.bare_connection()
    try:
        return _symmetric_difference(con, statement, files, params)
    finally:
        con.close()


def _period_values(store: Store, version: StoreVersion) -> list[Finding]:
    label = f"_rollups/{PERIOD_VALUES}"
    at = period_table.files_at(store, version)
    built = period_table.compute(store, version)
    if at is None and built is None:  # no events yet: no table of period values
        return []
    if at is None:
        wanted = "、".join(f"{d}@{version.of(d)}" for d in PERIOD_DATASETS)
        return [Finding(False, "check_derived_missing", {"table": label, "version": wanted})]
    expected = built[0].to_pandas() if built is not None else None
    stored = location.read_parquet(at[0]).to_pandas() if at[0] else None
    count = _frames_differ(expected, stored)
    return [Finding(False, "check_derived_differs", {"table": label, "count": count})] * bool(count)


def _frames_differ(expected: Any, stored: Any) -> int:
    """Rows of the period values that differ (beyond float rounding) or are in one only."""
    if expected is None or stored is None:
        return len(expected if expected is not None else stored if stored is not None else [])
    keys = ["community_id", "kind", "period_start"]
    stored = stored[list(expected.columns)].astype({"kind": str})
    both = expected.merge(stored, on=keys, how="outer", suffixes=("", "_s"), indicator=True)
    alone = int((both["_merge"] != "both").sum())
    values = [c for c in expected.columns if c not in (*keys, "year")]
    left = both[values].to_numpy(dtype=float)
    right = both[[f"{c}_s" for c in values]].to_numpy(dtype=float)
    close = np.isclose(left, right, rtol=1e-9, atol=1e-12, equal_nan=True)
    return alone + int((~close.all(axis=1) & (both["_merge"] == "both").to_numpy()).sum())


# -- audit entries and marks ---------------------------------------------------------------
def _audited(store: Store) -> list[Finding]:
    entries = audit_log.entries(store)
    bad = []
    total = 0
    for dataset in DATASETS:
        versions = [int(c["version"]) for c in store.history(dataset)]
        total += len(versions)
        ours = entries[entries["dataset"] == dataset]
        counts = ours[ours["status"] == COMMITTED]["version"].value_counts()
        missing = sorted(v for v in versions if counts.get(v, 0) == 0)
        twice = sorted(v for v in versions if counts.get(v, 0) > 1)
        if missing:
            params = {"dataset": dataset, "versions": _numbers(missing)}
            bad.append(Finding(False, "check_unaudited", params))
        if twice:
            params = {"dataset": dataset, "versions": _numbers(twice)}
            bad.append(Finding(False, "check_audited_twice", params))
        pending = int((ours["status"] == PENDING).sum())
        if pending:
            bad.append(Finding(False, "check_open_intents", {"dataset": dataset, "count": pending}))
    return bad or [Finding(True, "check_audited", {"count": total})]


def _numbers(versions: list[int]) -> str:
    shown = "、".join(str(v) for v in versions[:20])
    return shown + ("…" if len(versions) > 20 else "")


def _marks(store: Store, version: StoreVersion) -> list[Finding]:
    bad = []
    for dataset, data in version.tables:
        mark = recovery.read_mark(store, dataset)
        if data >= 0 and (mark is None or mark.version != data or mark.pending):
            params = {"dataset": dataset, "mark": mark.version if mark else "—", "version": data}
            bad.append(Finding(False, "check_marks_behind", params))
    return bad

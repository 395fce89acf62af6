"""Preview and commit a valid upload: the diff against the latest stored rows by natural key,
then one atomic Delta commit (or none, when nothing changed) with its audit intent, the raw
file kept beside it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics import location
from metrics.derived import recovery
from metrics.derived.audit_log import Actor, Intent
from metrics.i18n import t
from metrics.ingest.cells import quarters_in
from metrics.ingest.lookups import fetch_arrow, keys_elsewhere
from metrics.ingest.problems import IngestError
from metrics.ingest.validation import Validation
from metrics.location import Location
from metrics.schemas import DATASETS, Dataset
from metrics.store import Store, StoreError, periods_of


@dataclass(frozen=True)
class Diff:
    """What a commit would do to the community's stored rows."""

    new: pa.Table  # key columns of rows not stored yet
    changed: pa.Table  # key columns + changed_fields (list of field names)
    unchanged: int
    deleted: pa.Table  # key columns of rows that `replace` removes
    row_status: pa.Array  # per upload row: "new", "changed" or "unchanged"
    # The first PREVIEW_ROWS new and changed rows themselves, as uploaded, and the stored
    # values of those changed rows (same columns), for the clerk to see before committing.
    new_rows: pa.Table | None = None
    changed_rows: pa.Table | None = None
    changed_before: pa.Table | None = None

    def marked_changes(
        self, after: pd.DataFrame | None = None, before: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """The first changed rows, each changed cell as "旧值 → 新值" (— for empty). `after`
        and `before` are changed_rows and changed_before as the reader sees them (headers
        and values in their language, same columns in the same order); as stored if not
        given."""
        if self.changed_rows is None or self.changed_before is None:
            return pd.DataFrame()
        names = self.changed_rows.column_names
        after = self.changed_rows.to_pandas() if after is None else after
        before = self.changed_before.to_pandas() if before is None else before
        out = after.astype(object).copy()
        fields = self.changed.column("changed_fields").to_pylist()[: len(out)]
        marked = {names.index(name) for changed in fields for name in changed}
        for col in marked:  # a column with a marked cell is text throughout (one type)
            out.iloc[:, col] = [_text(v) for v in after.iloc[:, col]]
        for row, changed in enumerate(fields):
            for name in changed:
                col = names.index(name)
                old, new = before.iat[row, col], after.iat[row, col]
                out.iat[row, col] = f"{_text(old)} → {_text(new)}"
        return out

    @property
    def is_empty(self) -> bool:
        return not (self.new.num_rows or self.changed.num_rows or self.deleted.num_rows)

    def counts(self) -> dict[str, int]:
        return {
            "new": self.new.num_rows,
            "changed": self.changed.num_rows,
            "unchanged": self.unchanged,
            "deleted": self.deleted.num_rows,
        }


@dataclass(frozen=True)
class CommitResult:
    """What commit() did: the table's version after it, and the diff it applied."""

    dataset: str
    version: int  # the table version after the commit (unchanged when nothing changed)
    committed: bool  # False when the data were identical and no version was written
    diff: Diff
    upload_path: Location


def preview(store: Store, validation: Validation, replace: bool = False) -> Diff:
    """Compare the upload with the latest stored rows by natural key; nothing is written."""
    spec, rows = _checked(validation, replace)
    key = list(spec.key)
    others = [f.name for f in spec.fields if f.name not in spec.key]
    con = store.connect(rollups=False)
    try:
        con.register(
            "upload", rows.append_column("_i", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
        )
        on = " AND ".join(f"u.{k} = s.{k}" for k in key)
        distinct = ", ".join(
            f"CASE WHEN u.{c} IS DISTINCT FROM s.{c} THEN '{c}' END" for c in others
        )
        stored = "".join(f", s.{c} AS _old_{c}" for c in others)
        # New rows have nothing to differ from (and their changed_fields are never read).
        statement = (
            f"SELECT u._i, s.{key[0]} IS NULL AS is_new, "
            f"CASE WHEN s.{key[0]} IS NULL THEN []::VARCHAR[] "
            f"ELSE list_filter([{distinct}], lambda x: x IS NOT NULL) END AS changed_fields"
            f"{stored} "
            f"FROM upload u LEFT JOIN {spec.name} s ON {on} ORDER BY u._i"
        )
        joined = fetch_arrow(con, statement)
        deleted = _to_delete(con, spec, validation, key) if replace else None
    finally:
        con.close()
    is_new = joined.column("is_new").combine_chunks()
    fields = joined.column("changed_fields")
    has_change = pc.greater(pc.list_value_length(fields), 0)
    is_changed = pc.and_(pc.invert(is_new), has_change)
    status = pc.if_else(is_new, "new", pc.if_else(is_changed, "changed", "unchanged"))
    keys = rows.select(key)
    changed = keys.filter(is_changed).append_column("changed_fields", fields.filter(is_changed))
    return Diff(
        new=keys.filter(is_new),
        changed=changed,
        unchanged=int(pc.sum(pc.equal(status, "unchanged")).as_py() or 0),
        deleted=deleted if deleted is not None else rows.select(key).slice(0, 0),
        row_status=status,
        **_samples(rows, joined, is_new, is_changed, key),
    )


PREVIEW_ROWS = 20


def _samples(
    rows: pa.Table, joined: pa.Table, is_new: pa.Array, is_changed: pa.Array, key: list[str]
) -> dict[str, pa.Table]:
    """The first PREVIEW_ROWS new rows, changed rows and the stored values of those."""
    first_new = pc.indices_nonzero(is_new).slice(0, PREVIEW_ROWS)
    first_changed = pc.indices_nonzero(is_changed).slice(0, PREVIEW_ROWS)
    changed = rows.take(first_changed)
    stored = {}
    for name in rows.column_names:
        old = f"_old_{name}"
        if name in key or old not in joined.column_names:  # the key is what matched
            stored[name] = changed.column(name)
        else:
            column = joined.column(old).take(first_changed)
            stored[name] = column.cast(changed.schema.field(name).type)
    return {
        "new_rows": rows.take(first_new),
        "changed_rows": changed,
        "changed_before": pa.table(stored),
    }


def _text(value: object) -> str:
    """A cell of the change preview: — for empty, ✓/✗ for yes/no, else as it reads."""
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else "✗"
    return "—" if value is None or value is pd.NaT or value == "" or value != value else str(value)


def _checked(validation: Validation, replace: bool) -> tuple[Dataset, pa.Table]:
    if not validation.ok or validation.rows is None:
        raise ValueError(t("ingest_not_valid", "en"))
    spec = DATASETS[validation.dataset]
    if replace and spec.period_field is None:
        raise ValueError(t("ingest_replace_no_period", "en", dataset=spec.name))
    if replace and validation.period is None:
        raise ValueError(t("ingest_replace_needs_period", "en"))
    if replace and rows_in_period(validation) == 0:
        # Most likely the wrong period was picked: replacing would delete that period's
        # records and keep none of it.
        assert validation.period is not None
        raise IngestError("ingest_replace_outside", period=validation.period.code)
    return spec, validation.rows


def rows_in_period(validation: Validation) -> int:
    """How many of the file's rows fall in the period chosen for it (by the dataset's period
    field: a date, a month or a quarter)."""
    spec = DATASETS[validation.dataset]
    period = validation.period
    if validation.rows is None or period is None or spec.period_field is None:
        return 0
    column = validation.rows.column(spec.period_field)
    if spec.field(spec.period_field).type == "quarter":
        inside = pc.is_in(column, pa.array(quarters_in(period.start, period.end)))
    else:
        start, end = (pa.scalar(d, pa.date32()) for d in (period.start, period.end))
        inside = pc.and_(pc.greater_equal(column, start), pc.less_equal(column, end))
    return int(pc.sum(pc.cast(pc.fill_null(inside, False), pa.int64())).as_py() or 0)


def _to_delete(con: Any, spec: Dataset, validation: Validation, key: list[str]) -> pa.Table:
    """Stored rows of the community in the period that the upload no longer has."""
    assert validation.period is not None and spec.period_field is not None
    period = validation.period
    columns = ", ".join(f"s.{k}" for k in key)
    on = " AND ".join(f"u.{k} = s.{k}" for k in key)
    column = f"s.{spec.period_field}"
    if spec.field(spec.period_field).type == "quarter":
        in_period = f"list_contains($quarters, {column})"
        params: dict[str, Any] = {"quarters": quarters_in(period.start, period.end)}
    else:
        in_period = f"{column} BETWEEN $start AND $end"
        params = {"start": period.start, "end": period.end}
    statement = (
        f"SELECT {columns} FROM {spec.name} s WHERE s.community_id = $community "
        f"AND {in_period} AND NOT EXISTS (SELECT 1 FROM upload u WHERE {on}) ORDER BY {columns}"
    )
    params["community"] = validation.community_id
    return fetch_arrow(con, statement, params)


def commit(
    store: Store, validation: Validation, *, user: str | Actor, replace: bool = False
) -> CommitResult:
    """Upsert the community's rows in one Delta commit; identical data write no version.

    Under the dataset's lock, after recovery (metrics/derived/recovery.py), the diff and
    the keys other communities hold are read from the latest commit; then the audit intent
    is written, the commit made, and what follows from it brought up to it. The demo store
    refuses; a full disk or another failed write is an IngestError that says whether the
    data were committed. The raw file is kept as <data dir>/uploads/<dataset>/<sha256>.<ext>
    (never under the uploaded name, which is only recorded in the commit's metadata).
    """
    spec, rows = _checked(validation, replace)
    actor = user if isinstance(user, Actor) else Actor(user)
    try:
        with recovery.writing(store, spec.name), ThreadPoolExecutor(max_workers=1) as pool:
            if store.is_demo:
                raise StoreError("store_demo_read_only")
            # The raw file is written while the preview reads the store (disk beside CPU),
            # and is on disk before anything is committed.
            kept = pool.submit(keep_upload, store, validation)
            diff = preview(store, validation, replace=replace)
            upload_path, new_file = kept.result()
            if diff.is_empty:
                version = store.table_version(spec.name)
                return CommitResult(spec.name, version, False, diff, upload_path)
            # Validation refused keys another community held then; another may have
            # committed one since. Under the lock, of two communities sending the same new
            # id only the first gets it.
            taken = _keys_taken(store, spec, rows, validation.community_id)
            if taken:
                if new_file:
                    upload_path.unlink(missing_ok=True)
                raise IngestError("ingest_key_taken", count=len(taken), keys="、".join(taken[:10]))
            version = _upsert(store, validation, diff, actor, replace)
    except StoreError as failed:
        raise IngestError(failed.key, **failed.params) from failed
    return CommitResult(spec.name, version, True, diff, upload_path)


def _upsert(store: Store, validation: Validation, diff: Diff, actor: Actor, replace: bool) -> int:
    """The commit itself, with its metadata and its audit intent."""
    spec, rows = _checked(validation, replace)
    source = rows if replace else rows.filter(pc.not_equal(diff.row_status, "unchanged"))
    counts = diff.counts()
    period = validation.period
    what = {
        "dataset": spec.name,
        "community_id": validation.community_id,
        "period": period.code if period else "",
        "periods": ",".join(periods_of(spec, rows)),  # every row of the file, changed or not
        "file_name": validation.file_name,
        "file_sha256": validation.file_sha256,
    }
    meta = {
        "user": actor.user,
        "role": actor.role or "",
        **what,
        "replace": "true" if replace else "false",
        **{f"rows_{k}": str(v) for k, v in counts.items()},
    }
    return store.upsert(
        spec.name,
        source,
        community_id=validation.community_id,
        replace_period=(period.start, period.end) if replace and period else None,
        meta=meta,
        intent=Intent(actor, "upload", {**what, "replace": replace, **counts}),
    )


def _keys_taken(store: Store, spec: Dataset, rows: pa.Table, community_id: str) -> list[str]:
    """Keys of `rows` that the latest version holds under another community."""
    if "community_id" in spec.key:
        return []
    con = store.connect(rollups=False)
    try:
        found = keys_elsewhere(con, spec, rows, community_id)
    finally:
        con.close()
    return [str(k) for k in rows.column(spec.key[0]).take(found).to_pylist()]


def keep_upload(store: Store, validation: Validation) -> tuple[Location, bool]:
    """The raw file kept beside the history, and whether this call wrote it."""
    folder = store.root / "uploads" / validation.dataset
    path = folder / f"{validation.file_sha256}.{validation.file_format}"
    if path.exists():
        return path, False
    location.write_atomic(path, validation.data)
    return path, True

"""Uploads as the page and the command line make them: templates, validation, preview,
commit, history and rollback, each checked against the principal's rights first.

A clerk uploads for their own community only; the community register and rollbacks are an
administrator's. Commits and rollbacks leave an entry in the audit log, written with them;
the demo store takes neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from metrics import ingest, readers, templates
from metrics.access.principals import Principal, check_upload, require, scope_for
from metrics.catalog import Scope
from metrics.derived.audit_log import Actor
from metrics.ingest import CommitResult, Diff, Validation
from metrics.periods import Period
from metrics.store import Store


@dataclass(frozen=True)
class TemplateFile:
    fmt: templates.TemplateFormat
    data: bytes
    file_name: str
    mime: str


_TEMPLATE_MIMES: dict[templates.TemplateFormat, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


def upload_templates(
    store: Store, dataset: str, community_id: str, lang: str, by: Principal
) -> list[TemplateFile]:
    """The XLSX and CSV templates for `community_id`: its code and one of its grids."""
    check_upload(by, dataset, community_id)
    grid = templates.example_grid(store, community_id)
    return [
        TemplateFile(
            fmt,
            templates.template(dataset, fmt, lang, community_id=community_id, grid_id=grid),
            templates.template_filename(dataset, fmt, lang),
            mime,
        )
        for fmt, mime in _TEMPLATE_MIMES.items()
    ]


def max_upload_bytes() -> int:
    """The largest file an upload may be ($GOVDASH_MAX_UPLOAD_MB, default 10 MB)."""
    return readers.max_upload_bytes()


def upload_sheets(data: bytes, by: Principal) -> list[str]:
    """The sheets of an uploaded workbook, to choose from ([] for CSV or a damaged file)."""
    require(by, "upload")
    return readers.sheet_names(data)


def validate_upload(
    store: Store,
    data: bytes,
    file_name: str,
    dataset: str,
    community_id: str,
    by: Principal,
    *,
    period: Period | None = None,
    sheet: str | None = None,
    today: dt.date | None = None,
    progress: ingest.Progress | None = None,
) -> Validation:
    """Every problem of an upload for `community_id`; nothing is written."""
    check_upload(by, dataset, community_id)
    return ingest.validate(
        data,
        file_name,
        dataset,
        community_id,
        store,
        period=period,
        sheet=sheet,
        today=today,
        progress=progress,
    )


def annotated_file(validation: Validation, lang: str = "zh") -> tuple[bytes, str]:
    """The uploaded file with each problem written beside its row: (bytes, file name)."""
    return ingest.annotated_file(validation, lang)


def preview_upload(
    store: Store, validation: Validation, by: Principal, *, replace: bool = False
) -> Diff:
    """What committing `validation` would change; nothing is written."""
    check_upload(by, validation.dataset, validation.community_id)
    return ingest.preview(store, validation, replace=replace)


def commit_upload(
    store: Store, validation: Validation, by: Principal, *, replace: bool = False
) -> CommitResult:
    """Commit a valid upload; its audit entry is written with it (an intent before the
    commit, its outcome after: metrics/derived/audit_log.py). The demo store refuses."""
    check_upload(by, validation.dataset, validation.community_id)
    return ingest.commit(store, validation, user=actor(by), replace=replace)


def upload_history(
    store: Store, dataset: str, community_id: str | None, by: Principal
) -> list[dict[str, Any]]:
    """The commits of `dataset` for a community (a clerk: their own; None: every community
    for those who see the city), newest first, with rollbacks and whole-table loads."""
    require(by, "upload")
    return ingest.history(store, dataset, scope_for(by, Scope(community_id)).community_id)


def rollback_preview(
    store: Store, dataset: str, version: int, by: Principal
) -> list[dict[str, Any]]:
    """The commits, of every community, that restoring `dataset` to `version` undoes."""
    require(by, "admin")
    return ingest.rollback_preview(store, dataset, version)


def rollback(store: Store, dataset: str, version: int, by: Principal) -> int:
    """Restore `dataset` as it was at `version` (administrators), audited like an upload."""
    require(by, "admin")
    return ingest.rollback(store, dataset, version, user=actor(by))


def actor(by: Principal) -> Actor:
    """Who a commit's history and audit entry name."""
    return Actor(by.user, by.role, by.community_id)

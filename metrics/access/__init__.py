"""Who may see and change what: roles, community scoping and the audit log, and the one
door through which the pages reach the data.

Leaders see the whole city; a community clerk submits and sees only their own community's
records; an administrator manages targets, the registry, users and rollbacks. The rules are
enforced here, in the data layer, by `Reader` (every page query goes through it) and
`require`: a page that forgot to hide something still gets nothing it may not show. The
pages import nothing else of `metrics` but i18n, periods and schemas (import contract in
pyproject.toml).

The parts: `principals` (roles, rights, checks), `roles` (the roles document), `audit`,
`reader` (the store handle and the scoped reads), `uploads`, `meetings` (review and
report), `admin` (targets, refresh), `metadata` (metric facts, comparisons, target cues)
and `exports` (CSV/XLSX bytes).
"""

from metrics.access.admin import (
    TARGET_NUMBERS,
    refresh,
    save_targets,
    targets_frame,
    targets_from_frame,
    targets_history,
)
from metrics.access.audit import AUDIT_TABLE, audit, audit_log, audit_refused
from metrics.access.exports import csv_bytes, xlsx_bytes
from metrics.access.meetings import (
    LEAGUE_PUBLIC,
    headline_rows,
    is_missing,
    meeting_report,
    meeting_review,
    report_file_name,
)
from metrics.access.metadata import (
    SCORE_COLOUR,
    TARGET_ICONS,
    compared_periods,
    load_targets,
    metric,
    target_cue,
    target_status,
    targets_version,
)
from metrics.access.principals import (
    ADMIN_DATASETS,
    DEFAULT_SETTINGS,
    PERMISSIONS,
    ROLES,
    AccessDenied,
    Action,
    Principal,
    Role,
    check_upload,
    may_see_ranking,
    operator,
    require,
    scope_for,
)
from metrics.access.reader import (
    Connection,
    Reader,
    connect,
    ensure_demo,
    is_demo,
    open_store,
    store_version,
)
from metrics.access.roles import ROLES_TABLE, load_roles, resolve, save_roles, validate_roles
from metrics.access.uploads import (
    TemplateFile,
    annotated_file,
    commit_upload,
    max_upload_bytes,
    preview_upload,
    rollback,
    rollback_preview,
    upload_history,
    upload_sheets,
    upload_templates,
    validate_upload,
)
from metrics.catalog import By, Metric, Scope
from metrics.ingest import CommitResult, Diff, IngestError, Validation
from metrics.review import Review
from metrics.store import Store, StoreVersion
from metrics.targets import Targets, TargetsError

__all__ = [
    "ADMIN_DATASETS",
    "AUDIT_TABLE",
    "DEFAULT_SETTINGS",
    "LEAGUE_PUBLIC",
    "PERMISSIONS",
    "ROLES",
    "ROLES_TABLE",
    "SCORE_COLOUR",
    "TARGET_ICONS",
    "TARGET_NUMBERS",
    "AccessDenied",
    "Action",
    "By",
    "CommitResult",
    "Connection",
    "Diff",
    "IngestError",
    "Metric",
    "Principal",
    "Reader",
    "Review",
    "Role",
    "Scope",
    "Store",
    "StoreVersion",
    "Targets",
    "TargetsError",
    "TemplateFile",
    "Validation",
    "annotated_file",
    "audit",
    "audit_log",
    "audit_refused",
    "check_upload",
    "commit_upload",
    "compared_periods",
    "connect",
    "csv_bytes",
    "ensure_demo",
    "headline_rows",
    "is_demo",
    "is_missing",
    "load_roles",
    "load_targets",
    "max_upload_bytes",
    "may_see_ranking",
    "meeting_report",
    "meeting_review",
    "metric",
    "open_store",
    "operator",
    "preview_upload",
    "refresh",
    "report_file_name",
    "require",
    "resolve",
    "rollback",
    "rollback_preview",
    "save_roles",
    "save_targets",
    "scope_for",
    "store_version",
    "target_cue",
    "target_status",
    "targets_frame",
    "targets_from_frame",
    "targets_history",
    "targets_version",
    "upload_history",
    "upload_sheets",
    "upload_templates",
    "validate_roles",
    "validate_upload",
    "xlsx_bytes",
]

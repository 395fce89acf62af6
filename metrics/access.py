"""Who may see and change what: roles, community scoping and the audit log.

Leaders see the whole city; a community clerk submits and sees only their own community's
records; an administrator manages targets, the registry, users and rollbacks. The rules are
enforced here, in the data layer, by `Reader` (every page query goes through it) and
`require`: a page that forgot to hide something still gets nothing it may not show.

The roles document lives in the store (side table `_roles`, versioned): users by e-mail or
OIDC subject → role and community, plus settings. `GOVDASH_ADMINS` (comma-separated) names
administrators who are admins whatever the document says, so a new install can be set up.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import pandas as pd
import pyarrow as pa

from metrics import catalog, ingest, queries, review, targets
from metrics.catalog import Scope
from metrics.i18n import t
from metrics.periods import Period
from metrics.schemas import CODE_PATTERN
from metrics.store import Store

Role = Literal["leader", "clerk", "admin"]
ROLES: tuple[Role, ...] = ("leader", "clerk", "admin")
Action = Literal["view_city", "upload", "upload_any", "admin"]

# What each role may do. Viewing one's own community is implied for everybody with a role.
PERMISSIONS: dict[str, frozenset[str]] = {
    "leader": frozenset({"view_city"}),
    "clerk": frozenset({"upload"}),
    "admin": frozenset({"view_city", "upload", "upload_any", "admin"}),
}
# Uploads only an administrator may make: the community register is the city's.
ADMIN_DATASETS = frozenset({"communities"})
ROLES_TABLE = "_roles"
AUDIT_TABLE = "_audit"
# What a clerk may see of the city-wide league table (names and scores only).
LEAGUE_PUBLIC = ("rank", "rank_change", "community_id", "community", "score")
DEFAULT_SETTINGS: dict[str, Any] = {
    # Clerks may see the city-wide ranking of communities: names and scores only.
    "clerks_see_ranking": True,
}


class AccessDenied(Exception):
    """The principal may not do or see this. `key` is a message in messages.yaml."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(t(key, "en", **params))
        self.key = key
        self.params = params

    def message(self, lang: str = "zh") -> str:
        return t(self.key, lang, **self.params)


@dataclass(frozen=True)
class Principal:
    """An authenticated user with a role; clerks are bound to one community."""

    user: str
    role: Role
    community_id: str | None = None
    name: str = ""
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS), hash=False)

    def can(self, action: Action) -> bool:
        return action in PERMISSIONS[self.role]

    @property
    def key(self) -> str:
        """A stable text for cache keys: results differ by role and community."""
        return f"{self.role}:{self.community_id or '*'}:{self.user}"


def operator(user: str) -> Principal:
    """Whoever runs the command line on the server without --as-user: every right."""
    return Principal(user, "admin", name="operator")


def require(principal: Principal, action: Action) -> None:
    if not principal.can(action):
        raise AccessDenied("access_denied_action", action=action)


def may_see_ranking(principal: Principal) -> bool:
    """Whether the city-wide league (names and scores only) may be shown."""
    return principal.can("view_city") or bool(principal.settings.get("clerks_see_ranking"))


def scope_for(principal: Principal, requested: Scope) -> Scope:
    """The scope a query may cover: a clerk's is always their own community."""
    if principal.can("view_city"):
        return requested
    if requested.community_id not in (None, principal.community_id):
        raise AccessDenied("access_denied_community", community=requested.community_id)
    return Scope(principal.community_id, requested.grid_id)


def check_upload(principal: Principal, dataset: str, community_id: str) -> None:
    """May `principal` upload `dataset` for `community_id`? Raises AccessDenied if not."""
    require(principal, "upload")
    if dataset in ADMIN_DATASETS:
        require(principal, "admin")
    if not principal.can("upload_any") and community_id != principal.community_id:
        raise AccessDenied("access_denied_community", community=community_id)


# -- changes, checked and audited ------------------------------------------------------------
# The pages and the CLI change the store only through these: each checks the principal's
# rights here, in the data layer, and leaves an entry in the audit log.
def commit_upload(
    store: Store, validation: ingest.Validation, by: Principal, *, replace: bool = False
) -> ingest.CommitResult:
    check_upload(by, validation.dataset, validation.community_id)
    result = ingest.commit(store, validation, user=by.user, replace=replace)
    if result.committed:
        audit(
            store,
            by,
            "upload",
            dataset=result.dataset,
            community_id=validation.community_id,
            version=result.version,
            file_name=validation.file_name,
            file_sha256=validation.file_sha256,
            replace=replace,
            **result.diff.counts(),
        )
    return result


def rollback(store: Store, dataset: str, version: int, by: Principal) -> int:
    require(by, "admin")
    new = ingest.rollback(store, dataset, version, user=by.user)
    audit(store, by, "rollback", dataset=dataset, to=version, version=new)
    return new


def save_targets(store: Store, document: targets.Targets, by: Principal) -> int:
    require(by, "admin")
    version = targets.save(store, document, by.user)
    audit(store, by, "targets_changed", version=version)
    return version


def refresh(store: Store, by: Principal) -> None:
    require(by, "admin")
    store.refresh_all()
    audit(store, by, "refresh", version=store.version().token)


# -- the review meeting, as the principal may see it ----------------------------------------
def meeting_review(store: Store, period: Period, by: Principal, lang: str = "zh") -> review.Review:
    """The whole review for those who see the city; for clerks (when the setting allows)
    the league's names and scores only, every other section empty."""
    if by.can("view_city"):
        return review.review(store, period, lang=lang)
    if not may_see_ranking(by):
        raise AccessDenied("access_denied_action", action="view_city")
    return review.league_only(review.review(store, period, lang=lang), LEAGUE_PUBLIC)


def meeting_report(
    store: Store,
    period: Period,
    fmt: Any,
    by: Principal,
    version: str | None = None,
    lang: str = "zh",
) -> bytes:
    """The meeting report (PDF/XLSX): every community's figures, so the city's readers only."""
    from metrics import report  # fpdf2 and xlsxwriter load only when a report is made

    require(by, "view_city")
    return report.build_report(store, period, fmt, version, lang)


# -- the roles document ----------------------------------------------------------------------
def load_roles(store: Store) -> dict[str, Any]:
    document, _version = store.read_document(ROLES_TABLE)
    document = document or {}
    return {
        "users": list(document.get("users", [])),
        "settings": {**DEFAULT_SETTINGS, **document.get("settings", {})},
    }


def validate_roles(document: dict[str, Any], communities: set[str], lang: str = "zh") -> list[str]:
    """Problems with a roles document, as messages for the admin page."""
    problems = []
    seen: set[str] = set()
    for i, entry in enumerate(document.get("users", []), start=1):
        user = str(entry.get("user") or "").strip().lower()
        role = entry.get("role")
        community = entry.get("community_id") or None
        if not user:
            problems.append(t("roles_missing_user", lang, row=i))
        elif user in seen:
            problems.append(t("roles_duplicate_user", lang, row=i, user=user))
        seen.add(user)
        if role not in ROLES:
            problems.append(t("roles_bad_role", lang, row=i, role=role))
        if role == "clerk" and (community is None or community not in communities):
            problems.append(t("roles_clerk_community", lang, row=i, community=community))
    return problems


def save_roles(store: Store, document: dict[str, Any], by: Principal) -> int:
    require(by, "admin")
    users = [
        {
            "user": str(u["user"]).strip().lower(),
            "role": u["role"],
            "community_id": u.get("community_id") or None,
            "name": str(u.get("name") or ""),
        }
        for u in document.get("users", [])
    ]
    clean = {"users": users, "settings": {**DEFAULT_SETTINGS, **document.get("settings", {})}}
    version = store.write_document(ROLES_TABLE, clean, by.user)
    audit(store, by, "roles_changed", version=version, users=len(users))
    return version


def resolve(store: Store, *identities: str | None) -> Principal | None:
    """The principal for a login (its e-mail and/or subject); None for an unknown user."""
    wanted = [i.strip().lower() for i in identities if i]
    roles = load_roles(store)
    admins = {
        a.strip().lower() for a in os.environ.get("GOVDASH_ADMINS", "").split(",") if a.strip()
    }
    for identity in wanted:
        if identity in admins:
            return Principal(identity, "admin", settings=roles["settings"])
    for entry in roles["users"]:
        if entry["user"] in wanted:
            community = entry.get("community_id")
            if entry["role"] == "clerk" and not (community and re.match(CODE_PATTERN, community)):
                return None  # a clerk without a valid community sees nothing
            return Principal(
                entry["user"], entry["role"], community, entry.get("name", ""), roles["settings"]
            )
    return None


# -- the audit log ---------------------------------------------------------------------------
_AUDIT_SCHEMA = pa.schema(
    [
        ("at", pa.timestamp("ms", tz="UTC")),
        ("user", pa.string()),
        ("role", pa.string()),
        ("community_id", pa.string()),
        ("action", pa.string()),
        ("detail", pa.string()),
    ]
)


def audit(store: Store, who: Principal, action: str, **detail: Any) -> None:
    """Append one entry to the audit log. There is no way to change or delete entries."""
    _append(store, who.user, who.role, who.community_id, action, detail)


def audit_refused(store: Store, user: str, **detail: Any) -> None:
    """A sign-in by somebody who is not on the roles list: recorded, with no role."""
    _append(store, user, None, None, "login_refused", detail)


def _append(
    store: Store,
    user: str,
    role: str | None,
    community_id: str | None,
    action: str,
    detail: dict[str, Any],
) -> None:
    row = pa.table(
        {
            "at": [dt.datetime.now(dt.UTC)],
            "user": [user],
            "role": [role],
            "community_id": [community_id],
            "action": [action],
            "detail": [json.dumps(detail, ensure_ascii=False, default=str)],
        },
        schema=_AUDIT_SCHEMA,
    )
    store.append_rows(AUDIT_TABLE, row)


def audit_log(store: Store, by: Principal, limit: int | None = None) -> pd.DataFrame:
    """The newest entries first (all of them, or the newest `limit`); administrators only."""
    require(by, "admin")
    rows = store.read_rows(AUDIT_TABLE)
    frame: pd.DataFrame = (rows if rows is not None else _AUDIT_SCHEMA.empty_table()).to_pandas()
    frame = frame.sort_values("at", ascending=False, kind="stable")
    return (frame if limit is None else frame.head(limit)).reset_index(drop=True)


# -- reads, scoped -----------------------------------------------------------------------------
class Reader:
    """Every read a page makes, with the principal's scope applied first."""

    def __init__(self, con: duckdb.DuckDBPyConnection, principal: Principal) -> None:
        self.con = con
        self.principal = principal

    def scope(self, requested: Scope) -> Scope:
        return scope_for(self.principal, requested)

    def communities(self) -> pd.DataFrame:
        frame = queries.communities(self.con)
        if self.principal.can("view_city"):
            return frame
        return frame[frame["community_id"] == self.principal.community_id].reset_index(drop=True)

    def grids(self, community_id: str | None) -> pd.DataFrame:
        return queries.grids(self.con, self.scope(Scope(community_id)).community_id)

    def totals(self, names: list[str], period: Period, scope: Scope) -> dict[str, float | None]:
        return catalog.totals(self.con, names, period, self.scope(scope))

    def trend(self, names: list[str], period: Period, scope: Scope) -> pd.DataFrame:
        return catalog.trend(self.con, names, period, self.scope(scope))

    def by_unit(
        self,
        names: list[str],
        period: Period,
        units: list[str],
        scope: Scope,
        by: catalog.By = "community",
    ) -> pd.DataFrame:
        """Per community (or per grid of one community). A clerk gets their own community
        only; the city-wide comparison for clerks is `ranking_scores`, names and scores."""
        scoped = self.scope(scope)
        if by == "community" and not self.principal.can("view_city"):
            units = [u for u in units if u == self.principal.community_id]
        return catalog.by_unit(self.con, names, period, units, scoped, by)

    def records(
        self, dataset: str, scope: Scope, period: Period | None, *, limit: int, offset: int
    ) -> tuple[pd.DataFrame, int]:
        return queries.records(
            self.con, dataset, self.scope(scope), period, limit=limit, offset=offset
        )

    def breakdown(self, dataset: str, column: str, scope: Scope, period: Period) -> pd.DataFrame:
        return queries.breakdown(self.con, dataset, column, self.scope(scope), period)

"""Who may do what: the roles and their rights, the signed-in principal, and the checks.

Leaders see the whole city; a community clerk submits and sees only their own community's
records; an administrator manages targets, the registry, users and rollbacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from metrics.catalog import Scope
from metrics.i18n import Refusal

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
DEFAULT_SETTINGS: dict[str, Any] = {
    # Clerks may see the city-wide ranking of communities: names and scores only.
    "clerks_see_ranking": True,
}


class AccessDenied(Refusal):
    """The principal may not do or see this. `key` is a message in messages.yaml."""


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

"""The roles document: who is who, kept in the store (side table `_roles`, versioned).

Users by e-mail or OIDC subject → role and community, plus settings. `GOVDASH_ADMINS`
(comma-separated) names administrators who are admins whatever the document says, so a new
install can be set up.
"""

from __future__ import annotations

import os
import re
from typing import Any

from metrics.access.audit import audit
from metrics.access.principals import DEFAULT_SETTINGS, ROLES, Principal, require
from metrics.i18n import t
from metrics.schemas import CODE_PATTERN
from metrics.store import Store

ROLES_TABLE = "_roles"


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

"""The roles document: who is who, kept in the store (side table `_roles`, versioned), and
the one decision of who a sign-in is.

Each entry names its person one way, explicitly:
- an **e-mail entry** (`user` holds an e-mail address, no `issuer`): matches a sign-in whose
  e-mail the provider says is verified (`email_verified` true);
- a **subject entry** (`issuer` and `subject`): matches a sign-in whose token has exactly that
  issuer and subject, for providers that send no verified e-mail.
A subject is never compared with an e-mail: a provider lets users choose their subject, or
gives its own, and `sub: "clerk@..."` must not become that clerk. An older entry holding a
bare account id (no "@", no issuer) matches nobody. `GOVDASH_ADMINS` (comma-separated
e-mails) names administrators who are admins whatever the document says (verified e-mail
only), so a new install can be set up.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from metrics.access.audit import audit, audit_refused
from metrics.access.principals import DEFAULT_SETTINGS, ROLES, Principal, require
from metrics.i18n import t
from metrics.schemas import CODE_PATTERN
from metrics.store import Store

log = logging.getLogger("govdash.access")

ROLES_TABLE = "_roles"
# Why a sign-in was let in or refused; kept in the audit log beside the claims.
Reason = Literal[
    "subject",  # an (issuer, subject) entry
    "email",  # an e-mail entry, the e-mail verified
    "admins",  # GOVDASH_ADMINS, the e-mail verified
    "email_not_verified",  # an e-mail, but the provider does not say it is verified
    "not_listed",  # nobody on the list has this verified e-mail or (issuer, subject)
    "no_identity",  # neither an e-mail nor an issuer and subject in the token
    "clerk_without_community",  # listed as a clerk with no valid community
]


def load_roles(store: Store) -> dict[str, Any]:
    document, _version = store.read_document(ROLES_TABLE)
    document = document or {}
    return {
        "users": [_entry(u) for u in document.get("users", [])],
        "settings": {**DEFAULT_SETTINGS, **document.get("settings", {})},
    }


def roles_version(store: Store) -> int | None:
    """The roles document's version (a millisecond look-up): caches of who is who are keyed
    by it, so a role taken away in one server process counts in every other at once."""
    return store.document_version(ROLES_TABLE)


def _text(value: Any) -> str:
    return "" if value is None or value != value else str(value).strip()  # None, NaN → ""


def _entry(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as stored: e-mails lower-cased; issuer and subject exactly as the token has
    them (OIDC compares both as case-sensitive strings)."""
    return {
        "user": _text(raw.get("user")).lower(),
        "issuer": _text(raw.get("issuer")),
        "subject": _text(raw.get("subject")),
        "role": raw.get("role"),
        "community_id": _text(raw.get("community_id")) or None,
        "name": _text(raw.get("name")),
    }


def entry_kind(entry: Mapping[str, Any]) -> Literal["email", "subject", "invalid"]:
    """Which way an entry names its person; "invalid" entries match nobody."""
    user, issuer, subject = (_text(entry.get(k)) for k in ("user", "issuer", "subject"))
    if issuer or subject:
        return "subject" if issuer and subject and not user else "invalid"
    return "email" if "@" in user.strip("@") else "invalid"


def validate_roles(document: dict[str, Any], communities: set[str], lang: str = "zh") -> list[str]:
    """Problems with a roles document, as messages for the admin page."""
    problems = []
    seen: set[tuple[str, ...]] = set()
    for i, raw in enumerate(document.get("users", []), start=1):
        entry = _entry(raw)
        kind = entry_kind(entry)
        key = (entry["user"],) if kind == "email" else (entry["issuer"], entry["subject"])
        shown = " ".join(key)
        if not any(key):
            problems.append(t("roles_missing_user", lang, row=i))
        elif kind == "invalid":
            problems.append(t("roles_not_an_identity", lang, row=i, user=shown))
        elif key in seen:
            problems.append(t("roles_duplicate_user", lang, row=i, user=shown))
        seen.add(key)
        role, community = entry["role"], entry["community_id"]
        if role not in ROLES:
            problems.append(t("roles_bad_role", lang, row=i, role=role))
        if role == "clerk" and (community is None or community not in communities):
            problems.append(t("roles_clerk_community", lang, row=i, community=community))
    return problems


def save_roles(store: Store, document: dict[str, Any], by: Principal) -> int:
    require(by, "admin")
    users = [_entry(u) for u in document.get("users", [])]
    clean = {"users": users, "settings": {**DEFAULT_SETTINGS, **document.get("settings", {})}}
    version = store.write_document(ROLES_TABLE, clean, by.user)
    audit(store, by, "roles_changed", version=version, users=len(users))
    return version


# -- who a sign-in is -------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    """What an ID token says about its holder, as far as the roles list cares."""

    issuer: str
    subject: str
    email: str  # lower-cased; "" when the token has none
    email_verified: bool

    @classmethod
    def of(cls, claims: Mapping[str, Any]) -> SignIn:
        return cls(
            _text(claims.get("iss")),
            _text(claims.get("sub")),
            _text(claims.get("email")).lower(),
            is_verified(claims.get("email_verified")),
        )

    @property
    def shown(self) -> str:
        """Who this is, for the refusal page and the audit log's user column."""
        return self.email or self.subject or "?"

    def detail(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "subject": self.subject,
            "email": self.email,
            "email_verified": self.email_verified,
        }


def is_verified(value: Any) -> bool:
    """Only a true boolean, or the text "true" in any case, verifies an e-mail. A missing
    claim, "false", "0", "yes" or anything else does not: a provider that does not vouch
    for the address leaves it self-chosen."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def _bootstrap_admins() -> set[str]:
    admins = os.environ.get("GOVDASH_ADMINS", "")
    return {a.strip().lower() for a in admins.split(",") if a.strip()}


def resolve_claims(store: Store, claims: Mapping[str, Any]) -> tuple[Principal | None, Reason]:
    """The principal an ID token's claims make, and why; (None, why not) for a refusal."""
    who = SignIn.of(claims)
    roles = load_roles(store)
    if who.issuer and who.subject:
        for entry in roles["users"]:
            if entry_kind(entry) == "subject" and (entry["issuer"], entry["subject"]) == (
                who.issuer,
                who.subject,
            ):
                return _principal(entry, who.email if who.email_verified else "", roles)
    if who.email and not who.email_verified:
        return None, "email_not_verified"
    if not who.email:
        return None, "not_listed" if who.issuer and who.subject else "no_identity"
    if who.email in _bootstrap_admins():
        return Principal(who.email, "admin", settings=roles["settings"]), "admins"
    return _by_email(who.email, roles)


def resolve(store: Store, email: str | None) -> Principal | None:
    """The principal for a known e-mail (the CLI's --as-user, run by the server's operator,
    who vouches for it); None for an address nobody on the list has."""
    if not email:
        return None
    roles = load_roles(store)
    email = email.strip().lower()
    if email in _bootstrap_admins():
        return Principal(email, "admin", settings=roles["settings"])
    return _by_email(email, roles)[0]


def _by_email(email: str, roles: dict[str, Any]) -> tuple[Principal | None, Reason]:
    for entry in roles["users"]:
        if entry_kind(entry) == "email" and entry["user"] == email:
            return _principal(entry, email, roles)
    return None, "not_listed"


def _principal(
    entry: Mapping[str, Any], email: str, roles: dict[str, Any]
) -> tuple[Principal | None, Reason]:
    community = entry["community_id"]
    if entry["role"] == "clerk" and not (community and re.match(CODE_PATTERN, community)):
        return None, "clerk_without_community"  # a clerk without a valid community sees nothing
    kind: Reason = "subject" if entry_kind(entry) == "subject" else "email"
    user = entry["user"] if kind == "email" else email or f"{entry['subject']} ({entry['issuer']})"
    return Principal(user, entry["role"], community, entry["name"], roles["settings"]), kind


def audit_sign_in(
    store: Store,
    claims: Mapping[str, Any],
    principal: Principal | None,
    reason: str,
    **detail: Any,
) -> None:
    """One audit entry for a sign-in, let in or refused, with the token's issuer, subject
    and e-mail (as the token says, not as the roles list names the person)."""
    who = SignIn.of(claims)
    if principal is None:
        audit_refused(store, who.shown, reason=reason, **who.detail(), **detail)
        log.warning("sign-in refused (%s): %s", reason, who.detail())
    else:
        audit(store, principal, "login", matched=reason, **who.detail(), **detail)

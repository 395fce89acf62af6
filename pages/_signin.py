"""Who is reading: the sign-in (OpenID Connect, when .streamlit/secrets.toml has [auth]),
the demo and single-user local modes, the sign-in page and the banner that says who it is."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from typing import Any

import streamlit as st

from metrics import access
from metrics.access import Principal
from pages import _cache
from pages._text import md_escape, tr

log = logging.getLogger("govdash.ui")

DEMO_VIEWER = Principal("demo", "leader", name="演示 / demo")
LOCAL_ADMIN = Principal("local", "admin", name="本机 / local")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def auth_configured() -> bool:
    """Sign-in is on when .streamlit/secrets.toml has an [auth] section (OIDC)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def local_mode() -> bool:
    """Single-user local mode: every right, no sign-in. Off unless switched on explicitly,
    and only for a server that listens on this machine alone."""
    if os.environ.get("GOVDASH_LOCAL_MODE", "").strip().lower() not in ("1", "true", "yes"):
        return False
    if st.get_option("server.address") not in LOOPBACK:
        log.warning("GOVDASH_LOCAL_MODE ignored: server.address is not a loopback address")
        return False
    return True


def clear_access_cache() -> None:
    """After a roles edit: the next run resolves everyone again."""
    _cache.forget_roles()


def principal() -> Principal | None:
    """The signed-in user's role and community; None when not signed in or not known, and
    in demo mode when the store holds real data (demo mode shows demo data only)."""
    if auth_configured():
        if not st.user.is_logged_in:
            return None
        return _resolved()[0]
    if local_mode():
        return LOCAL_ADMIN
    return DEMO_VIEWER if access.is_demo(_cache.get_store()) else None


def is_demo_shown() -> bool:
    """Whether the store shown is the demo (its badge and banner say so, exactly then)."""
    return access.is_demo(_cache.get_store())


def _claim(name: str) -> str | None:
    value = st.user.get(name)
    return str(value) if value else None


def _resolved() -> tuple[Principal | None, str]:
    """Who the ID token's claims make the user, and why (metrics.access.resolve_claims
    decides: a verified e-mail or an (issuer, subject) entry, never a subject as an e-mail)."""
    claims = _claims()
    return _cache.resolve(claims["iss"], claims["sub"], claims["email"], claims["email_verified"])


def _claims() -> dict[str, Any]:
    """The claims the roles list looks at, as the provider sent them (types unchanged:
    `email_verified: "false"` must stay a string for the data layer to refuse it)."""
    return {name: st.user.get(name) for name in ("iss", "sub", "email", "email_verified")}


def _sign_in_once(record: Callable[[str], None]) -> None:
    """Call `record(sign_in_id)` once per sign-in (ID token), not once per browser tab or
    reload: a sign-in is the token's subject and issue time."""
    sign_in = hashlib.sha256(f"{_claim('sub')}|{_claim('iat')}".encode()).hexdigest()[:16]
    seen = _cache.audited_sign_ins()
    if sign_in not in seen:
        seen.add(sign_in)
        record(sign_in)


def who() -> Principal:
    """The current principal; pages run only after app.py's gate let someone in."""
    current = principal()
    if current is None:
        raise access.AccessDenied("access_denied_action", action="view")
    return current


def signin_page() -> None:
    """Drawn instead of every page when nobody may read: the sign-in, a polite refusal, or
    (no sign-in configured and real data in the store) what the operator has to do."""
    if not auth_configured():
        st.title(tr("setup_title"))
        st.write(tr("setup_text"))
        log.warning("no [auth] configured and the store holds real data: nothing shown")
        return
    if not st.user.is_logged_in:
        st.title(tr("login_title"))
        st.write(tr("login_text"))
        if st.button(tr("login_button"), type="primary", key="login"):
            st.login()
        return
    st.title(tr("denied_title"))
    claims = _claims()
    _, reason = _resolved()
    st.text(tr("denied_text", user=access.SignIn.of(claims).shown))
    if reason == "email_not_verified":
        st.caption(tr("denied_unverified"))
    if st.button(tr("logout_button"), key="logout_denied"):
        st.logout()
    _sign_in_once(
        lambda sign_in: access.audit_sign_in(
            _cache.get_store(), claims, None, reason, sign_in=sign_in
        )
    )


def mode_banner(current: Principal) -> None:
    """Who is reading, in the sidebar; each sign-in is recorded once in the audit log."""
    if auth_configured():
        _sign_in_once(
            lambda sign_in: access.audit_sign_in(
                _cache.get_store(), _claims(), current, _resolved()[1], sign_in=sign_in
            )
        )
        name = md_escape(current.name or current.user)  # from the roles list: text only
        st.sidebar.caption(tr("signed_in_as", name=name, role=tr(f"role_{current.role}")))
        if st.sidebar.button(tr("logout_button"), key="logout"):
            st.logout()
    elif current is DEMO_VIEWER:
        st.sidebar.info(tr("demo_mode"))
    else:
        st.sidebar.warning(tr("local_mode"))
    if current is not DEMO_VIEWER and access.is_demo(_cache.get_store()):
        st.sidebar.info(tr("demo_store_banner"))  # signed in, or local, on the demo store

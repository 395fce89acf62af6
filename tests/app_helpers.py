"""Opening one page of the app in Streamlit's AppTest, signed in or not: what the access,
lifecycle and tracking tests share."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
# Sign-in mode's settings (st.login's [auth] section); the provider is never reached: the
# tests set AppTest's user, as Streamlit does after a sign-in.
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "govdash",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def open_page(
    name: str,
    user: str | None = None,
    *,
    auth: bool = True,
    claims: dict[str, object] | None = None,
    **params: str,
) -> AppTest:
    """pages/`name`.py run once, with `params` in its address. With `auth`, in sign-in
    mode: signed in as `user` (None: not signed in) by a provider that vouches for the
    e-mail (a missing email_verified verifies nothing), `claims` added or overriding."""
    at = AppTest.from_file(APP, default_timeout=60)
    if auth:
        at.secrets["auth"] = AUTH
        vouched = {"email": user, "email_verified": True, "sub": f"sub-{user}", "iat": 1764230400}
        at.user = {"is_logged_in": user is not None, **(vouched if user else {}), **(claims or {})}
    at.switch_page(f"pages/{name}.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at

"""Where delivery goes out: the SMTP server, the sender address and the dashboard's public
address, from the environment or the `[notify]` section of .streamlit/secrets.toml (the
environment wins). Read only by `notify`, never at import."""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from metrics.store import REPO_ROOT

log = logging.getLogger(__name__)
SECRETS = REPO_ROOT / ".streamlit" / "secrets.toml"


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    user: str
    password: str
    tls: bool  # smtps://: TLS from the start (port 465); smtp://: STARTTLS when offered


@dataclass(frozen=True)
class Config:
    smtp: Smtp | None
    sender: str
    public_url: str

    def link(self, path: str) -> str:
        """The dashboard address of a page path ("" when GOVDASH_PUBLIC_URL is not set)."""
        return self.public_url.rstrip("/") + path if self.public_url else ""


def _secrets(path: Path = SECRETS) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            section = tomllib.load(f).get("notify", {})
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return {}
    return section if isinstance(section, dict) else {}


def parse_smtp(url: str) -> Smtp:
    """smtp://user:password@host:port (or smtps://); ValueError when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"not an smtp:// URL: {parts.scheme}://{parts.hostname or ''}")
    tls = parts.scheme == "smtps"
    return Smtp(
        parts.hostname,
        parts.port or (465 if tls else 25),
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        tls,
    )


def load(secrets: Path = SECRETS) -> Config:
    section = _secrets(secrets)

    def setting(env: str, key: str) -> str:
        return str(os.environ.get(env) or section.get(key) or "").strip()

    url = setting("GOVDASH_SMTP_URL", "smtp_url")
    smtp = parse_smtp(url) if url else None
    sender = setting("GOVDASH_SMTP_FROM", "smtp_from") or (
        f"{smtp.user}" if smtp and "@" in smtp.user else ""
    )
    return Config(smtp, sender, setting("GOVDASH_PUBLIC_URL", "public_url"))

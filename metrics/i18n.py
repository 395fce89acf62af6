"""User-facing text in both languages the product speaks, Chinese first.

Every string a person reads comes from messages.yaml (UI, reports, CLI messages) or from
catalog.yaml (metric labels). A test checks every key has both languages.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

LANGS = ("zh", "en")
MESSAGES_PATH = Path(__file__).resolve().parent / "messages.yaml"


@functools.cache
def messages() -> dict[str, dict[str, str]]:
    raw: dict[str, dict[str, str]] = yaml.safe_load(MESSAGES_PATH.read_text(encoding="utf-8"))
    return raw


def t(key: str, lang: str = "zh", **values: Any) -> str:
    """The message `key` in `lang`, with {placeholders} filled from `values`."""
    entry = messages()[key]
    text = entry.get(lang) or entry["zh"]
    return text.format(**values) if values else text


def value_label(value: object, lang: str = "zh") -> str:
    """A value from the contract's allowed lists (板凳会, 已化解, …) in the reader's language;
    anything else (names, free text) as it is."""
    text = "" if value is None else str(value)
    entry = messages().get(f"value_{text}")
    return (entry.get(lang) or text) if entry else text


def fmt_number(value: float | None, kind: str = "int", lang: str = "zh") -> str:
    """A metric value as the reader expects it; '—' where there is none."""
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind in ("float1", "stars"):
        return f"{value:,.1f}"
    if kind == "days":
        return f"{value:,.1f}".removesuffix(".0")
    return f"{round(value):,}"


def fmt_change(value: float | None) -> str:
    """A relative change such as +11.1% or −4.0%; '—' where undefined."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(value) * 100:.1f}%"

"""User-facing text in both languages the product speaks, Chinese first.

Every string a person reads comes from messages.yaml (UI, reports, CLI messages) or from
catalog.yaml (metric labels). A test checks every key has both languages.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from metrics.schemas import VALUE_EN

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


class Refusal(Exception):
    """An error said to the user: `key` names its message in messages.yaml, `params` fill
    it; str() is the English text (for logs), `message(lang)` the reader's."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(t(key, "en", **params))
        self.key = key
        self.params = params

    def message(self, lang: str = "zh") -> str:
        return t(self.key, lang, **self.params)


def is_empty(value: object) -> bool:
    """No value: None, NaN, NaT, pandas' NA or an empty string (as DuckDB and pandas give)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(value != value)  # NaN, NaT and NA are not equal to themselves
    except (TypeError, ValueError):  # NA's comparison is NA, whose truth is undefined
        return True


def value_label(value: object, lang: str = "zh", column: str | None = None) -> str:
    """A value from the contract's allowed lists (板凳会, 已化解, …) in the reader's language;
    anything else (names, free text) as it is. An empty value is said in words where the
    column gives it a meaning (`empty_<column>` in messages.yaml: an empty claimed_by is
    an unclaimed wish), else shown as '—'; never as 'nan' or 'None'."""
    if is_empty(value):
        entry = messages().get(f"empty_{column}")
        return (entry.get(lang) or entry["zh"]) if entry else "—"
    text = str(value)
    if lang != "zh" and text in VALUE_EN:  # the contract's English label
        return VALUE_EN[text]
    entry = messages().get(f"value_{text}")
    return (entry.get(lang) or text) if entry else text


def name_label(name: object, lang: str = "zh") -> str:
    """A community or grid name for display: in English the demo's "（示例）" (example) mark
    is translated; the place name itself stays as it is."""
    if is_empty(name):
        return "—"
    text = str(name)
    if lang != "zh":
        text = text.replace(EXAMPLE_MARK, f" ({t('example_mark', lang)})")
    return text


EXAMPLE_MARK = "（示例）"


def fmt_number(value: float | None, kind: str = "int", lang: str = "zh") -> str:
    """A metric value as the reader expects it; '—' where there is none (None or NaN)."""
    if value is None or is_empty(value):
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind in ("float1", "stars"):
        return f"{value:,.1f}"
    if kind == "days":
        return f"{value:,.1f}".removesuffix(".0")
    return f"{round(value):,}"


# 环比 and 同比 as leaders read them: a share that went from 96.2% to 81.7% fell by 14.5
# percentage points (not by 15.1%), and mean stars by so many stars; counts, days and
# per-capita figures change by a relative percentage.
ABSOLUTE_DELTAS = {"pct": 100.0, "stars": 1.0}  # format -> factor to the unit shown


def delta(kind: str, current: float | None, previous: float | None) -> float | None:
    """How `current` differs from `previous` for a metric of format `kind`: for a share
    (pct) the difference in percentage points (0.817 against 0.962 -> -14.5), for stars the
    difference in stars, for anything else the relative change (12 against 10 -> 0.2).
    None where there is nothing to compare (a value missing, or a relative change from 0 to
    something; 0 to 0 is no change)."""
    if is_empty(current) or is_empty(previous):
        return None
    assert current is not None and previous is not None
    if kind in ABSOLUTE_DELTAS:
        return (float(current) - float(previous)) * ABSOLUTE_DELTAS[kind]
    if previous == 0:  # nothing to compare with, unless nothing changed
        return 0.0 if current == 0 else None
    return (float(current) - float(previous)) / abs(float(previous))


def fmt_delta(
    kind: str, current: float | None, previous: float | None, lang: str = "zh", *, minus: str = "−"
) -> str:
    """The change from `previous` to `current` as text (see `delta`): "−14.5个百分点" /
    "−14.5 pp" for a share, "−0.3星" / "−0.3 stars" for stars, "+11.1%" otherwise; "—" where
    undefined. `minus="-"` for st.metric, which reads a delta as a fall by its "-"."""
    value = delta(kind, current, previous)
    if value is None:
        return "—"
    if kind not in ABSOLUTE_DELTAS:
        value *= 100
    number = f"{abs(value):.1f}"
    sign = "±" if number.strip("0.") == "" else "+" if value > 0 else minus
    if kind in ABSOLUTE_DELTAS:
        return t(f"delta_{kind}", lang, value=f"{sign}{number}")
    return f"{sign}{number}%"

"""Targets and the red/amber/green status every KPI, ranking and report shows.

The shipped defaults are targets_default.yaml. An admin's edits are kept in the store as a
document (`Store.write_document`, the side table `<store>/store/_targets`): each edit a
new version with the editor in the commit metadata, so a report can name (and later
reuse) the targets it was built with. It is not a dataset: uploads, the data contract and
StoreVersion do not see it.

A status always travels with a text cue (✅ 达标 / ⚠️ 接近 / ❌ 未达标), so colour is never
the only signal (WCAG 1.4.1).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from metrics.catalog import catalog, metric
from metrics.i18n import fmt_number, t
from metrics.location import Location
from metrics.periods import Period
from metrics.store import Store

DEFAULTS_PATH = Path(__file__).resolve().parent / "targets_default.yaml"
TABLE_NAME = "_targets"

Status = Literal["green", "amber", "red"]
Direction = Literal["up", "down", "range"]
Assessment = Literal["month", "quarter", "half", "year"]
STATUSES: tuple[Status, ...] = ("green", "amber", "red")
ASSESSMENTS: tuple[Assessment, ...] = ("month", "quarter", "half", "year")
DIRECTIONS: tuple[Direction, ...] = ("up", "down", "range")

# Screens show the emoji; the PDF uses marks that the embedded CJK font has glyphs for.
ICONS: dict[str, str] = {"green": "✅", "amber": "⚠️", "red": "❌"}
MARKS: dict[str, str] = {"green": "✓", "amber": "△", "red": "×"}
COLOURS: dict[str, str] = {"green": "#1b7f3b", "amber": "#b26a00", "red": "#c62828"}
FILLS: dict[str, str] = {"green": "#dff3e4", "amber": "#fff1d6", "red": "#fbe0e0"}
# Assessment scores are drawn in one neutral colour on the page and in the PDF: a score has
# no target of its own, so no band of it is "green"; the number is printed on each bar.
NEUTRAL = "#2d6aa6"

_EPSILON = 1e-9  # rates such as 19/20 must meet a 0.95 target exactly
Bounds = tuple[float | None, float | None]  # (low, high); None = unbounded


@dataclass(frozen=True)
class Target:
    metric: str
    direction: Direction
    green: Bounds
    amber: Bounds
    weight: Mapping[str, float] = field(default_factory=dict)

    def status(self, value: float | None) -> Status | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if _within(value, self.green):
            return "green"
        if _within(value, self.amber):
            return "amber"
        return "red"

    def text(self, lang: str = "zh") -> str:
        """The target as a reader sees it: ≥95.0%, ≤0, 300–500."""
        kind = metric(self.metric).format
        low, high = self.green
        if self.direction == "range":
            return f"{fmt_number(low, kind, lang)}–{fmt_number(high, kind, lang)}"
        if self.direction == "up":
            return "≥" + fmt_number(low, kind, lang)
        return "≤" + fmt_number(high, kind, lang)


def _within(value: float, bounds: Bounds) -> bool:
    low, high = bounds
    return (low is None or value >= low - _EPSILON) and (high is None or value <= high + _EPSILON)


@dataclass(frozen=True)
class Targets:
    metrics: Mapping[str, Target]
    points: Mapping[str, float]
    deadline_day: int
    follow_up_days: int
    version: int | None = None  # version of the _targets table; None = shipped defaults

    def weights(self, kind: str) -> dict[str, float]:
        """Metric -> weight for one review type, metrics with no weight left out."""
        return {
            n: tg.weight.get(kind, 0.0) for n, tg in self.metrics.items() if tg.weight.get(kind)
        }

    def get(self, name: str) -> Target | None:
        return self.metrics.get(name)

    def to_document(self) -> dict[str, Any]:
        """The YAML/JSON form, as in targets_default.yaml."""
        out: dict[str, Any] = {}
        for name, tg in self.metrics.items():
            if tg.direction == "range":
                green: Any = list(tg.green)
                amber: Any = list(tg.amber)
            else:
                index = 0 if tg.direction == "up" else 1
                green, amber = tg.green[index], tg.amber[index]
            entry: dict[str, Any] = {"direction": tg.direction, "green": green, "amber": amber}
            weight = {k: v for k, v in tg.weight.items() if v}
            if weight:
                entry["weight"] = weight
            out[name] = entry
        return {
            "points": dict(self.points),
            "deadline_day": self.deadline_day,
            "follow_up_days": self.follow_up_days,
            "metrics": out,
        }


class TargetsError(ValueError):
    """A bound or weight an administrator can get wrong, said in the reader's language."""

    def __init__(self, key: str, metric_name: str, **params: Any) -> None:
        self.key, self.metric_name, self.params = key, metric_name, params
        super().__init__(f"targets: {metric_name}: {self.message('en')}")

    def message(self, lang: str = "zh") -> str:
        label = metric(self.metric_name).text("label", lang)
        return t(self.key, lang, metric=label, **self.params)


def from_document(doc: Mapping[str, Any], version: int | None = None) -> Targets:
    """Targets from the YAML/JSON form; ValueError naming the first thing that is wrong."""
    known = catalog()
    parsed: dict[str, Target] = {}
    for name, entry in (doc.get("metrics") or {}).items():
        if name not in known:
            raise ValueError(f"targets: unknown metric {name!r}")
        direction = entry.get("direction")
        if direction not in DIRECTIONS:
            raise ValueError(f"targets: {name}: direction must be up, down or range")
        green, amber = _bounds(name, direction, entry.get("green"), entry.get("amber"))
        if known[name].format == "pct":  # a share: 0.95 is 95 %; 95 would be 9500 %
            bad_rate = [b for b in (*green, *amber) if b is not None and not 0 <= b <= 1]
            if bad_rate:
                raise TargetsError("targets_err_rate", name, value=f"{bad_rate[0] * 100:g}%")
        weight = {str(k): float(v) for k, v in (entry.get("weight") or {}).items()}
        bad = [k for k, v in weight.items() if k not in ASSESSMENTS or v < 0 or math.isnan(v)]
        if bad:
            raise TargetsError("targets_err_weight", name, value=bad[0])
        parsed[name] = Target(name, direction, green, amber, weight)
    points = {k: float(v) for k, v in (doc.get("points") or {}).items()}
    if set(points) != set(STATUSES) or not (
        100 >= points["green"] >= points["amber"] >= points["red"] >= 0
    ):
        raise ValueError("targets: points need 100 >= green >= amber >= red >= 0")
    deadline_day = int(doc.get("deadline_day", 5))
    follow_up_days = int(doc.get("follow_up_days", 30))
    if not 1 <= deadline_day <= 28:
        raise ValueError("targets: deadline_day must be 1-28")
    if follow_up_days < 1:
        raise ValueError("targets: follow_up_days must be at least 1")
    return Targets(parsed, points, deadline_day, follow_up_days, version)


def _number(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"targets: {name}: {value!r} is not a number") from None
    if math.isnan(out):
        raise TargetsError("targets_err_empty", name)
    return out


def _bounds(name: str, direction: str, green: Any, amber: Any) -> tuple[Bounds, Bounds]:
    if direction == "range":
        if not (isinstance(green, list | tuple) and isinstance(amber, list | tuple)):
            raise ValueError(f"targets: {name}: a range needs [low, high] for green and amber")
        if len(green) != 2 or len(amber) != 2:
            raise ValueError(f"targets: {name}: a range needs [low, high] for green and amber")
        g0, g1, a0, a1 = (_number(name, v) for v in (*green, *amber))
        if not a0 <= g0 <= g1 <= a1:
            raise TargetsError("targets_err_range", name)
        return (g0, g1), (a0, a1)
    g, a = _number(name, green), _number(name, amber)
    if direction == "up":
        if a > g:
            raise TargetsError("targets_err_up", name)
        return (g, None), (a, None)
    if a < g:
        raise TargetsError("targets_err_down", name)
    return (None, g), (None, a)


@functools.cache
def defaults() -> Targets:
    return from_document(yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8")))


def assessment_kind(period: Period) -> Assessment:
    """Which weights a period is scored with; a custom range, a year to date and 全部 by
    their length."""
    if period.kind in ("month", "quarter", "half", "year"):
        return period.kind
    months = period.months
    return (
        "month" if months == 1 else "quarter" if months <= 3 else "half" if months <= 6 else "year"
    )


def status(name: str, value: float | None, targets: Targets | None = None) -> Status | None:
    """green, amber or red for a metric's value; None without a value or a target."""
    target = (targets or defaults()).get(name)
    return target.status(value) if target is not None else None


def cue(state: str | None, lang: str = "zh", *, plain: bool = False) -> str:
    """The status as an icon and a word (✅ 达标); `plain` uses marks any font has (✓ 达标)."""
    if not isinstance(state, str):  # None, or NaN out of a DataFrame column
        return t("status_none", lang)
    icon = (MARKS if plain else ICONS)[state]
    return f"{icon} {t('status_' + state, lang)}"


# -- the versioned copy in the store -----------------------------------------------------------


def table_path(store: Store) -> Location:
    return store.tables_dir / TABLE_NAME


def current_version(store: Store) -> int | None:
    return store.document_version(TABLE_NAME)


def load(store: Store, version: int | None = None) -> Targets:
    """The targets at `version` of the store's copy (latest if None); defaults if none saved."""
    document, saved = store.read_document(TABLE_NAME, version)
    if saved is None:
        if version is not None:
            raise ValueError(f"targets: no version {version} in the store")
        return defaults()
    return from_document(document, version=saved)


FROZEN_DEFAULTS_USER = "system"  # who "saved" the shipped defaults when first used


def pinned(store: Store) -> Targets:
    """The current targets with a version of their own in the store.

    While nobody has edited the targets, the shipped defaults are in force; the first review
    that uses them saves them as version 0, so a version token names targets that a later
    release changing targets_default.yaml cannot change. A store that cannot be written
    (a read-only copy) gets the defaults unversioned (`_targets@-1` in the token).
    """
    found = load(store)
    if found.version is not None:
        return found
    try:
        # Unless somebody saved them meanwhile.
        _write(store, found, FROZEN_DEFAULTS_USER, if_unsaved=True)
    except OSError:
        return found
    return load(store)


def save(store: Store, targets: Targets, user: str) -> int:
    """Write `targets` as a new version of the store's copy; returns that version."""
    return _write(store, targets, user)


def _write(store: Store, targets: Targets, user: str, *, if_unsaved: bool = False) -> int:
    document = from_document(targets.to_document()).to_document()
    return store.write_document(TABLE_NAME, document, user, if_unsaved=if_unsaved)


def history(store: Store) -> list[dict[str, Any]]:
    """Edits newest first: version, committed_at (UTC), user."""
    return [
        {
            "version": entry["version"],
            "committed_at": entry["committed_at"],
            "user": entry.get("user", ""),
        }
        for entry in store.document_history(TABLE_NAME)
    ]


# -- a table for the admin page ------------------------------------------------------------------

FRAME_COLUMNS = [
    "metric",
    "label",
    "direction",
    "green_low",
    "green_high",
    "amber_low",
    "amber_high",
    "unit",
    *(f"weight_{k}" for k in ASSESSMENTS),
]
BOUND_COLUMNS = ["green_low", "green_high", "amber_low", "amber_high"]


def to_frame(targets: Targets, lang: str = "zh") -> pd.DataFrame:
    """One row per metric, bounds and weights as plain columns (for st.data_editor).

    Shares are in percent (95, not 0.95: as people say them), marked "%" in `unit`."""
    rows = []
    for name, tg in targets.metrics.items():
        scale = _scale(name)
        bounds = (*tg.green, *tg.amber)
        rows.append(
            {
                "metric": name,
                "label": metric(name).text("label", lang),
                "direction": tg.direction,
                **{
                    c: None if b is None else round(b * scale, 6)
                    for c, b in zip(BOUND_COLUMNS, bounds, strict=True)
                },
                "unit": "%" if scale == 100 else "",
                **{f"weight_{k}": float(tg.weight.get(k, 0.0)) for k in ASSESSMENTS},
            }
        )
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _scale(name: str) -> float:
    """What the editor multiplies a bound by: shares are shown in percent."""
    return 100.0 if metric(name).format == "pct" else 1.0


def from_frame(frame: pd.DataFrame, base: Targets) -> Targets:
    """Targets from an edited to_frame table (shares in percent); settings (points, deadline)
    kept from `base`."""
    metrics: dict[str, Any] = {}
    for row in frame.to_dict("records"):
        scale = _scale(str(row["metric"]))
        row.update({c: _unscaled(row[c], scale) for c in BOUND_COLUMNS})
        direction = row["direction"]
        green: Any
        amber: Any
        if direction == "range":
            green = [row["green_low"], row["green_high"]]
            amber = [row["amber_low"], row["amber_high"]]
        elif direction == "up":
            green, amber = row["green_low"], row["amber_low"]
        else:
            green, amber = row["green_high"], row["amber_high"]
        weight = {k: _weight(row.get(f"weight_{k}")) for k in ASSESSMENTS}
        metrics[str(row["metric"])] = {
            "direction": direction,
            "green": green,
            "amber": amber,
            "weight": weight,
        }
    document = {**base.to_document(), "metrics": metrics}
    return from_document(document)


def _unscaled(value: Any, scale: float) -> Any:
    """An edited bound back in the stored unit; text and blanks are left for the checks."""
    if isinstance(value, int | float) and not pd.isna(value):
        return value / scale
    return value


def _weight(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)

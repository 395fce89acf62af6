"""The warning record and its stable id."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from metrics.i18n import t

Level = Literal["red", "amber"]
LEVELS: tuple[Level, ...] = ("red", "amber")  # the order a list shows them in
# Rule codes, in the order of issue 14 point 3.
RULES = ("target_missed", "grid_cases", "wish_unclaimed", "ledger_missing", "property_stars")


def warning_id(rule: str, *parts: str) -> str:
    """A short stable id: the same rule on the same unit and period (or record) is the same
    warning whenever it is evaluated."""
    text = "|".join((rule, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Warning:
    """One early warning: what, where, how bad, why (zh and en) and the page that shows it."""

    id: str
    rule: str
    level: Level
    community_id: str
    grid_id: str | None
    period: str  # the period (2025-10, 2025Q3) or, for a record, the month it belongs to
    record: str | None  # a wish id, a ledger, a company: the record a warning is about
    reason_zh: str
    reason_en: str
    link: str  # path and query of the page that shows it, e.g. /cases?community=QTX01
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def reason(self, lang: str = "zh") -> str:
        return self.reason_en if lang == "en" else self.reason_zh

    def level_label(self, lang: str = "zh") -> str:
        return t(f"warn_level_{self.level}", lang)

    def rule_label(self, lang: str = "zh") -> str:
        return t(f"warn_rule_{self.rule}", lang)

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "level": self.level,
            "community_id": self.community_id,
            "grid_id": self.grid_id,
            "period": self.period,
            "record": self.record,
            "reason": self.reason(lang),
            "link": self.link,
        }


def make(
    rule: str,
    level: Level,
    unit: tuple[str, str | None],
    period: str,
    record: str | None,
    reason: tuple[str, Mapping[str, Any], Mapping[str, Any]],
    page: str,
    **detail: Any,
) -> Warning:
    """A warning; `reason` is a message key and its values in zh and in en; the link is
    `page` with the community, grid and period to show."""
    community, grid = unit
    key, zh, en = reason
    query = {"community": community, "grid": grid, "period": period}
    link = f"/{page}?" + urlencode({k: v for k, v in query.items() if v})
    return Warning(
        warning_id(rule, community, grid or "", period, record or ""),
        rule,
        level,
        community,
        grid,
        period,
        record,
        t(key, "zh", **zh),
        t(key, "en", **en),
        link,
        dict(detail),
    )


def ordered(found: list[Warning]) -> list[Warning]:
    """Red first, then by rule, community, grid, period and record."""
    return sorted(
        found,
        key=lambda w: (
            LEVELS.index(w.level),
            RULES.index(w.rule),
            w.community_id,
            w.grid_id or "",
            w.period,
            w.record or "",
        ),
    )

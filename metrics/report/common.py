"""What the PDF and the XLSX say the same way: the about block, numbers, ranks and scores,
the colour of a submission status, and which trend metric is the count and which the rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from metrics.catalog import metric
from metrics.i18n import fmt_number, t
from metrics.review import TREND_METRICS, Review

# A ledger's submission status as the status colour of its cell (pending has none).
SUBMISSION_COLOURS = {"on_time": "green", "late": "amber", "missing": "red"}


def about_rows(data: Review, when: dt.datetime) -> list[tuple[str, str]]:
    """(label, text): the period, the data version (数据截至 … in human terms, as on the
    page), the targets version, when it was made."""
    lang = data.lang
    tv = data.targets.version
    return [
        (t("report_period", lang), f"{data.period.label(lang)}（{data.period.code}）"),
        (t("report_version", lang), data.stamp),
        (
            t("report_targets_version", lang),
            str(tv) if tv is not None else t("report_targets_default", lang),
        ),
        (t("report_generated", lang), when.strftime("%Y-%m-%d %H:%M") + f" ({utc_offset(when)})"),
    ]


def utc_offset(when: dt.datetime) -> str:
    """ "UTC+8" for Beijing time: the zone the report's times are in."""
    offset = when.utcoffset() or dt.timedelta(0)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    minutes = abs(rest) // 60
    return f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")


def trend_metrics() -> tuple[str, str]:
    """The review's TREND_METRICS as (count, rate): the rate is the one in share format
    (pct), drawn as a line against its target; the count is drawn as monthly columns."""
    rate = next(name for name in TREND_METRICS if metric(name).format == "pct")
    count = next(name for name in TREND_METRICS if name != rate)
    return count, rate


def float_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def status_or_none(value: Any) -> str | None:
    """A status colour, or None for no status (None, or NaN out of a DataFrame column)."""
    return value if isinstance(value, str) else None


def value_text(value: Any, kind: str, lang: str) -> str:
    return fmt_number(float_or_none(value), kind, lang)


def rank_change_text(value: Any, lang: str) -> str:
    if value is None or pd.isna(value):
        return t("rank_new", lang)
    n = int(value)
    return f"↑{n}" if n > 0 else f"↓{-n}" if n < 0 else "—"


def score_text(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.1f}"

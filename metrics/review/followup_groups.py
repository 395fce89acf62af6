"""需督办事项 as a meeting reads them: one line per community and kind with its counts by age
band, and the list cut to the oldest few of each group with "及其他 N 项" for the rest (the
page and the PDF; the XLSX keeps every item)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from metrics.i18n import t
from metrics.review.core import records
from metrics.review.followup_items import BANDS, FOLLOW_UP_COLUMNS

FOLLOW_UP_CAP = 5  # items shown per community and kind, the oldest

GROUP_COLUMNS = ["community_id", "community", "kind", "kind_label", "count", *BANDS, "long_open"]


def groups(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per community and kind, in the list's order: how many items, how many in
    each age band (None for kinds without an age), how many 长期未解决."""
    rows: list[dict[str, Any]] = []
    for (community_id, kind), group in frame.groupby(["community_id", "kind"], sort=False):
        aged = group["band"].notna().any()
        bands = group["band"].value_counts()
        rows.append(
            {
                "community_id": community_id,
                "community": group["community"].iloc[0],
                "kind": kind,
                "kind_label": group["kind_label"].iloc[0],
                "count": len(group),
                **{b: int(bands.get(b, 0)) if aged else None for b in BANDS},
                "long_open": int(group["long_open"].sum()),
            }
        )
    out = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    for band in BANDS:
        out[band] = out[band].astype("Int64")
    return out


def capped(frame: pd.DataFrame, cap: int = FOLLOW_UP_CAP, lang: str = "zh") -> pd.DataFrame:
    """The list with at most `cap` items of each community and kind (the oldest: the list
    is oldest first), then one row saying "及其他 N 项" in `item` and N in `more`."""
    rows: list[dict[str, Any]] = []
    for _key, group in frame.groupby(["community_id", "kind"], sort=False):
        items = records(group)
        rows += [{**r, "more": 0} for r in items[:cap]]
        rest = len(items) - cap
        if rest > 0:
            first = items[0]
            rows.append(
                {
                    **{c: None for c in FOLLOW_UP_COLUMNS},
                    **{c: first[c] for c in ("kind", "kind_label", "community_id", "community")},
                    "owner": first["community"],
                    "item": t("fu_more", lang, count=rest),
                    "detail": "",
                    "since": "",
                    "band_label": "",
                    "long_open": False,
                    "cue": "",
                    "reason": "",
                    "more": rest,
                }
            )
    out = pd.DataFrame(rows, columns=[*FOLLOW_UP_COLUMNS, "more"])
    out["age_days"] = out["age_days"].astype("Int64")
    return out

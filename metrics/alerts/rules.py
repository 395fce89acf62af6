"""The five warning rules, each a small function of one store version, the targets and the
moment it is read at (deadlines.store_now). Levels and the baseline rule: decision 0014."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping

import duckdb

from metrics import catalog, review
from metrics.alerts.core import Level, Warning, make, ordered
from metrics.catalog import metric, read_on
from metrics.deadlines import latest_closed, store_now
from metrics.i18n import fmt_number, name_label
from metrics.periods import Period, add_months
from metrics.queries import communities
from metrics.review.reporting import SentLog
from metrics.store import Store, StoreVersion
from metrics.targets import Targets

# A grid's baseline: its previous 12 months, at least 6 of them with data; a month above
# median + 3 MAD (MAD not scaled, and at least 1 case) warns.
BASELINE_MONTHS = 12
BASELINE_MIN_MONTHS = 6
BASELINE_MADS = 3
UNCLAIMED_DAYS = 30  # a wish unclaimed over this many days warns (amber) ...
UNCLAIMED_RED_DAYS = 60  # ... and is red beyond this many (the follow-ups' first band)
PAGES = {"cases": "cases", "wishes": "wishes", "employment": "employment"}
PAGES |= {"property_ratings": "property"}


def evaluate(
    store: Store, version: StoreVersion | None = None, at: dt.datetime | None = None
) -> list[Warning]:
    """Every warning of the store at `version` (default: now) read at `at` (default: the
    store's moment), red first."""
    version, tg = review.pin(store, version)
    at = at or store_now(store)
    logs = review.sent_logs(store, version)
    con = store.connect(version)
    try:
        units = communities(con)
        names = {
            c: name_label(n) for c, n in zip(units["community_id"], units["name"], strict=True)
        }
        names_en = {
            c: name_label(n, "en")
            for c, n in zip(units["community_id"], units["name"], strict=True)
        }
        month = latest_closed("month", at, tg.deadline_day)
        found = target_missed(con, tg, month, list(names), at.date(), (names, names_en))
        found += grid_cases(con, logs["cases"], month, (names, names_en))
        found += wish_unclaimed(con, at.date(), (names, names_en))
        found += property_stars(
            con, latest_closed("quarter", at, tg.deadline_day), (names, names_en)
        )
    finally:
        con.close()
    found += ledger_missing(store, version, tg, month, at, (names, names_en), logs)
    return ordered(found)


Names = tuple[Mapping[str, str], Mapping[str, str]]  # community -> name, in zh and in en


def _named(names: Names, community: str) -> tuple[str, str]:
    return names[0].get(community, community), names[1].get(community, community)


# -- (a) a target missed two closed months running ----------------------------------------
def target_missed(
    con: duckdb.DuckDBPyConnection,
    tg: Targets,
    month: Period,
    units: list[str],
    today: dt.date,
    names: Names,
) -> list[Warning]:
    """Per community and scored metric with a target: red (未达标) in the latest closed
    month and in the month before. A metric with no value (a ledger not sent) is not a
    target missed: that is the ledger rule's warning."""
    scored = [m for m in tg.weights("month") if tg.get(m) is not None]
    if not units or not scored:
        return []
    with read_on(today):
        now, before = (catalog.by_unit(con, scored, p, units) for p in (month, month.previous()))
    out = []
    for unit in units:
        for name in scored:
            target = tg.get(name)
            assert target is not None
            values = [_number(frame.loc[unit, name]) for frame in (before, now)]
            if not all(v is not None and target.status(v) == "red" for v in values):
                continue
            m = metric(name)
            zh, en = _named(names, unit)
            shown = [fmt_number(v, m.format) for v in values]
            texts = {
                "zh": {"community": zh, "metric": m.text("label", "zh"), "target": target.text()},
                "en": {
                    "community": en,
                    "metric": m.text("label", "en"),
                    "target": target.text("en"),
                },
            }
            for lang in ("zh", "en"):
                texts[lang] |= {
                    "first": month.previous().label(lang),
                    "second": month.label(lang),
                    "before": shown[0],
                    "now": shown[1],
                }
            reason = ("warn_target_missed", texts["zh"], texts["en"])
            page = PAGES.get(m.dataset, "meeting")
            out.append(make("target_missed", "red", (unit, None), month.code, name, reason, page))
    return out


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if number != number else number


# -- (b) a grid's cases above its own baseline --------------------------------------------
def baseline(history: list[int]) -> tuple[float, float, float] | None:
    """(median, MAD, threshold) of a grid's monthly case counts: threshold = median +
    3 × max(MAD, 1), MAD the median absolute deviation, not scaled. None with fewer than
    BASELINE_MIN_MONTHS months of data. The floor of 1 keeps a grid that had the same
    count every month (MAD 0) from warning at one case more."""
    if len(history) < BASELINE_MIN_MONTHS:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    return median, mad, median + BASELINE_MADS * max(mad, 1)


GRID_MONTHS_SQL = """
SELECT c.grid_id, c.community_id, strftime(c.reported_on, '%Y-%m') AS month, count(*) AS cases
FROM cases AS c
WHERE c.reported_on >= $first AND c.reported_on <= $last
GROUP BY ALL
"""


def grid_cases(
    con: duckdb.DuckDBPyConnection, sent: SentLog, month: Period, names: Names
) -> list[Warning]:
    """A grid whose cases received in the latest closed month exceed its baseline of the
    12 months before. A month counts as data for a grid when its community sent that
    month's cases ledger (a grid with no case that month: 0); months not sent are left
    out, not counted as 0."""
    first = add_months(month.start, -BASELINE_MONTHS)
    rows = con.execute(GRID_MONTHS_SQL, {"first": first, "last": month.end}).fetchall()
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for grid, community, code, cases in rows:
        counts.setdefault((str(grid), str(community)), {})[str(code)] = int(cases)
    history_codes = [Period.of("month", add_months(first, i)).code for i in range(BASELINE_MONTHS)]
    grid_names = dict(con.execute("SELECT grid_id, name FROM grids").fetchall())
    out = []
    for (grid, community), by_month in sorted(counts.items()):
        cases = by_month.get(month.code, 0)
        history = [by_month.get(c, 0) for c in history_codes if (community, c) in sent]
        found = baseline(history)
        if found is None or cases <= found[2]:
            continue
        median, mad, threshold = found
        zh, en = _named(names, community)
        grid_name = name_label(grid_names.get(grid, grid))
        values = {"grid": grid_name, "cases": cases, "months": len(history)}
        values |= {"median": _n(median), "mad": _n(mad), "threshold": _n(threshold)}
        reason = (
            "warn_grid_cases",
            {**values, "community": zh, "period": month.label("zh")},
            {**values, "community": en, "period": month.label("en")},
        )
        out.append(
            make(
                "grid_cases",
                "amber",
                (community, grid),
                month.code,
                None,
                reason,
                "cases",
                cases=cases,
                median=median,
                mad=mad,
                threshold=threshold,
            )
        )
    return out


def _n(value: float) -> str:
    return f"{value:g}"


# -- (c) a wish unclaimed over 30 days -----------------------------------------------------
UNCLAIMED_SQL = """
SELECT w.wish_id, w.community_id, w.grid_id, w.registered_on,
       date_diff('day', w.registered_on, $today) AS age_days
FROM wishes AS w
WHERE date_diff('day', w.registered_on, $today) > $days
    AND (w.claimed_on IS NULL OR w.claimed_on > $today) AND w.fulfilled_on IS NULL
ORDER BY age_days DESC, w.wish_id
"""


def wish_unclaimed(con: duckdb.DuckDBPyConnection, today: dt.date, names: Names) -> list[Warning]:
    """A wish not claimed (nor fulfilled) more than 30 days after it was registered, as of
    today: amber, red beyond 60 days."""
    rows = con.execute(UNCLAIMED_SQL, {"today": today, "days": UNCLAIMED_DAYS}).fetchall()
    out = []
    for wish, community, grid, registered, age in rows:
        zh, en = _named(names, str(community))
        values = {"wish": wish, "registered": registered.isoformat(), "days": int(age)}
        reason = ("warn_wish_unclaimed", {**values, "community": zh}, {**values, "community": en})
        level: Level = "red" if age > UNCLAIMED_RED_DAYS else "amber"
        code = Period.of("month", registered.replace(day=1)).code
        unit = (str(community), str(grid) if grid else None)
        out.append(make("wish_unclaimed", level, unit, code, str(wish), reason, "wishes"))
    return out


# -- (d) a ledger not in by its deadline ----------------------------------------------------
def ledger_missing(
    store: Store,
    version: StoreVersion,
    tg: Targets,
    month: Period,
    at: dt.datetime,
    names: Names,
    logs: Mapping[str, SentLog],
) -> list[Warning]:
    """Each community × ledger due for the latest closed month (and its quarter when the
    month ends one) that is 缺报 at `at` (review.submissions): red."""
    subs = {
        lang: review.submissions(store, month, version, tg, names[i], lang, as_of=at, logs=logs)
        for i, lang in enumerate(("zh", "en"))
    }
    missing = subs["zh"][subs["zh"]["status"] == "missing"].to_dict("records")
    labels_en = dict(zip(subs["en"]["dataset"], subs["en"]["dataset_label"], strict=False))
    out = []
    for row in missing:
        community, dataset, code = (
            str(row["community_id"]),
            str(row["dataset"]),
            str(row["reporting"]),
        )
        values = {"period": code, "deadline": row["deadline"].isoformat()}
        zh, en = _named(names, community)
        reason = (
            "warn_ledger_missing",
            {**values, "community": zh, "ledger": row["dataset_label"]},
            {**values, "community": en, "ledger": labels_en[dataset]},
        )
        out.append(
            make("ledger_missing", "red", (community, None), code, dataset, reason, "meeting")
        )
    return out


# -- (e) a property company at 2★ or below ---------------------------------------------------
PROPERTY_STARS_SQL = """
SELECT r.community_id, r.compound, r.company, r.stars
FROM property_ratings AS r
WHERE r.quarter = $quarter AND r.stars <= 2
ORDER BY r.stars, r.community_id, r.company, r.compound
"""


def property_stars(con: duckdb.DuckDBPyConnection, quarter: Period, names: Names) -> list[Warning]:
    """A property company rated 2★ or below for a compound in the latest closed quarter:
    red at 1★, amber at 2★."""
    rows = con.execute(PROPERTY_STARS_SQL, {"quarter": quarter.code}).fetchall()
    out = []
    for community, compound, company, stars in rows:
        zh, en = _named(names, str(community))
        values = {"company": company, "compound": compound, "stars": int(stars)}
        reason = (
            "warn_property_stars",
            {**values, "community": zh, "period": quarter.label("zh")},
            {**values, "community": en, "period": quarter.label("en")},
        )
        level: Level = "red" if stars <= 1 else "amber"
        record = f"{company}/{compound}"
        unit = (str(community), None)
        out.append(make("property_stars", level, unit, quarter.code, record, reason, "property"))
    return out

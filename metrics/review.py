"""The review meeting (月度例会, 季度督查, 半年互观互检, 年度考核) as data.

`review(store, period)` computes, from one pinned store version and one targets version:
headline KPIs with 环比 and 同比, the league table of communities with weighted assessment
scores and their breakdown, the follow-up list (需督办事项), the submission status of
every community's ledgers, and a narrative made from templates. The meeting page, the PDF
and the XLSX all draw from the same `Review`, so they show the same figures; `Review.token`
names both versions, and `review(store, period, version=token)` rebuilds it exactly.

Scoring: each weighted metric earns points by its status (targets_default.yaml `points`,
e.g. 达标 100, 接近 60, 未达标 0); the score is the weighted mean of the points over the
metrics that have a value, 0-100. A metric whose ledger is missing (缺报) for the reporting
period scores as 未达标 with its full weight, whatever the store holds: otherwise a
community that sends nothing would score 达标 on every count where empty means 0
(超30天未认领心愿 0) and have its other metrics left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import duckdb
import pandas as pd

from metrics import catalog, targets
from metrics.catalog import metric
from metrics.i18n import delta, fmt_delta, fmt_number, name_label, t
from metrics.periods import Period, add_months, local_tz
from metrics.queries import communities, compared_periods
from metrics.schemas import DATASETS
from metrics.store import Store, StoreVersion
from metrics.targets import Status, Targets

# The city figures the meeting opens with, in the order they are read out.
HEADLINE = [
    "cases_received",
    "disputes_handled",
    "resolution_rate",
    "overdue_cases",
    "median_days_to_resolve",
    "problems_resolved",
    "wishes_fulfilled",
    "fulfillment_rate",
    "wishes_unclaimed_overdue",
    "positions_offered",
    "placed_flexible",
    "mean_stars",
    "workers_per_10k",
]
TREND_METRICS = ["cases_received", "resolution_rate"]
MONTHLY_LEDGERS = ("cases", "wishes", "employment")
QUARTERLY_LEDGERS = ("property_ratings",)
TARGETS_KEY = "_targets"

SubmissionStatus = Literal["on_time", "late", "missing", "pending"]
SUBMISSION_STATUS: dict[str, Status | None] = {
    "on_time": "green",
    "late": "amber",
    "missing": "red",
    "pending": None,
}
FOLLOW_UP_KINDS = ("case", "wish", "property", "metric")


@dataclass(frozen=True)
class Review:
    period: Period
    version: StoreVersion
    targets: Targets
    lang: str
    is_demo: bool
    headline: pd.DataFrame  # one row per HEADLINE metric
    league: pd.DataFrame  # one row per community, best first
    breakdown: pd.DataFrame  # community × weighted metric: how the score is made
    follow_ups: pd.DataFrame  # 需督办事项
    submissions: pd.DataFrame  # community × ledger for the reporting period
    trend: pd.DataFrame  # last 12 months of TREND_METRICS, city totals
    narrative: list[str]  # sentences, to be read in order

    @property
    def assessment(self) -> str:
        return targets.assessment_kind(self.period)

    @property
    def scored_metrics(self) -> list[str]:
        return list(self.targets.weights(self.assessment))

    @property
    def token(self) -> str:
        """Store and targets version, e.g. 'communities@0,...,_targets@3' (-1: defaults)."""
        return make_token(self.version, self.targets)

    def title(self) -> str:
        return t("report_title", self.lang, review=t("review_" + self.assessment, self.lang))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name (what templates and renderers read)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


# -- versions ------------------------------------------------------------------------------------


def pin(
    store: Store, version: StoreVersion | str | None = None, lang: str = "zh"
) -> tuple[StoreVersion, Targets]:
    """The store version and targets a review reads: a token pins both (see Review.token);
    a StoreVersion or None pins the data and takes the current targets (the shipped
    defaults are saved as a version of their own the first time, targets.pinned).

    A token must name every table, as Review.token does: a table left out would be read at
    its current version, and the report would no longer be the one the token names. An
    unknown version is refused with a message, not a storage error. `_targets@-1` (tokens
    printed before targets were always versioned) means the defaults of the running release.
    """
    if version is None or isinstance(version, StoreVersion):
        return version or store.version(), targets.pinned(store)
    pairs: dict[str, int] = {}
    for part in version.split(","):
        name, sep, number = part.strip().partition("@")
        if not sep or not number.lstrip("-").isdigit():
            raise ValueError(t("version_bad_token", lang, token=version))
        pairs[name] = int(number)
    unknown = set(pairs) - set(DATASETS) - {TARGETS_KEY}
    if unknown:
        raise ValueError(t("version_unknown_table", lang, names="、".join(sorted(unknown))))
    absent = [n for n in (*DATASETS, TARGETS_KEY) if n not in pairs]
    if absent:
        raise ValueError(t("version_incomplete", lang, names="、".join(absent)))
    current = store.version()
    latest = {n: current.of(n) for n in DATASETS}
    latest[TARGETS_KEY] = _or_minus_one(targets.current_version(store))
    for table, v in pairs.items():
        if not -1 <= v <= latest[table]:
            raise ValueError(t("version_unknown", lang, name=table, number=v, latest=latest[table]))
    data = StoreVersion(tuple((n, pairs[n]) for n in DATASETS))
    tv = pairs[TARGETS_KEY]
    return data, targets.defaults() if tv < 0 else targets.load(store, tv)


def make_token(data_version: StoreVersion, tg: Targets) -> str:
    return f"{data_version.token},{TARGETS_KEY}@{_or_minus_one(tg.version)}"


def resolve(store: Store, version: str | None = None, lang: str = "zh") -> str:
    """The token a review read now at `version` (None: the latest) would carry: checked,
    and fixed, so a build started with it reads exactly these versions."""
    return make_token(*pin(store, version, lang))


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value


# -- the review ----------------------------------------------------------------------------------


def review(
    store: Store,
    period: Period,
    version: StoreVersion | str | None = None,
    lang: str = "zh",
    *,
    as_of: dt.datetime | None = None,
) -> Review:
    """Everything the meeting needs for `period`, read at one version (the latest if None).

    `as_of` (default: now) only decides whether a missing submission is already overdue.
    """
    data_version, tg = pin(store, version, lang)
    con = store.connect(data_version)
    try:
        units = communities(con)
        # Names as the reader sees them (the demo's （示例） mark in their language).
        names = {
            c: name_label(n, lang)
            for c, n in zip(units["community_id"], units["name"], strict=True)
        }
        subs = submissions(store, period, data_version, tg, names, lang, as_of=as_of)
        before = submissions(store, period.previous(), data_version, tg, names, lang, as_of=as_of)
        head = headline(con, period, tg, lang)
        table, parts = league(con, period, tg, names, lang, missing=(subs, before))
        follow = follow_ups(con, period, tg, names, parts, lang)
        trend_frame = trend(con, period)
    finally:
        con.close()
    is_demo = store.is_demo
    text = narrative(period, head, table, follow, subs, lang, is_demo)
    return Review(
        period, data_version, tg, lang, is_demo, head, table, parts, follow, subs, trend_frame, text
    )


def league_only(data: Review, columns: tuple[str, ...]) -> Review:
    """`data` with the league's `columns` only and every other section empty: what a
    reader who may compare communities by name and score, and see nothing else, gets."""
    return replace(
        data,
        headline=data.headline.iloc[0:0],
        league=data.league[[c for c in columns if c in data.league.columns]].copy(),
        breakdown=data.breakdown.iloc[0:0],
        follow_ups=data.follow_ups.iloc[0:0],
        submissions=data.submissions.iloc[0:0],
        trend=data.trend.iloc[0:0],
        narrative=[],
    )


def headline(
    con: duckdb.DuckDBPyConnection, period: Period, tg: Targets, lang: str = "zh"
) -> pd.DataFrame:
    """City KPIs: value, previous period and 环比, same period last year and 同比, status.

    环比 and 同比 are i18n.delta: for a share the difference in percentage points (-13.0), for
    mean stars in stars, for anything else the relative change (0.2 = +20%); i18n.fmt_delta
    says them ("下降13.0个百分点" reads right, "下降13.5%" of a rate does not)."""
    now = catalog.totals(con, HEADLINE, period)
    # Each metric against its own earlier periods: a month of quarterly property ratings is
    # compared with the quarter before, not with the same quarter's ratings.
    compared = {n: compared_periods(metric(n).dataset, period) for n in HEADLINE}
    wanted: dict[Period, list[str]] = {}
    for name, pair in compared.items():
        for earlier in pair:
            wanted.setdefault(earlier, []).append(name)
    values = {earlier: catalog.totals(con, names, earlier) for earlier, names in wanted.items()}
    before = {n: values[mom][n] for n, (mom, _) in compared.items()}
    year_ago = {n: values[yoy][n] for n, (_, yoy) in compared.items()}
    rows = []
    for name in HEADLINE:
        m, target = metric(name), tg.get(name)
        state = target.status(now[name]) if target else None
        rows.append(
            {
                "metric": name,
                "label": m.text("label", lang),
                "format": m.format,
                "value": now[name],
                "previous": before[name],
                "mom": delta(m.format, now[name], before[name]),
                "year_ago": year_ago[name],
                "yoy": delta(m.format, now[name], year_ago[name]),
                "target": target.text(lang) if target else "",
                "status": state,
                "cue": targets.cue(state, lang) if target else "",
            }
        )
    return pd.DataFrame(rows)


def score(
    values: Mapping[str, float | None],
    weights: Mapping[str, float],
    tg: Targets,
    missing: Collection[str] = (),
) -> tuple[float | None, list[dict[str, Any]]]:
    """The weighted score 0-100 and one row per metric saying what it contributed.

    A metric in `missing` (its ledger is 缺报) is 未达标 with its full weight and no value.
    Otherwise a metric without a value is left out and the others' weights are scaled up.
    """
    present = {n: w for n, w in weights.items() if n in missing or values.get(n) is not None}
    total = sum(present.values())
    rows: list[dict[str, Any]] = []
    for name, weight in weights.items():
        is_missing = name in missing
        value = None if is_missing else values.get(name)
        state: Status | None = "red" if is_missing else tg.metrics[name].status(value)
        share = weight / total if name in present and total else 0.0
        points = tg.points[state] if state else None
        rows.append(
            {
                "metric": name,
                "value": value,
                "status": state,
                "missing": is_missing,
                "weight": weight,
                "share": share,
                "points": points,
                "contribution": share * points if points is not None else 0.0,
            }
        )
    if not total:
        return None, rows
    return float(sum(float(r["contribution"]) for r in rows)), rows


def is_missing(value: Any, state: Any) -> bool:
    """A scored cell 未达标 without a value: its ledger is 缺报 (`score` makes no other)."""
    return state == "red" and (value is None or bool(pd.isna(value)))


def missing_ledgers(subs: pd.DataFrame) -> dict[str, list[str]]:
    """Community -> the datasets it has not sent for the reporting period (缺报)."""
    gone = subs[subs["status"] == "missing"]
    return {str(c): list(g["dataset"]) for c, g in gone.groupby("community_id", sort=False)}


def league(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    tg: Targets,
    names: Mapping[str, str],
    lang: str = "zh",
    *,
    missing: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The league table (best first) and the long score breakdown behind it.

    `missing`: the submissions of the period and of the previous one (for the previous
    rank); a ledger missing there makes its metrics 未达标 (see `score`).

    League columns: rank, previous_rank, rank_change (+ = moved up), community_id,
    community, score, below_target (red metrics), missing_ledgers (ledger labels 缺报),
    and per scored metric `<m>`, `<m>_status`.
    """
    kind = targets.assessment_kind(period)
    weights = tg.weights(kind)
    units = list(names)
    gone, gone_before = (missing_ledgers(f) for f in missing) if missing else ({}, {})
    scores, parts = _scores(con, period, tg, weights, units, gone)
    previous, _ = _scores(con, period.previous(), tg, weights, units, gone_before)
    table = pd.DataFrame({"community_id": units})
    table["community"] = [names[u] for u in units]
    table["score"] = [scores[u] for u in units]
    table["rank"] = _ranks(scores, units)
    table["previous_rank"] = _ranks(previous, units)
    table["rank_change"] = table["previous_rank"] - table["rank"]
    below = parts[parts["status"] == "red"].groupby("community_id")["metric"].apply(list)
    table["below_target"] = [
        [metric(m).text("label", lang) for m in below.get(u, [])] for u in units
    ]
    table["missing_ledgers"] = [[_ledger_label(d, lang) for d in gone.get(u, [])] for u in units]
    wide = parts.pivot(index="community_id", columns="metric", values="value")
    states = parts.pivot(index="community_id", columns="metric", values="status")
    for name in weights:
        table[name] = wide[name].reindex(units).to_numpy()
        table[name + "_status"] = states[name].reindex(units).to_numpy()
    table = table.sort_values(["rank", "community_id"], na_position="last", kind="stable")
    columns = ["rank", "previous_rank", "rank_change", "community_id", "community", "score"]
    rest = [c for c in table.columns if c not in columns]
    table = table[columns + rest].reset_index(drop=True)
    for column in ("rank", "previous_rank", "rank_change"):
        table[column] = table[column].astype("Int64")

    parts["community"] = parts["community_id"].map(names)
    parts["label"] = parts["metric"].map(lambda m: metric(m).text("label", lang))
    parts["target"] = parts["metric"].map(lambda m: tg.metrics[m].text(lang))
    parts["cue"] = parts["status"].map(lambda s: targets.cue(s, lang))
    parts["explanation"] = [_explain(row, lang) for row in records(parts)]
    order = {u: i for i, u in enumerate(table["community_id"])}
    parts = parts.sort_values(
        by=["community_id", "metric"],
        key=lambda col: (
            col.map(order)
            if col.name == "community_id"
            else col.map({m: i for i, m in enumerate(weights)})
        ),
    ).reset_index(drop=True)
    return table, parts[
        [
            "community_id",
            "community",
            "metric",
            "label",
            "value",
            "target",
            "status",
            "cue",
            "missing",
            "weight",
            "share",
            "points",
            "contribution",
            "explanation",
        ]
    ]


def _scores(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    tg: Targets,
    weights: Mapping[str, float],
    units: list[str],
    missing: Mapping[str, list[str]],
) -> tuple[dict[str, float | None], pd.DataFrame]:
    values = catalog.by_unit(con, list(weights), period, units)
    scores: dict[str, float | None] = {}
    rows = []
    for unit in units:
        row = {n: _value(values.loc[unit, n]) for n in weights}
        gone = [n for n in weights if metric(n).dataset in missing.get(unit, ())]
        scores[unit], parts = score(row, weights, tg, gone)
        rows += [{"community_id": unit, **p} for p in parts]
    frame = pd.DataFrame(
        rows,
        columns=[
            "community_id",
            "metric",
            "value",
            "status",
            "missing",
            "weight",
            "share",
            "points",
            "contribution",
        ],
    )
    return scores, frame


def _value(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _ranks(scores: Mapping[str, float | None], units: list[str]) -> list[float]:
    """Competition ranking (1, 2, 2, 4) by score, best first; NaN where there is no score.
    Scores are rounded to one decimal first, as they are shown, so equal-looking is equal."""
    series = pd.Series([scores[u] for u in units], dtype="float64").round(1)
    return list(series.rank(ascending=False, method="min"))


def _ledger_label(dataset: str, lang: str) -> str:
    return DATASETS[dataset].zh if lang == "zh" else DATASETS[dataset].en


def _explain(row: Mapping[str, Any], lang: str) -> str:
    m = metric(row["metric"])
    if row["missing"]:
        return t(
            "score_explain_missing",
            lang,
            label=m.text("label", lang),
            ledger=_ledger_label(m.dataset, lang),
            points=row["points"],
            share=row["share"],
            contribution=row["contribution"],
        )
    if row["value"] is None or pd.isna(row["value"]):
        return t("score_explain_none", lang, label=m.text("label", lang))
    return t(
        "score_explain",
        lang,
        label=m.text("label", lang),
        value=fmt_number(row["value"], m.format, lang),
        target=row["target"],
        cue=targets.cue(row["status"], lang),
        points=row["points"],
        share=row["share"],
        contribution=row["contribution"],
    )


def trend(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """City totals of TREND_METRICS by month, the 12 months up to the period's end."""
    last = period.end.replace(day=1)
    window = Period.span(add_months(last, -11), last)
    frame = catalog.trend(con, TREND_METRICS, window).reset_index()
    return frame


# -- follow-ups --------------------------------------------------------------------------------

# Open at the period end and older than $days: the same rule as overdue_cases.sql.
OPEN_CASES_SQL = """
SELECT c.case_id, c.community_id, c.grid_id, g.name AS grid_name, c.case_type, c.category,
       c.is_supervised, c.reported_on, date_diff('day', c.reported_on, $period_end) AS age_days
FROM cases AS c LEFT JOIN grids AS g ON g.grid_id = c.grid_id
WHERE c.reported_on < $period_end - to_days(CAST($days AS INTEGER))
    AND (c.resolved_on IS NULL OR c.resolved_on > $period_end)
ORDER BY age_days DESC, c.case_id
"""

# Unclaimed at the period end and older than $days: as wishes_unclaimed_overdue.sql.
UNCLAIMED_WISHES_SQL = """
SELECT w.wish_id, w.community_id, w.grid_id, g.name AS grid_name, w.beneficiary_group,
       w.wish_category, w.registered_on, date_diff('day', w.registered_on, $period_end) AS age_days
FROM wishes AS w LEFT JOIN grids AS g ON g.grid_id = w.grid_id
WHERE w.registered_on < $period_end - to_days(CAST($days AS INTEGER))
    AND (w.claimed_on IS NULL OR w.claimed_on > $period_end)
ORDER BY age_days DESC, w.wish_id
"""

# Rated two stars or fewer, or sanctioned, in the quarters the period touches (as the
# failing_companies and property_sanctions metrics count them).
PROPERTY_SQL = """
SELECT r.quarter, r.community_id, r.compound, r.company, r.stars, r.outcome
FROM property_ratings AS r
WHERE quarter_start(r.quarter) <= $period_end AND quarter_end(r.quarter) >= $period_start
    AND (r.stars <= 2 OR r.outcome <> '无')
ORDER BY r.quarter DESC, r.stars, r.community_id, r.company
"""

FOLLOW_UP_COLUMNS = [
    "kind",
    "kind_label",
    "community_id",
    "community",
    "owner",
    "item",
    "detail",
    "since",
    "age_days",
    "status",
    "cue",
]


def follow_ups(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    tg: Targets,
    names: Mapping[str, str],
    breakdown: pd.DataFrame,
    lang: str = "zh",
) -> pd.DataFrame:
    """需督办事项: open cases and unclaimed wishes older than `follow_up_days` at the period
    end, failing or sanctioned property ratings, and every scored metric short of its
    target (接近 or 未达标, with `status` and `cue`; empty for the other kinds).

    `owner` is who answers for it: the grid (within its community) or the community.
    `age_days` is days open at the period end; empty for ratings and metrics.
    `since` is the day (ISO, 2025-09-01) for cases and wishes, a period code otherwise.
    """
    params = {"period_end": period.end, "days": tg.follow_up_days}
    rows: list[dict[str, Any]] = []
    cur = con.cursor()
    for r in records(cur.execute(OPEN_CASES_SQL, params).df()):
        supervised = t("fu_supervised", lang) if r["is_supervised"] else ""
        rows.append(
            _follow_up(
                "case",
                r,
                names,
                lang,
                item=r["case_id"],
                detail=t(
                    "fu_case_detail",
                    lang,
                    case_type=r["case_type"],
                    category=r["category"],
                    supervised=supervised,
                ),
                since=r["reported_on"],
            )
        )
    for r in records(cur.execute(UNCLAIMED_WISHES_SQL, params).df()):
        detail = t(
            "fu_wish_detail", lang, group=r["beneficiary_group"], category=r["wish_category"]
        )
        rows.append(
            _follow_up(
                "wish", r, names, lang, item=r["wish_id"], detail=detail, since=r["registered_on"]
            )
        )
    span = {"period_start": period.start, "period_end": period.end}
    for r in records(cur.execute(PROPERTY_SQL, span).df()):
        detail = t(
            "fu_property_detail",
            lang,
            compound=r["compound"],
            stars=r["stars"],
            outcome=r["outcome"],
        )
        rows.append(
            _follow_up(
                "property", r, names, lang, item=r["company"], detail=detail, since=r["quarter"]
            )
        )
    # Below target is anything short of 达标: 未达标 and 接近 alike, each with its status.
    for r in records(breakdown[breakdown["status"].isin(["amber", "red"])]):
        m = metric(r["metric"])
        if r["missing"]:
            detail = t(
                "fu_metric_missing", lang, ledger=_ledger_label(m.dataset, lang), target=r["target"]
            )
        else:
            detail = t(
                "fu_metric_detail",
                lang,
                value=fmt_number(r["value"], m.format, lang),
                target=r["target"],
            )
        item = _follow_up(
            "metric", r, names, lang, item=r["label"], detail=detail, since=period.code
        )
        rows.append({**item, "status": r["status"], "cue": targets.cue(r["status"], lang)})
    frame = pd.DataFrame(rows, columns=FOLLOW_UP_COLUMNS)
    frame["age_days"] = frame["age_days"].astype("Int64")
    return frame


def _follow_up(
    kind: str,
    row: Mapping[str, Any],
    names: Mapping[str, str],
    lang: str,
    *,
    item: str,
    detail: str,
    since: Any,
) -> dict[str, Any]:
    """One follow-up item; its status says why it is on the list (a metric's item gets the
    metric's status instead)."""
    community = names.get(row["community_id"], row["community_id"])
    grid = row.get("grid_name")
    owner = f"{community} {grid}" if isinstance(grid, str) and grid else community
    age = row.get("age_days")
    return {
        "kind": kind,
        "kind_label": t("fu_" + kind, lang),
        "community_id": row["community_id"],
        "community": community,
        "owner": owner,
        "item": item,
        "detail": detail,
        "since": _day(since),
        "age_days": None if age is None or pd.isna(age) else int(age),
        "status": None,
        "cue": t("fu_cue_" + kind, lang),
    }


def _day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else str(value)


# -- submissions -------------------------------------------------------------------------------


def reporting_periods(period: Period) -> dict[str, Period]:
    """The ledger -> the reporting period due for the review: the review's last month for
    the monthly ledgers, and its quarter for property ratings when that month ends it."""
    last = period.end.replace(day=1)
    out = {name: Period.of("month", last) for name in MONTHLY_LEDGERS}
    if last.month % 3 == 0:
        quarter = Period.of("quarter", add_months(last, -2))
        out.update({name: quarter for name in QUARTERLY_LEDGERS})
    return out


def deadline(reporting: Period, day: int) -> dt.datetime:
    """The end of day `day` of the month after the reporting period, local time."""
    month = add_months(reporting.end, 1)
    return dt.datetime.combine(month.replace(day=day), dt.time.max, tzinfo=local_tz())


def _covers(entry: Mapping[str, Any], reporting: Period) -> bool:
    code = entry.get("period")
    if not code:
        # A whole-table load (the demo, an admin's replace) carries no period: it holds
        # every period it holds.
        return not entry.get("community_id")
    try:
        p = Period.parse(str(code))
    except ValueError:
        return False
    return p.start <= reporting.end and p.end >= reporting.start


SUBMISSION_COLUMNS = [
    "community_id",
    "community",
    "dataset",
    "dataset_label",
    "reporting",
    "deadline",
    "status",
    "cue",
    "submitted_at",
    "version",
    "user",
    "note",
]


def submissions(
    store: Store,
    period: Period,
    version: StoreVersion,
    tg: Targets,
    names: Mapping[str, str],
    lang: str = "zh",
    *,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """Each community × ledger due for the review: on time, late, missing or not yet due,
    from the commits up to `version` (first covering commit's time, version and user).

    Uploads carry community_id and period in their commit metadata. A load without a
    community (the demo builder, an admin's whole-table replace) counts for every
    community; the demo builder's loads count as on time, and the note says so.
    """
    now = as_of or dt.datetime.now(tz=local_tz())
    rows = []
    for dataset, reporting in reporting_periods(period).items():
        due = deadline(reporting, tg.deadline_day)
        pinned = version.of(dataset)
        commits = [
            c
            for c in reversed(store.history(dataset))  # oldest first
            if c["version"] is not None and c["version"] <= pinned and _covers(c, reporting)
        ]
        for community_id, community in names.items():
            first = next(
                (c for c in commits if c.get("community_id") in (None, "", community_id)), None
            )
            note = ""
            state: SubmissionStatus
            if first is None:
                state = "missing" if now > due else "pending"
            elif first.get("user") == "demo" and not first.get("community_id"):
                state, note = "on_time", t("sub_demo_note", lang)
            else:
                state = "on_time" if first["committed_at"] <= due else "late"
                if not first.get("community_id"):
                    note = t("sub_whole_table_note", lang)
            submitted = (
                first["committed_at"].astimezone(local_tz()).replace(tzinfo=None, microsecond=0)
                if first
                else None
            )
            colour = SUBMISSION_STATUS[state]
            icon = targets.ICONS[colour] if colour else "⏳"
            rows.append(
                {
                    "community_id": community_id,
                    "community": community,
                    "dataset": dataset,
                    "dataset_label": DATASETS[dataset].zh if lang == "zh" else DATASETS[dataset].en,
                    "reporting": reporting.code,
                    "deadline": due.date(),
                    "status": state,
                    "cue": f"{icon} {t('sub_' + state, lang)}",
                    "submitted_at": submitted,
                    "version": first["version"] if first else None,
                    "user": first.get("user", "") if first else "",
                    "note": note,
                }
            )
    frame = pd.DataFrame(rows, columns=SUBMISSION_COLUMNS)
    frame["version"] = frame["version"].astype("Int64")
    return frame


# -- narrative ----------------------------------------------------------------------------------


def _change_phrase(row: Mapping[str, Any], against: str, what: str, lang: str) -> str:
    """环比/同比 of a headline row in words: 上升300.0%, 下降13.0个百分点, 持平."""
    label = t(what, lang)
    previous = row["previous" if against == "mom" else "year_ago"]
    text = fmt_delta(row["format"], row["value"], previous, lang)
    if text == "—":
        return t("nar_na", lang, what=label)
    if text.startswith("±"):
        return t("nar_flat", lang, what=label)
    key = "nar_up" if text.startswith("+") else "nar_down"
    return t(key, lang, what=label, pct=text.lstrip("+−-"))


def _cmp(row: Mapping[str, Any], lang: str) -> str:
    state = row["status"]
    if not isinstance(state, str):
        return t("nar_na", lang, what="").strip()
    return t("nar_cmp_" + state, lang, target=row["target"])


def narrative(
    period: Period,
    head: pd.DataFrame,
    table: pd.DataFrame,
    follow: pd.DataFrame,
    subs: pd.DataFrame,
    lang: str = "zh",
    is_demo: bool = False,
) -> list[str]:
    """The meeting's opening paragraph, one sentence per item, from message templates."""
    h = {r["metric"]: r for r in records(head)}
    fmt = {n: fmt_number(r["value"], r["format"], lang) for n, r in h.items()}
    label = period.label(lang)
    out = []
    if not h["cases_received"]["value"]:
        out.append(t("nar_cases_none", lang, period=label))
    else:
        out.append(
            t(
                "nar_cases",
                lang,
                period=label,
                disputes=fmt["disputes_handled"],
                mom=_change_phrase(h["disputes_handled"], "mom", "nar_mom", lang),
                yoy=_change_phrase(h["disputes_handled"], "yoy", "nar_yoy", lang),
                cases=fmt["cases_received"],
                rate=fmt["resolution_rate"],
                rate_mom=_change_phrase(h["resolution_rate"], "mom", "nar_mom", lang),
                cmp=_cmp(h["resolution_rate"], lang),
            )
        )
    out.append(
        t("nar_overdue", lang, overdue=fmt["overdue_cases"], cmp=_cmp(h["overdue_cases"], lang))
    )
    out.append(
        t(
            "nar_wishes",
            lang,
            fulfilled=fmt["wishes_fulfilled"],
            rate=fmt["fulfillment_rate"],
            cmp=_cmp(h["fulfillment_rate"], lang),
            unclaimed=fmt["wishes_unclaimed_overdue"],
        )
    )
    if h["mean_stars"]["value"] is not None:
        out.append(
            t("nar_property", lang, stars=fmt["mean_stars"], cmp=_cmp(h["mean_stars"], lang))
        )
    ranked = table.dropna(subset=["score"])
    if len(ranked) >= 2:
        sep = t("nar_list_sep", lang)

        def item(r: Mapping[str, Any]) -> str:
            return t("nar_score_item", lang, name=r["community"], score=f"{r['score']:.1f}")

        ordered = records(ranked)
        # The first three places, ties included, never the last community itself.
        top = [r for r in ordered[:-1] if r["rank"] <= 3]
        out.append(
            t(
                "nar_ranking",
                lang,
                top=sep.join(item(r) for r in top),
                bottom=item(ordered[-1]),
            )
        )
    below = table[table["below_target"].map(len) > 0]
    if len(below):
        sep = t("nar_list_sep", lang)
        items = sep.join(
            t("nar_below_item", lang, name=r["community"], metrics=sep.join(r["below_target"]))
            for r in records(below.sort_values("rank", ascending=False))
        )
        out.append(t("nar_below", lang, count=len(below), items=items))
    elif len(table):
        out.append(t("nar_all_met", lang))
    if "missing_ledgers" in table:
        gone = table[table["missing_ledgers"].map(len) > 0]
        if len(gone):
            sep = t("nar_list_sep", lang)
            items = sep.join(
                t(
                    "nar_missing_item",
                    lang,
                    name=r["community"],
                    ledgers=sep.join(r["missing_ledgers"]),
                )
                for r in records(gone.sort_values("community_id"))
            )
            out.append(t("nar_missing", lang, items=items))
    counts = follow["kind"].value_counts()
    states = follow.loc[follow["kind"] == "metric", "status"].value_counts()
    out.append(
        t(
            "nar_followups",
            lang,
            total=len(follow),
            cases=int(counts.get("case", 0)),
            wishes=int(counts.get("wish", 0)),
            property=int(counts.get("property", 0)),
            red=int(states.get("red", 0)),
            amber=int(states.get("amber", 0)),
        )
    )
    if len(subs):
        status_counts = subs["status"].value_counts()
        reporting = Period.parse(subs["reporting"].iloc[0]).label(lang)
        text = t(
            "nar_submissions",
            lang,
            reporting=reporting,
            **{s: int(status_counts.get(s, 0)) for s in SUBMISSION_STATUS},
        )
        if is_demo and (subs["note"] == t("sub_demo_note", lang)).any():
            text = text[:-1] + t("nar_submissions_demo", lang) + text[-1]
        out.append(text)
    return out

"""The league of communities: weighted scores, ranks, and the breakdown that explains them.

Scoring: each weighted metric earns points by its status (targets_default.yaml `points`,
e.g. 达标 100, 接近 60, 未达标 0); the score is the weighted mean of the points over the
metrics that have a value, 0-100. A metric whose ledger is missing (缺报) for the reporting
period scores as 未达标 with its full weight, whatever the store holds: otherwise a
community that sends nothing would score 达标 on every count where empty means 0
(超30天未认领心愿 0) and have its other metrics left out.

Ranks: competition ranking by the score as shown (one decimal), "3=" where shared
(`rank_text`). A community that sent no ledger at all for the period ranks after every
community that sent one, whatever its score: the registry's metrics (社区工作者配备) could
otherwise lift it above one that reported poor figures. A community without a score has
no rank (—) and comes last.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import duckdb
import pandas as pd

from metrics import catalog, targets
from metrics.catalog import metric
from metrics.i18n import fmt_number, t
from metrics.periods import Period
from metrics.review.core import ledger_label, records
from metrics.targets import Status, Targets


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
    silent: tuple[Collection[str], Collection[str]] = ((), ()),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The league table (best first) and the long score breakdown behind it.

    `missing`: the submissions of the period and of the previous one (for the previous
    rank); a ledger missing there makes its metrics 未达标 (see `score`). `silent`: the
    communities that sent nothing in the period and in the previous one (ranked last).

    League columns: rank, tied (another community has the same rank), previous_rank,
    rank_change (+ = moved up), community_id, community, score, sent_nothing, below_target
    (red metrics), missing_ledgers (ledger labels 缺报), and per scored metric `<m>`,
    `<m>_status`.
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
    table["rank"] = _ranks(scores, units, silent[0])
    table["tied"] = table["rank"].duplicated(keep=False) & table["rank"].notna()
    table["previous_rank"] = _ranks(previous, units, silent[1])
    table["sent_nothing"] = [u in silent[0] for u in units]
    table["rank_change"] = table["previous_rank"] - table["rank"]
    below = parts[parts["status"] == "red"].groupby("community_id")["metric"].apply(list)
    table["below_target"] = [
        [metric(m).text("label", lang) for m in below.get(u, [])] for u in units
    ]
    table["missing_ledgers"] = [[ledger_label(d, lang) for d in gone.get(u, [])] for u in units]
    wide = parts.pivot(index="community_id", columns="metric", values="value")
    states = parts.pivot(index="community_id", columns="metric", values="status")
    for name in weights:
        table[name] = wide[name].reindex(units).to_numpy()
        table[name + "_status"] = states[name].reindex(units).to_numpy()
    table = table.sort_values(["rank", "community_id"], na_position="last", kind="stable")
    first = ("rank", "tied", "previous_rank", "rank_change", "community_id", "community")
    columns = [*first, "score"]
    rest = [c for c in table.columns if c not in columns]
    table = table[columns + rest].reset_index(drop=True)
    for column in ("rank", "previous_rank", "rank_change"):
        table[column] = table[column].astype("Int64")
    return table, _breakdown(parts, list(table["community_id"]), names, weights, tg, lang)


def _breakdown(
    parts: pd.DataFrame,
    order_of: list[str],
    names: Mapping[str, str],
    weights: Mapping[str, float],
    tg: Targets,
    lang: str,
) -> pd.DataFrame:
    """The score breakdown, communities in league order (`order_of`), metrics by weight."""
    parts["community"] = parts["community_id"].map(names)
    parts["label"] = parts["metric"].map(lambda m: metric(m).text("label", lang))
    parts["target"] = parts["metric"].map(lambda m: tg.metrics[m].text(lang))
    parts["cue"] = parts["status"].map(lambda s: targets.cue(s, lang))
    parts["explanation"] = [_explain(row, lang) for row in records(parts)]
    order = {u: i for i, u in enumerate(order_of)}
    parts = parts.sort_values(
        by=["community_id", "metric"],
        key=lambda col: (
            col.map(order)
            if col.name == "community_id"
            else col.map({m: i for i, m in enumerate(weights)})
        ),
    ).reset_index(drop=True)
    return parts[
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


def _ranks(
    scores: Mapping[str, float | None], units: list[str], silent: Collection[str] = ()
) -> list[float]:
    """Competition ranking (1, 2, 2, 4) by score, best first; NaN where there is no score.
    Scores are rounded to one decimal first, as they are shown, so equal-looking is equal.
    The `silent` communities (sent nothing) come after all the others; when no community
    sent anything there is no league (every rank NaN: a period before the data began)."""
    if units and all(u in silent for u in units):
        return [float("nan")] * len(units)
    series = pd.Series([scores[u] for u in units], dtype="float64").round(1)
    # Scores are 0-100: 1000 points behind puts a silent community after every other.
    behind = pd.Series([1000.0 if u in silent else 0.0 for u in units])
    return list((behind - series).rank(method="min"))


def rank_text(rank: Any, tied: Any = False) -> str:
    """A rank as every ranking writes it: 3, "3=" when shared, "—" without one."""
    if rank is None or pd.isna(rank):
        return "—"
    return f"{int(rank)}{'=' if bool(tied) else ''}"


def _explain(row: Mapping[str, Any], lang: str) -> str:
    m = metric(row["metric"])
    if row["missing"]:
        return t(
            "score_explain_missing",
            lang,
            label=m.text("label", lang),
            ledger=ledger_label(m.dataset, lang),
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

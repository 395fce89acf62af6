"""Every page under Streamlit's AppTest, on the hand-checked fixture store (tests/fixtures).

The expected KPI values are worked out by hand from the fixture CSVs for September 2025:
    cases received in Sep: C03 C04 C05 C09 C10                       = 5
    disputes (矛盾纠纷) among them: C03 C04 C10               = 3   (Aug: C01 C08 = 2 → +50.0%)
    urgent problems resolved in Sep: C02 (closed 09-10)              = 1
    resolution rate: C03 resolved by 09-30 of 5 (C09, C10 later)      = 20.0%
                     (Aug: C01 C08 by 08-31 of C01 C02 C08 = 66.7% → −46.7 points)
    overdue at 09-30 (open, received before 08-31)                   = 0
    wishes fulfilled in Sep: W02 W06                                 = 2
    fulfilment rate of Sep registrations W03 W04                     = 0.0%
    flexible placements Sep: 7 + 3                                   = 10
    mean stars, 2025Q3 ratings 5, 4, 2                               = 3.7
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from conftest import fixture_store
from streamlit.testing.v1 import AppTest

from metrics.i18n import t
from metrics.store import DEMO_DIR, Store

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["overview", "meeting", "cases", "wishes", "employment", "property", "registry"]


@pytest.fixture
def data_dir(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    # The fixture store is real data, not the demo: without a sign-in configured, only the
    # explicit single-user local mode shows it (test_access.py signs in each role instead).
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")
    # Caches live in the process; a test must not see another test's store.
    st.cache_resource.clear()
    st.cache_data.clear()
    yield store.root
    st.cache_resource.clear()
    st.cache_data.clear()


def run_page(page: str, lang: str = "zh", **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"pages/{page}.py")
    for key, value in {"lang": lang, **params}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def cards(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_both_languages(data_dir: Path, page: str, lang: str) -> None:
    at = run_page(page, lang, period="2025-09")
    assert at.title[0].value == t(f"page_{page}", lang)
    assert len(at.metric) >= 4
    assert at.get("plotly_chart"), "every page draws at least one chart"
    assert at.dataframe, "every page has a ranking table"


def test_overview_september_figures(data_dir: Path) -> None:
    at = run_page("overview", period="2025-09")
    values = cards(at)
    assert values["排查处理矛盾纠纷"] == "3起"
    assert values["化解率"] == "20.0%"
    assert values["解决急难愁盼问题"] == "1个"
    assert values["超期未办结"] == "0件"
    assert values["圆梦微心愿"] == "2个"
    assert values["心愿实现率"] == "0.0%"
    assert values["灵活就业"] == "10人"
    assert values["物业平均星级"] == "3.7星"
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["排查处理矛盾纠纷"] == "+50.0%"
    assert deltas["化解率"] == "-46.7个百分点", "a share changes by percentage points"


def test_overview_in_english(data_dir: Path) -> None:
    at = run_page("overview", "en", period="2025-09")
    values = cards(at)
    assert values["Disputes handled"] == "3"
    assert values["Urgent problems resolved"] == "1"
    assert values["Resolution rate"] == "20.0%"


def test_cases_page_for_one_community(data_dir: Path) -> None:
    # QTX01 in September: C03 C04 C05 received; C03 resolved → 33.3%.
    at = run_page("cases", period="2025-09", community="QTX01")
    values = cards(at)
    assert values["受理事项"] == "3件"
    assert values["化解率"] == "33.3%"
    # The ranking is now of QTX01's grids: G01, G02 and the micro-grid G03.
    ranking = at.dataframe[0].value
    assert sorted(ranking["网格"]) == ["第一网格", "第三网格（微网格）", "第二网格"]
    # The records table holds exactly the three cases.
    records = at.dataframe[-1].value
    assert sorted(records["编号"]) == ["C03", "C04", "C05"]


def test_registry_page_against_standards(data_dir: Path) -> None:
    # Workers 6 + 3 + 3 = 12 over residents 3,000 + 2,000 + 1,000 → 20.0 per 10,000.
    at = run_page("registry", period="2025-09")
    values = cards(at)
    assert values["城市社区"] == "3个"
    assert values["社区工作者"] == "12人"
    assert values["每万人社区工作者"] == "20.0人/万人"


def test_quarter_period_from_url(data_dir: Path) -> None:
    # 2025Q3 ratings: 5, 4, 2 stars → mean 3.7, one of three at 4 or more... two: 66.7%.
    at = run_page("property", kind="quarter", period="2025Q3")
    values = cards(at)
    assert values["物业平均星级"] == "3.7星"
    assert values["四星及以上占比"] == "66.7%"
    assert values["不合格物业企业"] == "1家"


def test_cold_start_builds_the_demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(tmp_path / "fresh"))
    st.cache_resource.clear()
    st.cache_data.clear()
    at = run_page("overview")
    assert any("演示数据" in m.value for m in at.markdown), "the demo badge is shown"
    assert Store(tmp_path / "fresh", DEMO_DIR).is_demo, "the demo in its own directory"
    assert not Store(tmp_path / "fresh").exists(), "no real store made"
    st.cache_resource.clear()
    st.cache_data.clear()


def test_no_demo_badge_on_real_data(data_dir: Path) -> None:
    at = run_page("overview", period="2025-09")
    assert not any("演示数据" in m.value for m in at.markdown)


def test_demo_mode_is_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixture_store(tmp_path, DEMO_DIR)  # the fixture tables as the demo store, no real one
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GOVDASH_LOCAL_MODE", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = run_page("overview", period="2025-09")
    assert any(t("demo_mode", "zh") in i.value for i in at.info)
    at = run_page("upload")
    assert not at.file_uploader, "no uploads without sign-in unless local mode is on"
    assert at.title[0].value != t("page_upload", "zh")


@pytest.mark.parametrize("page", ["overview", "cases", "meeting", "upload", "admin"])
def test_without_sign_in_real_data_is_not_shown(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    """No [auth], no local mode, and a store that is not the demo (say, secrets.toml went
    missing on the server): nobody sees anything but what the operator has to do."""
    monkeypatch.delenv("GOVDASH_LOCAL_MODE", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == t("setup_title", "zh")
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not at.file_uploader


def test_local_mode_only_for_a_server_on_this_machine(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")  # reachable from other machines
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.switch_page("pages/upload.py")
        at.run()
    finally:
        config.set_option("server.address", before)
    assert at.title[0].value == t("setup_title", "zh"), "local mode is refused"
    assert not at.file_uploader and not at.metric


def test_a_failing_query_shows_a_message_not_a_traceback(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics import catalog

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(catalog, "totals", broken)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/overview.py")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("page_error", "zh")]
    assert "disk on fire" not in str(at)


UPLOAD_HEADER = "编号,社区编码,网格编码,类型,类别,来源渠道,是否督办,受理日期,办结日期,状态,备注\n"


def store_files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted((root / "store").rglob("*")) if p.is_file()}


@pytest.fixture
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Single-user local mode: without sign-in, uploads are only on when switched on."""
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")


@pytest.mark.usefixtures("local_mode")
def test_upload_page_rejects_a_bad_file_row_by_row(data_dir: Path) -> None:
    before = store_files(data_dir)
    body = (
        UPLOAD_HEADER
        + "C30,QTX01,QTX01-G01,矛盾纠纷,邻里纠纷,板凳会,否,2025-11-03,2025-11-01,已化解,\n"
        + "C31,QTX02,QTX02-G01,矛盾纠纷,邻里纠纷,板凳会,否,2025-11-03,,办理中,\n"
    )
    at = run_page("upload")
    at.file_uploader[0].set_value(("11月台账.csv", body.encode("gb18030"), "text/csv"))
    at.run()
    assert not at.exception
    problems = at.dataframe[0].value
    # Excel rows: the header is row 1, so the data rows are 2 and 3.
    assert list(problems["行"]) == [2, 3, 3]
    assert list(problems["列"]) == ["办结日期", "社区编码", "网格编码"]
    assert "文件未导入" in at.error[0].value
    assert store_files(data_dir) == before, "a rejected file leaves the store byte-for-byte alone"
    assert t("upload_annotated", "zh") in [b.label for b in at.get("download_button")]


@pytest.mark.usefixtures("local_mode")
def test_upload_page_says_what_is_wrong_with_an_unreadable_file(data_dir: Path) -> None:
    at = run_page("upload")
    at.file_uploader[0].set_value(("11月台账.xlsx", b"PK\x03\x04 not really a workbook", "x"))
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "共 0 行" not in at.error[0].value
    assert "行" not in at.dataframe[0].value.columns if at.dataframe else True  # no table
    assert t("upload_annotated", "zh") not in [b.label for b in at.get("download_button")]


@pytest.mark.usefixtures("local_mode")
def test_upload_page_previews_and_commits(data_dir: Path) -> None:
    body = (
        UPLOAD_HEADER
        # C07 exists with an empty note: changed. C20 is new.
        + "C07,QTX01,QTX01-G01,矛盾纠纷,停车纠纷,板凳会,否,2025-11-02,2025-11-04,已化解,"
        + "补记调解结果\n"
        + "C20,QTX01,QTX01-G02,急难愁盼,路灯维修,网格走访,是,2025/11/12,,办理中,\n"
    )
    at = run_page("upload")
    at.file_uploader[0].set_value(("11月台账.csv", body.encode("utf-8-sig"), "text/csv"))
    at.run()
    counts = cards(at)
    assert (counts["新增"], counts["修改"], counts["未变"], counts["删除"]) == ("1", "1", "0", "0")
    at.button(key="upload_go").click().run()
    assert not at.exception
    assert any("新增 1 行，修改 1 行" in s.value for s in at.success), [s.value for s in at.success]
    con = Store(data_dir).connect()
    rows = con.execute("SELECT case_id, note FROM cases WHERE case_id IN ('C07', 'C20')").fetchall()
    assert sorted(rows) == [("C07", "补记调解结果"), ("C20", None)]
    history = at.dataframe[-1].value
    assert list(history["文件名"]) == ["11月台账.csv"]


@pytest.mark.usefixtures("local_mode")
def test_a_rerun_of_the_upload_page_does_not_check_the_file_again(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics import ingest

    checked: list[str] = []
    validate = ingest.validate

    def counted(data: bytes, name: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(name)
        return validate(data, name, *args, **kwargs)

    monkeypatch.setattr(ingest, "validate", counted)
    body = UPLOAD_HEADER + "C20,QTX01,QTX01-G02,急难愁盼,路灯维修,网格走访,是,2025/11/12,,办理中,\n"
    at = run_page("upload")
    at.selectbox(key="upload_period_month").set_value("2025-11")
    at.file_uploader[0].set_value(("11月台账.csv", body.encode("utf-8"), "text/csv"))
    at.run()
    at.checkbox(key="upload_replace").check().run()  # a rerun, the same file
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert cards(at)["新增"] == "1"
    assert checked == ["11月台账.csv"], "checked once, not on every rerun"
    at.file_uploader[0].set_value(("12月台账.csv", body.encode("utf-8"), "text/csv")).run()
    assert checked == ["11月台账.csv", "12月台账.csv"], "another file is checked"


def test_only_the_cache_module_caches() -> None:
    # One place to look for what is cached and by what key (the store version, the reader).
    root = Path(APP).parent
    files = [root / "app.py", *sorted((root / "pages").glob("*.py"))]
    caching = [p.name for p in files if "st.cache_" in p.read_text(encoding="utf-8")]
    assert caching == ["_cache.py"]


def test_english_readers_see_the_contract_values_in_english(data_dir: Path) -> None:
    # QTX01's September cases: C03 resolved, C04 not resolved, C05 open.
    at = run_page("cases", "en", period="2025-09", community="QTX01")
    records = at.dataframe[-1].value
    assert sorted(records["Status"]) == ["Not resolved", "Open", "Resolved"]
    chinese = run_page("cases", "zh", period="2025-09", community="QTX01").dataframe[-1].value
    assert sorted(chinese["状态"]) == ["办理中", "已化解", "未化解"]


def sparklines(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if "data:image/svg+xml" in h.proto.body]


def test_monthly_cards_draw_their_year_as_an_svg_image(data_dir: Path) -> None:
    at = run_page("overview", period="2025-09")
    lines = sparklines(at)
    assert len(lines) == 8, "one sparkline in each monthly card"
    # Not st.metric's own chart: that one loads Vega-Lite in the browser.
    assert not any(m.proto.chart_data for m in at.get("metric"))
    disputes = next(s for s in lines if "2025年9月: 3起" in s)
    tooltip = re.search(r'title="([^"]*)"', disputes)[1].split("\n")  # type: ignore[index]
    assert len(tooltip) == 12 and tooltip[0].startswith("2024年10月:"), "the last twelve months"


def test_quarterly_cards_have_no_sparkline(data_dir: Path) -> None:
    at = run_page("property", kind="quarter", period="2025Q3")
    assert not sparklines(at)


def test_sparkline_image() -> None:
    from pages import _cards

    tag = _cards.sparkline([0, 2, 4], ["a", "<b>", "c&d"], bars=True, colour="#079464")
    assert 'title="a\n&lt;b&gt;\nc&amp;d"' in tag, "the tooltip is text, escaped"
    svg = base64.b64decode(re.search(r"base64,([^\"]+)", tag)[1]).decode()  # type: ignore[index]
    assert svg.count("<rect") == 3 and 'fill="#079464"' in svg
    line = _cards.sparkline([5, 5], ["x", "y"], bars=False, colour="#6b7280")
    svg = base64.b64decode(re.search(r"base64,([^\"]+)", line)[1]).decode()  # type: ignore[index]
    assert "<polyline" in svg and "<rect" not in svg


def test_a_long_ranking_reaches_the_browser_a_page_at_a_time(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pages import _rankings

    everyone = run_page("overview", period="2025-09").dataframe[0].value
    assert len(everyone) == 3 and not run_page("overview", period="2025-09").number_input
    monkeypatch.setattr(_rankings, "RANKING_PAGE", 2)
    at = run_page("overview", period="2025-09")
    assert at.dataframe[0].value.equals(everyone.iloc[:2])
    at.number_input(key="rank_page_page_overview").set_value(2).run()
    assert at.dataframe[0].value.equals(everyone.iloc[2:])


# -- what the pages say, in the reader's words (values worked out from tests/fixtures) ------
NOT_A_VALUE = re.compile(r"(?<![A-Za-z])(nan|NaN|None|NaT|<NA>)(?![A-Za-z])")


def shown_texts(at: AppTest) -> list[str]:
    """Every text the page shows: markdown, captions, cards, table cells (as displayed),
    chart labels and the records' download frames."""
    import json

    import pyarrow as pa

    texts = [e.value for e in [*at.markdown, *at.caption, *at.title, *at.info, *at.subheader]]
    texts += [str(x) for m in at.metric for x in (m.label, m.value, m.delta)]
    for frame in at.dataframe:
        texts += [
            str(v) for v in frame.value.astype(object).to_numpy().ravel() if isinstance(v, str)
        ]
        texts += [str(c) for c in frame.value.columns]
        styled = frame.proto.arrow_data.styler.display_values
        if styled:
            shown = pa.ipc.open_stream(styled).read_all().to_pandas()
            texts += [str(v) for v in shown.to_numpy().ravel()]
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            for axis in ("x", "y", "text", "name"):
                value = trace.get(axis)
                texts += [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
                texts += [value] if isinstance(value, str) else []
    return texts


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_shows_nan_or_none(data_dir: Path, lang: str) -> None:
    # September: W04 is registered and nobody has claimed it (an empty 认领方类型).
    for page in PAGES:
        for params in ({"period": "2025-09"}, {"period": "2025-09", "community": "QTX01"}):
            at = run_page(page, lang, **params)
            leaks = [s for s in shown_texts(at) if NOT_A_VALUE.search(s)]
            assert not leaks, (page, params, leaks)


def test_unclaimed_wishes_are_said_so(data_dir: Path) -> None:
    # September's registrations: W03 claimed by a volunteer, W04 by nobody.
    import json

    import numpy as np

    def numbers(value: dict[str, str] | list[float]) -> list[float]:
        """A trace's numbers, which Plotly may send as a typed array (dtype, base64 bdata)."""
        if isinstance(value, dict):
            return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"]).tolist()
        return value

    at = run_page("wishes", period="2025-09")
    charts = [json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")]
    claimants = next(c for c in charts if "志愿者" in c["y"])
    assert dict(zip(claimants["y"], numbers(claimants["x"]), strict=True)) == {
        "志愿者": 1,
        "未认领": 1,
    }
    records = at.dataframe[-1].value
    assert dict(zip(records["编号"], records["认领方类型"], strict=True)) == {
        "W03": "志愿者",
        "W04": "未认领",
    }
    english = run_page("wishes", "en", period="2025-09").dataframe[-1].value
    assert sorted(english["Claimed by"]) == ["Unclaimed", "Volunteer"]


def test_deltas_of_shares_and_stars_are_differences() -> None:
    from metrics.i18n import delta, fmt_delta

    # 96.2% → 81.7%: 14.5 percentage points down (a relative change would say −15.1%).
    assert fmt_delta("pct", 0.817, 0.962) == "−14.5个百分点"
    assert fmt_delta("pct", 0.817, 0.962, "en", minus="-") == "-14.5 pp"
    assert delta("pct", 0.817, 0.962) == pytest.approx(-14.5)
    # Mean stars 4.4 → 4.1: 0.3 stars down.
    assert fmt_delta("stars", 4.1, 4.4) == "−0.3星"
    assert fmt_delta("stars", 4.1, 4.4, "en") == "−0.3 stars"
    # Counts keep the relative change: 12 against 10 is +20%.
    assert fmt_delta("int", 12, 10) == "+20.0%"
    assert fmt_delta("int", 3, 0) == "—", "no relative change from nothing"
    assert fmt_delta("int", 0, 0) == "±0.0%", "nothing before, nothing now: no change"
    assert fmt_delta("pct", 0.5, None) == "—"
    assert fmt_delta("pct", 0.5, float("nan")) == "—"
    assert fmt_delta("pct", 0.60001, 0.6) == "±0.0个百分点"


def test_a_card_up_from_nothing_says_so(data_dir: Path) -> None:
    # Urgent problems resolved: September C02 (closed 09-10), August none -> "上期为0", not
    # a blank. Overdue cases: 0 in August and 0 in September -> no change, ±0.0%.
    at = run_page("cases", period="2025-09")
    deltas = {m.label: m.delta for m in at.metric}
    assert deltas["解决急难愁盼问题"] == "上期为0"
    assert deltas["超期未办结"] == "±0.0%"


def test_quarterly_ratings_are_compared_with_the_previous_quarter(data_dir: Path) -> None:
    # November 2025 shows 2025Q4's ratings: stars 5, 3, 1 → mean 3.0; one of three at
    # 4 or more → 33.3%. The month before, October, is the same quarter; 环比 is 2025Q3:
    # 5, 4, 2 → 3.67 stars (−0.7 stars) and 66.7% (−33.3 points). No 2024Q4 ratings.
    at = run_page("property", period="2025-11")
    cards = {m.label: m for m in at.metric}
    assert cards["物业平均星级"].value == "3.0星"
    assert cards["物业平均星级"].delta == "-0.7星"
    assert cards["四星及以上占比"].value == "33.3%"
    assert cards["四星及以上占比"].delta == "-33.3个百分点"
    assert cards["物业平均星级"].proto.delta_description == "环比上季"
    assert any(c.value.endswith("同比上年同季 —") for c in at.caption)


def test_ranking_ties_are_broken_by_volume_then_shared(data_dir: Path) -> None:
    from pages import _rankings

    # August's wishes: QTX01 fulfilled W01 W02 in time, QTX02 W06: both 100%; QTX01
    # registered more.
    ranking = run_page("wishes", period="2025-08").dataframe[0].value
    assert list(ranking["社区"]) == ["北苑社区", "南苑社区", "东湖社区（示例）"]
    assert list(ranking["排名"].astype(object)) == [1, 2, pd.NA]
    # Cases, as of each month's end: August QTX02 1 of 1 (C08), QTX01 1 of 2 (C02 was
    # resolved on 10 September); September QTX01 1 of 3 (C03), QTX02 0 of 2 (C09, C10
    # resolved later); QTX03 no cases, so no rank.
    ranking = run_page("cases", period="2025-09").dataframe[0].value
    assert list(ranking["社区"]) == ["北苑社区", "南苑社区", "东湖社区（示例）"]
    assert list(ranking["名次变化"]) == ["↑1", "↓1", "—"]
    # Equal on every key: the same rank, and the next one skipped (1, 2, 2, 4).
    frame = pd.DataFrame(
        {"resolution_rate": [1.0, 2 / 3, 4 / 6, 0.5, None], "cases_received": [3, 6, 6, 8, 0]},
        index=["a", "b", "c", "d", "e"],
    )
    ranks = _rankings.rank_units(frame, ["resolution_rate", "cases_received"])
    assert ranks.tolist()[:4] == [1, 2, 2, 4] and pd.isna(ranks["e"])


def test_ranking_cells_carry_their_target_status(data_dir: Path) -> None:
    import pyarrow as pa

    at = run_page("overview", period="2025-09")
    shown = pa.ipc.open_stream(at.dataframe[0].proto.arrow_data.styler.display_values)
    cells = shown.read_all().to_pandas().set_index("社区")
    # Resolution rate has a target (✅ at 95% and above, ⚠️ from 90%), so has every cell:
    # September as of its end, QTX01 1 of 3, QTX02 0 of 2. Workers per 10,000: ✅ from 18.
    assert cells.loc["南苑社区", "化解率"] == "❌ 0.0%"
    assert cells.loc["北苑社区", "化解率"] == "❌ 33.3%"
    assert cells.loc["北苑社区", "每万人社区工作者"] == "✅ 20.0"
    assert cells.loc["东湖社区（示例）", "化解率"] == "—"
    assert cells.loc["东湖社区（示例）", "排名"] == "—"


def test_ranking_download_is_rounded_and_typed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pages import _rankings

    saved: dict[str, Any] = {}
    monkeypatch.setattr(
        _rankings, "download_buttons", lambda frame, stem, key: saved.update({stem: frame})
    )
    run_page("overview", period="2025-09")
    table = saved["page_overview-ranking-2025-09"]().set_index("社区")  # made on a press
    # Workers per 10,000 residents: 6 of 3,000 → 20.0; 3 of 2,000 → 15.0; 3 of 1,000 → 30.0
    # (in ranking order: QTX01 33.3 %, QTX02 0 %, QTX03 no rate).
    assert table["每万人社区工作者"].tolist() == [20.0, 15.0, 30.0]
    assert table.loc["北苑社区", "化解率（%）"] == 33.3, "a share in percent, one decimal"
    # September fulfilments: W02 (QTX01), W06 (QTX02). Integers, not 1.0. QTX03 sent no
    # wishes ledger at all: no figure (—), not a 0 that would rank with the best.
    assert table.loc[["北苑社区", "南苑社区"], "圆梦微心愿"].tolist() == [1, 1]
    assert pd.isna(table.loc["东湖社区（示例）", "圆梦微心愿"])
    assert str(table["圆梦微心愿"].dtype) == "Int64"
    assert table.loc["北苑社区", "化解率状态"] == "❌ 未达标"


def test_filters_follow_the_reader_from_page_to_page(data_dir: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in {"kind": "quarter", "period": "2025Q3", "community": "QTX01"}.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/wishes.py")
    for key in list(at.query_params):  # the sidebar's page links carry no parameters
        del at.query_params[key]
    at.run()
    assert not at.exception
    assert any(m.value == "##### 北苑社区 · 2025年第3季度" for m in at.markdown)
    assert dict(at.query_params) == {"kind": "quarter", "period": "2025Q3", "community": "QTX01"}


@pytest.mark.parametrize("page", ["cases", "wishes", "employment", "property", "registry"])
def test_english_record_headers_are_labels(data_dir: Path, page: str) -> None:
    from metrics.schemas import DATASETS

    dataset = {"registry": "grids", "property": "property_ratings"}.get(page, page)
    at = run_page(page, "en", period="2025-09" if page != "property" else "2025-08")
    headers = list(at.dataframe[-1].value.columns)
    expected = []  # the contract's English labels, the community's name beside its code
    for f in DATASETS[dataset].fields:
        expected.append(f.en)
        if f.name == "community_id":
            expected.append(t("col_community", "en"))
    assert headers == expected
    assert not [h for h in headers if "_" in h or h.lower().startswith(("is ", "case id"))]


def test_records_show_months_and_quarters_as_words(data_dir: Path) -> None:
    records = run_page("employment", period="2025-09").dataframe[-1].value
    assert set(records["月份"]) == {"2025年9月"}
    records = run_page("employment", "en", period="2025-09").dataframe[-1].value
    assert set(records["Month"]) == {"Sep 2025"}


def test_trend_title_names_the_grid(data_dir: Path) -> None:
    at = run_page("cases", period="2025-09", community="QTX01", grid="QTX01-G01")
    assert any(m.value == "**北苑社区 · 第一网格逐月走势**" for m in at.markdown)


def test_example_mark_is_translated_for_english_readers(data_dir: Path) -> None:
    ranking = run_page("overview", "en", period="2025-09").dataframe[0].value
    assert "东湖社区 (example)" in list(ranking["Community"])


def test_english_card_tooltips_use_english_brackets(data_dir: Path) -> None:
    # Resolution rate: September 20.0% against August 66.7% and no September 2024 cases
    # (before the data begin: "—").
    at = run_page("overview", "en", period="2025-09")
    tip = next(m.proto.help for m in at.metric if m.label == "Resolution rate")
    assert "vs previous: −46.7 pp (66.7%)" in tip and "vs last year: — (—)" in tip
    assert "（" not in tip and "）" not in tip


def test_records_name_the_community_beside_its_code(data_dir: Path) -> None:
    at = run_page("cases", period="2025-09")
    records = at.dataframe[-1].value
    assert list(records.columns[1:3]) == ["社区编码", "社区"]
    names = dict(zip(records["社区编码"], records["社区"], strict=True))
    assert names == {"QTX01": "北苑社区", "QTX02": "南苑社区"}  # September: C03–C05, C09, C10

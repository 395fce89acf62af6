"""Who may see and change what: the rules in metrics/access/, every page under AppTest
with a signed-in user of each role, and the CLI. Fixture store: tests/fixtures (QTX01–03).

Hand-worked figures for QTX01 in September 2025 (cases C03 C04 C05 received, C03 resolved):
disputes handled 2 (C03 C04), resolution rate 1/3 = 33.3%.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from app_helpers import open_page
from streamlit.testing.v1 import AppTest

from metrics import access
from metrics.access import AccessDenied, Principal, Reader
from metrics.catalog import Scope
from metrics.i18n import t
from metrics.periods import Period
from metrics.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
ADMIN = Principal("admin@qtx.gov.cn", "admin")
LEADER = "leader@qtx.gov.cn"
CLERK = "clerk1@qtx.gov.cn"
ROLES = {
    "users": [
        {"user": LEADER, "role": "leader", "community_id": None, "name": "市委领导"},
        {"user": CLERK, "role": "clerk", "community_id": "QTX01", "name": "北苑填报员"},
        {"user": "admin@qtx.gov.cn", "role": "admin", "community_id": None, "name": "管理员"},
    ],
    "settings": {"clerks_see_ranking": True},
}


@pytest.fixture
def roles_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    access.save_roles(store, ROLES, ADMIN)
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    monkeypatch.delenv("GOVDASH_LOCAL_MODE", raising=False)
    monkeypatch.delenv("GOVDASH_ADMINS", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield store
    st.cache_resource.clear()
    st.cache_data.clear()


# -- the rules -------------------------------------------------------------------------------
def test_roles_resolve_by_email_case_insensitively(roles_store: Store) -> None:
    clerk = access.resolve(roles_store, "Clerk1@QTX.gov.cn")
    assert clerk is not None and (clerk.role, clerk.community_id) == ("clerk", "QTX01")
    assert access.resolve(roles_store, "stranger@example.com") is None
    assert access.resolve(roles_store, None) is None


def test_bootstrap_admins_from_the_environment(
    roles_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_ADMINS", "boss@qtx.gov.cn")
    boss = access.resolve(roles_store, "boss@qtx.gov.cn")
    assert boss is not None and boss.role == "admin"


def test_a_clerk_is_scoped_to_their_community(roles_store: Store) -> None:
    clerk = access.resolve(roles_store, CLERK)
    assert clerk is not None
    assert access.scope_for(clerk, Scope()) == Scope("QTX01")
    assert access.scope_for(clerk, Scope("QTX01", "QTX01-G01")) == Scope("QTX01", "QTX01-G01")
    with pytest.raises(AccessDenied):
        access.scope_for(clerk, Scope("QTX02"))
    reader = Reader(roles_store.connect(), clerk)
    september = Period.parse("2025-09")
    # City-wide totals for a clerk are their community's: C03 C04 C05 received.
    assert reader.totals(["cases_received"], september, Scope())["cases_received"] == 3
    table = reader.by_unit(["cases_received"], september, ["QTX01", "QTX02"], Scope())
    assert list(table.index) == ["QTX01"]
    rows, count = reader.records("cases", Scope(), None, limit=100, offset=0)
    assert count == 7 and set(rows["community_id"]) == {"QTX01"}
    assert list(reader.communities()["community_id"]) == ["QTX01"]
    with pytest.raises(AccessDenied):
        reader.records("cases", Scope("QTX02"), None, limit=100, offset=0)


def test_permissions_by_role(roles_store: Store) -> None:
    leader = access.resolve(roles_store, LEADER)
    clerk = access.resolve(roles_store, CLERK)
    assert leader is not None and clerk is not None
    assert leader.can("view_city") and not leader.can("upload") and not leader.can("admin")
    assert clerk.can("upload") and not clerk.can("upload_any") and not clerk.can("admin")
    for who in (leader, clerk):
        with pytest.raises(AccessDenied):
            access.require(who, "admin")
        with pytest.raises(AccessDenied):
            access.save_roles(roles_store, ROLES, who)
        with pytest.raises(AccessDenied):
            access.audit_log(roles_store, who)


def test_roles_are_checked_before_saving(roles_store: Store) -> None:
    bad = {
        "users": [
            {"user": "a@x", "role": "clerk", "community_id": "QTX99"},
            {"user": "A@x", "role": "boss"},
            {"user": "", "role": "leader"},
        ]
    }
    problems = access.validate_roles(bad, {"QTX01", "QTX02", "QTX03"}, "en")
    assert len(problems) == 4  # foreign community, duplicate, bad role, missing user


def test_the_audit_log_only_grows(roles_store: Store) -> None:
    clerk = access.resolve(roles_store, CLERK)
    assert clerk is not None
    access.audit(roles_store, clerk, "upload", dataset="cases", version=3)
    log = access.audit_log(roles_store, ADMIN)
    # The roles save in the fixture, then the upload: newest first; before them the six
    # whole-table loads of the fixture store, one entry each (made by recovery from their
    # commits, as nobody wrote their intents).
    assert list(log["action"]) == ["upload", "roles_changed"] + ["load"] * 6
    assert json.loads(log["detail"][0]) == {"dataset": "cases", "version": 3}
    assert not hasattr(access, "delete_audit")


# -- the pages, signed in --------------------------------------------------------------------
def signed_in(
    page: str, user: str | None, claims: dict[str, object] | None = None, **params: str
) -> AppTest:
    return open_page(page, user, claims=claims, **params)


def test_not_signed_in_sees_the_login_page_and_no_data(roles_store: Store) -> None:
    at = signed_in("overview", None)
    assert at.title[0].value == t("login_title", "zh")
    assert not at.metric and not at.dataframe


def test_an_unknown_user_is_refused_politely(roles_store: Store) -> None:
    at = signed_in("cases", "stranger@example.com")
    assert at.title[0].value == t("denied_title", "zh")
    assert not at.metric and not at.dataframe
    assert "stranger@example.com" in at.text[0].value


@pytest.mark.parametrize(
    "page", ["overview", "meeting", "cases", "wishes", "employment", "property", "registry"]
)
def test_a_leader_sees_every_page(roles_store: Store, page: str) -> None:
    at = signed_in(page, LEADER, period="2025-09")
    assert at.title[0].value == t(f"page_{page}", "zh")
    assert not at.error and not at.warning


def test_a_leader_cannot_upload_or_administer(roles_store: Store) -> None:
    for page in ("upload", "admin"):
        at = signed_in(page, LEADER)
        assert at.title[0].value != t(f"page_{page}", "zh")
        assert not at.file_uploader


@pytest.mark.parametrize(
    "page", ["overview", "cases", "wishes", "employment", "property", "registry"]
)
def test_a_clerk_sees_only_their_community(roles_store: Store, page: str) -> None:
    # Even with another community asked for in the URL.
    at = signed_in(page, CLERK, period="2025-09", community="QTX02")
    assert [s.options for s in at.selectbox if s.label == "社区"] == [["北苑社区"]]
    for frame in at.dataframe:
        value = frame.value
        for column in ("社区编码", "社区"):
            if column in value:
                assert set(value[column]) <= {"QTX01", "北苑社区"}, (page, column)


def test_a_clerks_overview_figures_are_their_own(roles_store: Store) -> None:
    at = signed_in("overview", CLERK, period="2025-09")
    values = {m.label: m.value for m in at.metric}
    assert values["排查处理矛盾纠纷"] == "2起"
    assert values["化解率"] == "33.3%"


def test_a_clerk_sees_the_league_as_names_and_scores_only(roles_store: Store) -> None:
    at = signed_in("meeting", CLERK, kind="month", period="2025-09")
    league = at.dataframe[0].value
    assert list(league.columns) == ["名次", "名次变化", "社区", "综合得分"]
    assert not at.metric, "no city-wide KPI cards for a clerk"


def test_a_clerk_cannot_reach_admin(roles_store: Store) -> None:
    at = signed_in("admin", CLERK)
    assert at.title[0].value != t("page_admin", "zh")


def test_a_clerk_gets_no_report_and_no_rollback(roles_store: Store) -> None:
    at = signed_in("meeting", CLERK, kind="month", period="2025-09")
    assert not at.get("download_button"), "the meeting packet holds every community"
    at = signed_in("upload", CLERK)
    assert at.title[0].value == t("page_upload", "zh")
    assert not [e for e in at.expander if e.label == t("upload_rollback", "zh")]
    datasets = next(s for s in at.selectbox if s.label == t("upload_dataset", "zh"))
    assert "communities" not in datasets.options and "社区" not in datasets.options


@pytest.mark.parametrize(
    "page", ["overview", "meeting", "cases", "wishes", "employment", "property", "registry"]
)
def test_an_admin_sees_every_page_and_the_city(roles_store: Store, page: str) -> None:
    at = signed_in(page, "admin@qtx.gov.cn", period="2025-09")
    assert at.title[0].value == t(f"page_{page}", "zh")
    assert not at.error
    if page != "meeting":
        communities = next(s.options for s in at.selectbox if s.label == "社区")
        assert len(communities) == 4  # 全市 and the three fixture communities


def test_a_sign_in_is_audited_once_and_a_refusal_too(roles_store: Store) -> None:
    for _ in range(3):  # three tabs or reloads of one sign-in
        signed_in("overview", LEADER)
    signed_in("overview", LEADER, {"iat": 1764234000})  # signed in again an hour later
    signed_in("cases", "stranger@example.com")
    signed_in("cases", "stranger@example.com")
    log = access.audit_log(roles_store, ADMIN)
    logins = log[log["action"] == "login"]
    assert list(logins["user"]) == [LEADER, LEADER]
    refused = log[log["action"] == "login_refused"]
    assert list(refused["user"]) == ["stranger@example.com"]
    assert refused["role"].isna().all()


def test_an_unverified_email_matches_nobody(roles_store: Store) -> None:
    at = signed_in("overview", LEADER, {"email_verified": False})
    assert at.title[0].value == t("denied_title", "zh")
    assert not at.metric and not at.dataframe
    at = signed_in("overview", LEADER, {"email_verified": True})
    assert at.title[0].value == t("page_overview", "zh")


def test_a_name_in_the_roles_list_stays_text(roles_store: Store) -> None:
    hostile = "[点我](https://evil.example) <b>x</b> **粗**"
    roles = {**ROLES, "users": [{**u} for u in ROLES["users"]]}
    roles["users"][0]["name"] = hostile
    access.save_roles(roles_store, roles, ADMIN)
    at = signed_in("overview", LEADER)
    caption = next(c.value for c in at.sidebar.caption if "点我" in c.value)
    # Every Markdown character escaped: it shows as typed and links nowhere.
    assert "\\[点我\\]\\(https\\:" in caption and "\\<b\\>" in caption


def store_bytes(root: Path) -> dict[str, bytes]:
    """Every file of the data tables (the audit log beside them records the sign-in)."""
    files = sorted((root / "store").rglob("*"))
    return {str(p): p.read_bytes() for p in files if p.is_file() and "_audit" not in p.parts}


def test_a_forged_community_in_an_upload_is_rejected(roles_store: Store) -> None:
    before = store_bytes(roles_store.root)
    at = signed_in("upload", CLERK)
    assert at.title[0].value == t("page_upload", "zh")
    assert [i.value for i in at.text_input] == ["北苑社区（QTX01）"], "community from sign-in"
    forged = (
        "编号,社区编码,网格编码,类型,类别,来源渠道,是否督办,受理日期,办结日期,状态,备注\n"
        "C90,QTX02,QTX02-G01,矛盾纠纷,邻里纠纷,板凳会,否,2025-11-03,,办理中,\n"
    )
    at.file_uploader[0].set_value(("forged.csv", forged.encode("utf-8"), "text/csv"))
    at.run()
    assert "文件未导入" in at.error[0].value
    assert store_bytes(roles_store.root) == before


def test_an_admin_sees_the_audit_log(roles_store: Store) -> None:
    at = signed_in("admin", "admin@qtx.gov.cn")
    assert at.title[0].value == t("page_admin", "zh")
    log = at.dataframe[-1].value
    assert "roles_changed" in set(log["操作"])
    assert "login" in set(log["操作"]), "the admin's own sign-in is recorded"
    editor = at.dataframe[0].value.set_index("metric")
    # Shares are edited as percentages: the 95 % target reads 95, not 0.95.
    assert editor.loc["resolution_rate", ["green_low", "amber_low", "unit"]].tolist() == [
        95.0,
        90.0,
        "%",
    ]


# -- the command line ------------------------------------------------------------------------
def cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metrics", "--data-dir", str(store.root), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_scopes_a_clerk(roles_store: Store) -> None:
    own = cli(
        roles_store, "--as-user", CLERK, "summary", "--from", "2025-09", "--to", "2025-09", "--json"
    )
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["cases_received"] == 3  # QTX01 only, without asking
    other = cli(
        roles_store,
        "--as-user",
        CLERK,
        "summary",
        "--from",
        "2025-09",
        "--to",
        "2025-09",
        "--community",
        "QTX02",
    )
    assert other.returncode == 2 and "QTX02" in other.stderr
    report = cli(roles_store, "--as-user", CLERK, "report", "--period", "2025-09", "--out", "x.pdf")
    assert report.returncode == 2
    stranger = cli(
        roles_store, "--as-user", "nobody@x", "summary", "--from", "2025-09", "--to", "2025-09"
    )
    assert stranger.returncode == 2
    history = cli(roles_store, "--as-user", CLERK, "history", "--community", "QTX02")
    assert history.returncode == 2 and "QTX02" in history.stderr
    for command in (["rollback", "cases@0"], ["refresh"], ["demo"]):
        denied = cli(roles_store, "--as-user", CLERK, *command)
        assert denied.returncode == 2, command


def test_cli_uploads_follow_the_same_rules_and_are_audited(
    roles_store: Store, tmp_path: Path
) -> None:
    before = store_bytes(roles_store.root)
    registry = tmp_path / "communities.csv"
    registry.write_text(
        (FIXTURES / "communities.csv").read_text(encoding="utf-8").replace("北苑社区", "改名社区"),
        encoding="utf-8",
    )
    args = ["--as-user", CLERK, "ingest", "--lang", "en"]
    renamed = cli(
        roles_store, *args, str(registry), "--dataset", "communities", "--community", "QTX01"
    )
    assert renamed.returncode == 2, "the community register is the administrator's"
    foreign = tmp_path / "cases.csv"
    foreign.write_text(
        "编号,社区编码,网格编码,类型,类别,来源渠道,是否督办,受理日期,办结日期,状态,备注\n"
        "C91,QTX02,QTX02-G01,矛盾纠纷,邻里纠纷,板凳会,否,2025-11-03,,办理中,\n",
        encoding="utf-8",
    )
    for community in ("QTX02", "QTX01"):  # asked for outright, or forged inside the file
        forged = cli(
            roles_store, *args, str(foreign), "--dataset", "cases", "--community", community
        )
        assert forged.returncode == 2, community
    assert store_bytes(roles_store.root) == before
    own = tmp_path / "own.csv"
    own.write_text(foreign.read_text(encoding="utf-8").replace("QTX02", "QTX01"), encoding="utf-8")
    ok = cli(roles_store, *args, str(own), "--dataset", "cases", "--community", "QTX01")
    assert ok.returncode == 0, ok.stderr
    undo = cli(roles_store, "--as-user", "admin@qtx.gov.cn", "rollback", "cases@0")
    assert undo.returncode == 0, undo.stderr
    log = access.audit_log(roles_store, ADMIN)
    assert list(log["action"][:2]) == ["rollback", "upload"]
    assert list(log["user"][:2]) == ["admin@qtx.gov.cn", CLERK]
    assert json.loads(log["detail"][1])["new"] == 1
    assert roles_store.history("cases")[0]["user"] == "admin@qtx.gov.cn"


def test_a_clerk_gets_the_league_as_names_and_scores_only(roles_store: Store) -> None:
    september = Period.parse("2025-09")
    clerk = access.resolve(roles_store, CLERK)
    assert clerk is not None
    seen = access.meeting_review(roles_store, september, clerk)
    assert list(seen.league.columns) == list(access.LEAGUE_PUBLIC)
    assert sorted(seen.league["community_id"]) == ["QTX01", "QTX02", "QTX03"]
    # Nothing else of the other communities: no figures, follow-ups, submissions or text.
    for section in (seen.headline, seen.breakdown, seen.follow_ups, seen.submissions, seen.trend):
        assert section.empty
    assert seen.narrative == []
    leader = access.resolve(roles_store, LEADER)
    assert leader is not None
    whole = access.meeting_review(roles_store, september, leader)
    assert not whole.follow_ups.empty and whole.narrative
    assert "resolution_rate" in whole.league.columns
    assert whole.league[list(access.LEAGUE_PUBLIC)].equals(seen.league)
    closed = Principal(CLERK, "clerk", "QTX01", settings={"clerks_see_ranking": False})
    with pytest.raises(AccessDenied):
        access.meeting_review(roles_store, september, closed)
    with pytest.raises(AccessDenied):
        access.meeting_report(roles_store, september, "xlsx", clerk)

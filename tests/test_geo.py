"""Grid boundaries (网格边界): every refusal with its message and an unchanged store, the
overlap rule either side of 5 %, versions (the latest in force), rights, the demo's refusal,
the template and the CLI. Fixtures: tests/fixtures/geo/, squares a person can check by hand:

    QTX01-G01  106.000–106.010 × 38.000–38.010   area 1e-4 deg²
    QTX01-G02  106.010–106.020 × 38.000–38.010   area 1e-4 deg² (meets G01 along x = 106.010)
    QTX01-G03  106.020–106.025 × 38.000–38.005   area 2.5e-5 deg² (the micro grid)
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from conftest import FIXTURES, fixture_store
from ingest_helpers import snapshot

from metrics import access, demo
from metrics.__main__ import main
from metrics.access import AccessDenied, Principal
from metrics.geo import boundaries, shapes, storage
from metrics.store import DEMO_DIR, Store, StoreError

GEO = FIXTURES / "geo"
ADMIN = Principal("admin@qtx.gov.cn", "admin")
CLERK_1 = Principal("clerk1@qtx.gov.cn", "clerk", "QTX01")
CLERK_2 = Principal("clerk2@qtx.gov.cn", "clerk", "QTX02")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One fixture store for the tests that write nothing (each asserts it stays so)."""
    return fixture_store(tmp_path_factory.mktemp("geo") / "data")


def data(name: str) -> bytes:
    return (GEO / name).read_bytes()


def checked(store: Store, name: str, by: Principal = CLERK_1) -> boundaries.Checked:
    return access.check_boundaries(store, data(name), name, "QTX01", by)


# -- refusals: each with its message, nothing written ------------------------------------------
REFUSALS = {
    "not_json.geojson": "边界文件不是有效的 GeoJSON（JSON 格式错误：Expecting value: line 2"
    " column 1 (char 44)）。",
    "feature.geojson": "边界文件应为 GeoJSON 的 FeatureCollection（要素集合），每个网格一个要素；"
    "文件中是“Feature”。",
    "missing_grid_id.geojson": "第 2 个要素缺少属性 grid_id（网格编码）。",
    "duplicate.geojson": "第 2 个要素的 grid_id“QTX01-G01”与第 1 个要素重复。",
    "point.geojson": "第 1 个要素（网格 QTX01-G01）的几何类型是“Point”，应为 Polygon 或 "
    "MultiPolygon（面）。",
    # The bow tie's two edges cross at the square's centre, (106.005, 38.005).
    "bowtie.geojson": "第 1 个要素（网格 QTX01-G01）的多边形无效：边线自相交（位置约 106.005000, "
    "38.005000）。",
    "projected.geojson": "第 1 个要素（网格 QTX01-G01）的坐标 [589100, 4208700] 像是投影坐标"
    "（米），不是经纬度：请在 GIS 软件中导出为 WGS84（EPSG:4326）后再上传。",
    "out_of_range.geojson": "第 1 个要素（网格 QTX01-G01）的坐标 [196, 38] 超出经纬度范围（经度 "
    "-180～180，纬度 -90～90）：边界应使用 WGS84 经纬度。",
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_each_refusal_says_what_and_keeps_nothing(shared: Store, name: str) -> None:
    before = snapshot(shared.tables_dir)
    found = checked(shared, name)
    assert not found.ok
    assert found.messages("zh") == [REFUSALS[name]]
    with pytest.raises(access.BoundaryError):
        access.upload_boundaries(shared, found, CLERK_1)
    assert snapshot(shared.tables_dir) == before
    assert access.boundary_versions(shared, "QTX01", CLERK_1) == []


def test_unknown_grids_and_other_communities_grids_named(shared: Store) -> None:
    found = checked(shared, "unknown_grid.geojson")
    assert found.messages("zh") == [
        "第 2 个要素的网格“QTX01-G99”不在社区 QTX01 的网格名册中。",
        "第 3 个要素的网格“QTX02-G01”属于社区 QTX02，不属于社区 QTX01。",
    ]
    assert found.messages("en")[0] == (
        'Feature 2: grid "QTX01-G99" is not in the grid register of QTX01.'
    )


def test_caps_are_checked_before_the_polygons(
    shared: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    valid = data("valid.geojson")
    monkeypatch.setattr(boundaries, "MAX_VERTICES", 14)  # valid has 3 squares × 5 = 15
    assert checked(shared, "valid.geojson").messages("zh") == [
        "边界文件共有 15 个坐标点，超过上限 14 个，请简化边界后再上传。"
    ]
    monkeypatch.setattr(boundaries, "MAX_FEATURES", 2)  # valid has 3 features
    assert (
        checked(shared, "valid.geojson")
        .messages("zh")[0]
        .startswith("边界文件有 3 个要素，超过上限 2 个")
    )
    monkeypatch.setattr(boundaries, "MAX_BYTES", len(valid) - 1)
    assert checked(shared, "valid.geojson").messages("zh")[0].startswith("边界文件 0.0 MB 超过上限")


def test_overlap_rule_at_4_and_6_percent(shared: Store) -> None:
    # G02 moved 0.0004° west over G01: 0.0004 × 0.010 / (0.010 × 0.010) = 4 % of either: passes.
    assert checked(shared, "overlap_4pct.geojson").ok
    # 0.0006° west: 0.0006 × 0.010 / 1e-4 = 6 % > 5 %: refused, naming both features.
    assert checked(shared, "overlap_6pct.geojson").messages("zh") == [
        "第 1 个要素（网格 QTX01-G01）与第 2 个要素（网格 QTX01-G02）重叠 6.0%"
        "（按较小网格的面积计），超过 5%：相邻网格的边界应只在边线上相接。"
    ]


def test_overlap_is_a_share_of_the_smaller_grid(shared: Store) -> None:
    # G03 (0.005 × 0.005 = 2.5e-5) pushed 0.0003° into G02: 0.0003 × 0.005 = 1.5e-6, which is
    # 1.5e-6 / 1e-4 = 1.5 % of G02 but 1.5e-6 / 2.5e-5 = 6 % of G03, the smaller: refused.
    messages = checked(shared, "overlap_small_grid.geojson").messages("en")
    assert messages == [
        "Feature 2 (grid QTX01-G02) overlaps feature 3 (grid QTX01-G03) by 6.0% of the smaller"
        " one's area, over 5%: neighbouring grids should meet only along their borders."
    ]


def test_missing_register_grids_are_a_warning(shared: Store) -> None:
    found = checked(shared, "partial.geojson")
    assert found.ok
    assert [w.message("zh") for w in found.warnings] == [
        "注意：名册中有 1 个网格没有边界：QTX01-G03。可以先上传，补齐后再上传新版本。"
    ]


# -- versions, rights, the demo -----------------------------------------------------------------
def test_two_uploads_two_versions_latest_in_force(store: Store) -> None:
    first = checked(store, "partial.geojson")
    assert access.upload_boundaries(store, first, CLERK_1) == 1
    assert access.upload_boundaries(store, checked(store, "valid.geojson"), ADMIN) == 2
    versions = access.boundary_versions(store, "QTX01", CLERK_1)
    assert [(v.version, v.grids, v.user) for v in versions] == [
        (2, 3, ADMIN.user),
        (1, 2, CLERK_1.user),
    ]
    found = access.map_shapes(
        store, ADMIN, "grid", "QTX01", ["QTX01-G01", "QTX01-G02", "QTX01-G03"]
    )
    assert [s.unit_id for s in found.shapes] == ["QTX01-G01", "QTX01-G02", "QTX01-G03"]
    assert found.missing == () and not found.schematic
    # Each upload is audited, with who and which version.
    log = access.audit_log(store, ADMIN)
    uploads = log[log["action"] == "boundaries_upload"]
    assert [json.loads(d)["version"] for d in uploads["detail"]] == [2, 1]
    assert list(uploads["user"]) == [ADMIN.user, CLERK_1.user]


def test_clerk_of_another_community_is_refused(shared: Store) -> None:
    before = snapshot(shared.tables_dir)
    with pytest.raises(AccessDenied):
        access.check_boundaries(shared, data("valid.geojson"), "v.geojson", "QTX01", CLERK_2)
    good = checked(shared, "valid.geojson", CLERK_1)
    with pytest.raises(AccessDenied):
        access.upload_boundaries(shared, good, CLERK_2)
    with pytest.raises(AccessDenied):
        access.boundary_template(shared, "QTX01", CLERK_2)
    with pytest.raises(AccessDenied):
        access.boundary_versions(shared, "QTX01", CLERK_2)
    assert snapshot(shared.tables_dir) == before


def test_the_demo_refuses_and_shows_schematic_boundaries(tmp_path: Path) -> None:
    shown = fixture_store(tmp_path / "data", DEMO_DIR)  # a demo without stored boundaries
    good = access.check_boundaries(shown, data("valid.geojson"), "v", "QTX01", ADMIN)
    with pytest.raises(StoreError) as refused:
        access.upload_boundaries(shown, good, ADMIN)
    assert refused.value.key == "store_demo_read_only"
    found = access.map_shapes(shown, ADMIN, "community", None, ["QTX01", "QTX02", "QTX03"])
    assert len(found.shapes) == 3 and found.schematic


def test_demo_build_stores_schematic_boundaries_that_pass_the_checks(tmp_path: Path) -> None:
    built = demo.store_at(tmp_path)
    grids = demo.build()["grids"]
    built.create("demo", "pytest")
    from metrics.geo import demo as geo_demo

    assert geo_demo.write(built, grids) == 12
    kept = storage.in_force(built)
    assert len(kept) == 12 and all(v["schematic"] for v in kept.values())
    # 178 grids in all, each community's block cut into exactly its grids.
    assert sum(len(v["collection"]["features"]) for v in kept.values()) == 178


def test_template_has_the_communitys_grids_and_passes(shared: Store) -> None:
    body, name = access.boundary_template(shared, "QTX01", CLERK_1)
    assert name == "grid-boundaries-QTX01.geojson"
    ids = [f["properties"]["grid_id"] for f in json.loads(body)["features"]]
    assert ids == ["QTX01-G01", "QTX01-G02", "QTX01-G03"]
    assert access.check_boundaries(shared, body, name, "QTX01", CLERK_1).ok


def test_community_shape_is_the_union_of_its_grids() -> None:
    collection = json.loads(data("valid.geojson"))
    found = shapes.community_shapes(
        {"QTX01": {"schematic": False, "collection": collection}}, ["QTX01", "QTX02"]
    )
    (one,) = found.shapes
    # G01 and G02 meet along x = 106.010 and G02 and G03 along x = 106.020: one outline.
    assert len(one.shells) == 1 and found.missing == ("QTX02",)
    xs, ys = one.shells[0]
    assert (min(xs), max(xs), min(ys), max(ys)) == (106.0, 106.025, 38.0, 38.01)


# -- the command line -------------------------------------------------------------------------
def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_cli_refuses_a_bad_file_in_chinese_and_keeps_nothing(shared: Store) -> None:
    root = str(shared.root)
    before = snapshot(shared.tables_dir)
    args = ("--data-dir", root, "boundaries", "upload", str(GEO / "duplicate.geojson"))
    code, _, err = cli(*args, "--community", "QTX01")
    assert code == 2
    assert "第 2 个要素的 grid_id“QTX01-G01”与第 1 个要素重复。" in err
    assert "Traceback" not in err
    assert snapshot(shared.tables_dir) == before
    code, _, err = cli(*args, "--community", "QTX01", "--lang", "en")
    assert code == 2 and 'grid_id "QTX01-G01" repeats feature 1' in err


def test_cli_refuses_a_file_over_the_cap_unread(
    shared: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boundaries, "MAX_BYTES", 1024 * 1024)  # 1 MB
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (3 * 1024 * 1024 // 2))  # 1.5 MB of blanks: never parsed
    args = ("--data-dir", str(shared.root), "boundaries", "upload", str(big))
    code, _, err = cli(*args, "--community", "QTX01")
    assert code == 2 and "边界文件 1.5 MB 超过上限 1.0 MB，请简化边界后再上传。" in err


def test_cli_upload_show_and_template(store: Store, tmp_path: Path) -> None:
    root = ("--data-dir", str(store.root))
    code, out, _ = cli(
        *root, "boundaries", "upload", str(GEO / "valid.geojson"), "--community", "QTX01"
    )
    assert code == 0 and "已保存社区 QTX01 的网格边界第 1 版（3 个网格）" in out
    code, out, _ = cli(*root, "boundaries", "show", "--community", "QTX01", "--json")
    assert code == 0 and [v["version"] for v in json.loads(out)] == [1]
    target = tmp_path / "t.geojson"
    code, out, _ = cli(
        *root, "boundaries", "template", "--community", "QTX02", "--out", str(target)
    )
    assert code == 0
    assert [f["properties"]["grid_id"] for f in json.loads(target.read_bytes())["features"]] == [
        "QTX02-G01",
        "QTX02-G02",
    ]

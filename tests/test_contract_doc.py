"""docs/data-contract.md says what metrics/schemas.py says: a field cannot be added, renamed
or given new values in code without the written contract following."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.schemas import (
    CODE_PATTERN,
    DATASETS,
    QUARTER_PATTERN,
    STAR_BANDS,
    TOTAL_TOLERANCE,
    Dataset,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-contract.md"
TEXT = DOC.read_text(encoding="utf-8")


def section(spec: Dataset) -> str:
    """The part of the doc under the heading that names the dataset, up to the next one."""
    parts = TEXT.split("\n## ")
    found = [p for p in parts if p.splitlines()[0].endswith(f"`{spec.name}`")]
    assert len(found) == 1, f"no single section headed `{spec.name}`"
    return found[0]


def test_overview_lists_every_dataset() -> None:
    rows = [line for line in TEXT.splitlines() if line.startswith(("| `", "|`"))]
    for spec in DATASETS.values():
        row = next((r for r in rows if r.startswith(f"| `{spec.name}` |")), None)
        assert row is not None, spec.name
        assert spec.zh in row and spec.en in row, spec.name
        for key in spec.key:
            assert f"`{key}`" in row, (spec.name, key)
        if spec.period_field:
            assert f"`{spec.period_field}`" in row, spec.name


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_field_is_described(name: str) -> None:
    spec = DATASETS[name]
    text = section(spec)
    assert spec.zh in text.splitlines()[0]
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for f in spec.fields:
        row = rows.get(f"`{f.name}`")
        assert row is not None, f"{name}.{f.name} has no row in its table"
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[0] == f.zh, (name, f.name)
        assert cells[2] == f.type, (name, f.name)
        assert cells[3] == ("是" if f.required else "否"), (name, f.name, "required")
        assert cells[4] == ("是" if f.nullable else "否"), (name, f.name, "empty allowed")
        for value in f.allowed:
            assert value in cells[5], (name, f.name, value)
        for alias in f.aliases:
            assert alias in cells[6], (name, f.name, alias)
        if f.min_value is not None:
            assert f"{f.min_value:g}" in cells[5], (name, f.name, "min")
        if f.max_value is not None:
            assert f"{f.max_value:g}" in cells[5], (name, f.name, "max")
    assert set(rows) - {"英文列名", "---"} == {f"`{f.name}`" for f in spec.fields}
    for key in spec.key:
        assert f"`{key}`" in text.split("\n\n")[1], (name, "key")
    if spec.period_field:
        assert f"期间字段：`{spec.period_field}`" in text


def test_shared_rules_are_stated() -> None:
    assert CODE_PATTERN in TEXT
    assert "QUARTER_PATTERN" in TEXT and QUARTER_PATTERN.startswith("^")
    assert f"±{TOTAL_TOLERANCE:g}" in TEXT
    for lower, stars in STAR_BANDS[:-1]:
        assert f"| ≥ {lower:g} | {stars} |" in TEXT
    assert f"| < {STAR_BANDS[-2][0]:g} | {STAR_BANDS[-1][1]} |" in TEXT

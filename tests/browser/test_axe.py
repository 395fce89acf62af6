"""Accessibility: axe-core on every page in both languages finds nothing serious.

Government sites in China follow GB/T 37668-2019, in line with WCAG 2.x AA. axe-core (the
npm package pinned in package-lock.json, installed by `make setup`) is injected into each
page as it stands after its script run, charts drawn, and run with the WCAG 2.0/2.1/2.2 A
and AA rules. A violation of impact serious or critical fails, naming the rule, the
elements and their HTML (docs/decisions/0015-accessibility.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metrics.i18n import t
from tests.browser.test_browser import LANGS, PAGES, screenshot, url, wait_for_app

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING = {"serious", "critical"}
# pages/meeting.py SECTIONS: meeting mode shows one a screen.
SECTIONS = ("narrative", "carried", "headline", "league", "followups", "submissions", "report")
# Streamlit's own parts that no reader sees or reaches, left out of the run, each with why:
EXCLUDE: list[str] = []

RUN_AXE = """async ([tags, exclude]) => {
    const result = await axe.run(
        {exclude: exclude.map(selector => [selector])},
        {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']},
    );
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({
            target: n.target.join(' '), html: n.html, impact: n.impact,
            summary: n.failureSummary,
        })),
    }));
}"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations on the page as it stands."""
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: run `make setup` (npm ci installs axe-core)", pytrace=False)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, [TAGS, EXCLUDE])
    return [v for v in found if v["impact"] in FAILING]


def report(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}, {len(v['nodes'])} element(s)")
        for node in v["nodes"][:25]:
            lines.append(f"  {node['target']}\n    {node['html'][:300]}")
            lines.append("    " + (node["summary"] or "").replace("\n", "\n    "))
    return "\n".join(lines)


def open_chart_tables(page: Any, lang: str) -> int:
    """Unfold every chart's table (pages/_charts.py show), so that axe checks it too."""
    folds = page.locator('[data-testid="stExpander"] summary', has_text=t("chart_as_table", lang))
    for i in range(folds.count()):
        folds.nth(i).click()
    return int(folds.count())


def check(page: Any, artifacts: Path, shot: str) -> None:
    screenshot(page, artifacts / shot)
    violations = axe_violations(page)
    (artifacts / shot.replace(".png", ".axe.json")).write_text(
        json.dumps(violations, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    assert not violations, f"see tests/artifacts/{shot}:\n{report(violations)}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_axe_violation(
    page: Any, app_url: str, artifacts: Path, name: str, lang: str
) -> None:
    page.goto(url(app_url, PAGES[name][0], lang), wait_until="domcontentloaded")
    wait_for_app(page, charts=True)
    open_chart_tables(page, lang)
    check(page, artifacts, f"axe-{name}-{lang}.png")


@pytest.mark.slow  # 40-90 s each: seven sections, each a rerun, a photograph and an axe run
@pytest.mark.parametrize("lang", LANGS)
def test_no_serious_axe_violation_in_meeting_mode(
    page: Any, app_url: str, artifacts: Path, lang: str
) -> None:
    """Meeting mode has its own type sizes and tables (st.table): each of its sections."""
    page.goto(url(app_url, "/meeting", lang), wait_until="domcontentloaded")
    wait_for_app(page, charts=True)
    # The switch's input is drawn 1 px wide for screen readers: a reader clicks its label.
    toggle = page.get_by_role("switch", name=t("meeting_mode", lang))
    page.locator("label", has=toggle).click()
    wait_for_app(page)
    problems = []
    for section in SECTIONS:
        page.locator('[data-testid="stMain"] button', has_text=t(f"sec_{section}", lang)).click()
        wait_for_app(page, charts=section == "league")
        open_chart_tables(page, lang)
        shot = f"axe-meeting-mode-{section}-{lang}.png"
        try:
            check(page, artifacts, shot)
        except AssertionError as error:
            problems.append(f"{section}: {error}")
    assert not problems, "\n".join(problems)

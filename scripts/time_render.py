"""Time how long a page takes to render fully in headless Chromium (Debian's chromium).

Start the app on the store to measure first, e.g.
    GOVDASH_DATA_DIR=/tmp/bench1e7 .venv/bin/streamlit run app.py --server.port 8599
(the store from `python -m metrics bench --scale 1e7 --dir /tmp/bench1e7 --keep`), then
    .venv/bin/python scripts/time_render.py "http://127.0.0.1:8599/?period=2025-10"
Each load is a new browser page (a new Streamlit session): the first also fills the
server's caches. "Rendered" means KPI cards, a drawn Plotly chart and a table are on the
page and the app has stopped running.
"""

from __future__ import annotations

import sys
import time

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DONE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def main(url: str, loads: int = 3) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for attempt in range(loads):
            page = browser.new_page(viewport={"width": 1440, "height": 2400}, locale="zh-CN")
            start = time.perf_counter()
            page.goto(url)
            for selector in ('[data-testid="stMetric"]', ".js-plotly-plot .main-svg"):
                page.wait_for_selector(selector, timeout=120_000)
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=120_000)
            page.wait_for_function(DONE, timeout=120_000)
            print(f"load {attempt + 1}: {time.perf_counter() - start:.2f} s")
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1])

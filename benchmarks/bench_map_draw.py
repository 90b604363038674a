"""Explore's map at several point counts: the figure built on the server, its JSON, and plotly.js
drawing it in headless Chromium (a bare page, no Streamlit), side by side in one run.

    python -m benchmarks.bench_map_draw --run RUN --data SPLIT [--points 50000 100000 200000]

RUN is a saved run with a 2-D map (``python -m musig map --run RUN``) of the split's tracks.
Prints, per point count, seconds to build the figure (``figures.map_figure``), its JSON size and
plotly.js's median draw time over ``--repeats``, with and without the per-point hover text, and
each draw's ratio to the first count's. What it leaves out (Streamlit's chart element, the page's
other widgets) is in ``bench_app.py --pages explore``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import plotly
import plotly.io as pio

from musig.runs import load_run
from musig.workspace import figures

# Plotly.newPlot, then two animation frames so that the WebGL canvas has been painted.
DRAW = """async (spec) => {
    const f = JSON.parse(spec);
    const t0 = performance.now();
    await Plotly.newPlot('map', f.data, f.layout, {});
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const took = performance.now() - t0;
    Plotly.purge('map');
    return took / 1000;
}"""


def without_hover(fig):
    for trace in fig.data:
        trace.text, trace.hovertemplate = None, None
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="the split the run was trained on")
    ap.add_argument("--points", type=int, nargs="+", default=[50_000, 100_000, 200_000])
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    xy = load_run(a.run).map2d
    if xy is None:
        raise SystemExit(f"{a.run} has no map: python -m musig map --run {a.run}")
    tracks = pd.read_csv(a.data / "tracks.csv", dtype=str, keep_default_na=False)
    tracks["popularity"], tracks["cold"] = 0, False  # colour by genre reads neither
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    page_dir = Path(tempfile.mkdtemp(prefix="bench-map-"))
    html = page_dir / "map.html"
    html.write_text(
        "<html><body><div id='map' style='width:1300px;height:520px'></div>"
        f"<script src='file://{plotly_js}'></script></body></html>"
    )
    placed = figures.map_figure(tracks, xy, max_points=1000).layout.meta["placed"]
    print(f"{len(tracks):,} tracks, {placed:,} placed; draw in seconds")
    print(f"{'points':>8} {'build s':>8} {'JSON MB':>8} {'draw':>6} {'ratio':>6} {'no hover':>9}")
    first = None
    try:
        with sync_playwright() as p:
            chromium = shutil.which("chromium") or shutil.which("chromium-browser")
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"file://{html}")
            page.wait_for_function("() => window.Plotly !== undefined")

            def draw(fig) -> float:
                spec = pio.to_json(fig, validate=False)
                return statistics.median(page.evaluate(DRAW, spec) for _ in range(a.repeats))

            page.evaluate(DRAW, pio.to_json(figures.map_figure(tracks, xy, max_points=1000)))
            for n in a.points:
                t = time.perf_counter()
                fig = figures.map_figure(tracks, xy, "genre", max_points=n)
                build = time.perf_counter() - t
                size = len(pio.to_json(fig, validate=False)) / 1e6
                drawn, bare = draw(fig), draw(without_hover(fig))
                first = first or drawn
                print(f"{n:>8,} {build:>8.2f} {size:>8.1f} {drawn:>6.2f} "
                      f"{drawn / first:>5.2f}x {bare:>9.2f}", flush=True)  # fmt: skip
            browser.close()
    finally:
        shutil.rmtree(page_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

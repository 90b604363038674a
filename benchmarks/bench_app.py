"""App speed in a real browser: warm first paint, page switch, upload -> neighbours (30 s clip).

    python benchmarks/bench_app.py [--data sample_data] [--home DIR] [--repeats 5]
                                   [--screenshots DIR]

Starts ``streamlit run app.py`` on a free port, drives headless Chromium with playwright and
prints the median and worst time of each step against the targets of the app issue (first
paint <= 3 s, page switch <= 1 s, upload -> neighbours <= 2 s). "Warm" means the server has
already served the app once (runs loaded, caches filled), as for every user after the first.
The workspace must be prepared (it is, after the app's first start); otherwise it is
prepared here first, which trains the default runs.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from musig import workspace as wsp  # noqa: E402

# page -> (sidebar label, heading, selector of its main content)
PAGES = {
    "": ("Home", "musig", '.st-key-home_runs [data-testid="stDataFrame"]'),
    "explore": ("Explore", "Explore", ".js-plotly-plot"),
    "compare": ("Compare", "Compare", '.st-key-recs_musig [data-testid="stDataFrame"]'),
    "upload": ("Upload", "Upload", '[data-testid="stFileUploaderDropzoneInput"]'),
    "train": ("Train", "Train", '[data-testid="stFormSubmitButton"]'),
    "benchmark": ("Benchmark", "Benchmark", '.st-key-bench_table [data-testid="stDataFrame"]'),
}
TARGETS = {
    "first paint": 3.0,
    "page switch, first visit": 1.0,
    "page switch, again": 1.0,
    "upload -> neighbours": 2.0,
}


def clip_30s(data: Path, uri: str) -> bytes:
    """A 30 s WAV: the track's re-rendered preview repeated (what the extractor reads)."""
    import soundfile as sf

    got = wsp.track_audio(data, uri, f"audio/{uri.rsplit(':', 1)[-1]}.wav")
    if got is None:
        raise SystemExit(f"{data}: cannot render or find audio for {uri}")
    y, sr = sf.read(got, dtype="float32") if isinstance(got, Path) else got
    y = np.tile(y, int(np.ceil(30 * sr / len(y))))[: 30 * sr]
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV")
    return buf.getvalue()


def start_server(data: Path, home: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py")]
    cmd += ["--server.port", str(port), "--server.headless", "true"]
    cmd += ["--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    cmd += ["--", "--data", str(data), "--home", str(home)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start")


def wait_page(page, heading: str, selector: str) -> None:
    page.locator("h1", has_text=heading).first.wait_for(timeout=120_000)
    page.wait_for_selector(selector, state="attached", timeout=120_000)


def snap(page, path: Path) -> None:
    """Whole-page screenshot: the app scrolls inside its main block, so grow the viewport."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(height, 1000), 8000)})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def shoot(page, url: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path, (_, heading, selector) in PAGES.items():
        if path == "upload":
            continue  # shot right after an upload, while its neighbours are on screen
        page.goto(f"{url}/{path}")
        wait_page(page, heading, selector)
        page.wait_for_timeout(1500)
        snap(page, folder / f"{path or 'home'}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=wsp.DEFAULT_DATA)
    ap.add_argument(
        "--home", type=Path, default=Path(os.environ.get("MUSIG_HOME", wsp.DEFAULT_HOME))
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--screenshots", type=Path, help="save a screenshot of every page here")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    ws = wsp.Workspace.open(a.data, a.home)
    if not ws.ready():
        print(f"preparing the workspace in {ws.root} (trains the default runs once)...")
        start = time.perf_counter()
        wsp.bootstrap(ws, progress=lambda m, f: print(f"  {f:4.0%} {m}", end="\r"))
        seconds = time.perf_counter() - start
        print(f"\nworkspace prepared in {seconds:.0f} s (what the app's first start does)")
    uris = pd.read_csv(ws.split_dir / "tracks.csv", dtype=str)["track_uri"]
    clips = [clip_30s(ws.split_dir, u) for u in uris[: a.repeats + 1]]  # one new file per round
    times: dict[str, list[float]] = {k: [] for k in TARGETS}
    per_page: dict[str, dict[str, list[float]]] = {}
    proc, url = start_server(a.data, a.home)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            for i in range(a.repeats + 1):  # the first round warms the server and is dropped
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(url)
                wait_page(page, *PAGES[""][1:])
                paint = time.perf_counter() - start
                # Twice round the pages: the first visit of a page in a tab also loads its
                # front-end code (plotly's is the big one), later visits do not.
                tour = [(v, *p) for v in ("first visit", "again") for p in list(PAGES.items())[1:]]
                for visit, path, (label, heading, selector) in tour:
                    start = time.perf_counter()
                    page.get_by_role("link", name=label).first.click()
                    wait_page(page, heading, selector)
                    if i:
                        step = f"page switch, {visit}"
                        times[step].append(time.perf_counter() - start)
                        per_page.setdefault(step, {}).setdefault(label, []).append(times[step][-1])
                    if path == "upload" and visit == "first visit":
                        file = tmp / f"clip{i}.wav"
                        file.write_bytes(clips[i])
                        start = time.perf_counter()
                        page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', file)
                        page.wait_for_selector(
                            ".st-key-nb_musig [aria-rowcount]", state="attached", timeout=120_000
                        )
                        if i:
                            times["upload -> neighbours"].append(time.perf_counter() - start)
                        if i == a.repeats and a.screenshots:
                            a.screenshots.mkdir(parents=True, exist_ok=True)
                            page.wait_for_timeout(1500)
                            snap(page, a.screenshots / "upload.png")
                if i:
                    times["first paint"].append(paint)
                if i == a.repeats and a.screenshots:
                    shoot(page, url, a.screenshots)
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    runs = len(ws.list_runs())
    print(f"\napp on {a.data} ({runs} runs), {a.repeats} warm repeats, headless Chromium")
    print(f"{'step':<26}{'median s':>10}{'worst s':>10}{'target s':>10}  ok")
    for step, values in times.items():
        med, worst = statistics.median(values), max(values)
        ok = "yes" if med <= TARGETS[step] else "NO"
        print(f"{step:<26}{med:>10.2f}{worst:>10.2f}{TARGETS[step]:>10.1f}  {ok}")
    for step, pages in per_page.items():
        shown = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in pages.items())
        print(f"{step} (median s per page): {shown}")


if __name__ == "__main__":
    main()

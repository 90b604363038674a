"""App speed in a real browser: first start, warm first paint, page switches, search, upload.

    python benchmarks/bench_app.py [--data sample_data] [--home DIR] [--repeats 5]
                                   [--fresh [N]] [--search QUERY] [--defaults JSON] [--runs RUN...]
                                   [--pages PAGE...] [--screenshots DIR]
                                   [--sessions 1,5,10 [--rounds 2]]

Starts ``streamlit run app.py`` on a free port, drives headless Chromium with playwright and
prints the median and worst time of each step against the targets of the app issues.

``--fresh [N]`` first measures N first starts (default 3) as a new user has them: an empty app
home, the server started, ``/explore`` opened directly (a bookmark); it prints the time from
``streamlit run`` to the Explore map of the MUSIG run, the first paint (the app's navigation
drawn), and the times to Compare with MUSIG and to the Upload page's file input after that.
Then, as without it, the warm steps ("warm": the server has served the app once, runs loaded,
caches filled): first paint, every page twice round (first visit in a tab, again), ``--search``
typed into Explore's search (query -> matches listed), a 30 s upload -> neighbours. Without
``--fresh`` the workspace is prepared first if needed (``--defaults``: default runs as JSON,
method -> config overrides; otherwise the registry's), which trains them; ``--runs`` copies runs
trained on ``--data`` in as default runs instead (a 100k-playlist workspace from
``bench_scale``'s runs, see the README).

``--sessions 1,5,10`` is the load mode instead (:mod:`benchmarks.app_load`): that many
concurrent sessions, each going ``--rounds`` times round Explore (searching its own track),
Compare and Upload (uploading its own clip); it prints p50/p95 page-switch latency per count and
whether every session saw only its own search and upload.
"""

from __future__ import annotations

import argparse
import io
import json
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
from musig.heap import heap_env  # noqa: E402

# page -> (sidebar label, heading, selector of its main content)
PAGES = {
    "": ("Home", "musig", '.st-key-home_runs [data-testid="stDataFrame"]'),
    "explore": ("Explore", "Explore", ".js-plotly-plot .legendtext"),  # drawn, not attached
    "compare": ("Compare", "Compare", '.st-key-recs_musig [data-testid="stDataFrame"]'),
    "upload": ("Upload", "Upload", '[data-testid="stFileUploaderDropzoneInput"]'),
    "library": ("Library", "Library", '[data-testid="stForm"]'),
    "train": ("Train", "Train", '[data-testid="stFormSubmitButton"]'),
    "benchmark": ("Benchmark", "Benchmark", '.st-key-bench_table [data-testid="stDataFrame"]'),
}
TARGETS = {
    "first paint": 3.0,
    "page switch, first visit": 1.0,
    "page switch, again": 1.0,
    "search -> matches": 1.0,
    "upload -> neighbours": 2.0,
}
FRESH_TARGETS = {"first paint": 3.0, "streamlit run -> Explore map with musig": 10.0}


def clip_30s(data: Path, uri: str, audio: str) -> bytes | None:
    """A 30 s WAV: the track's audio (re-rendered for synthetic worlds) repeated; None when the
    world has no audio (a features table)."""
    import soundfile as sf

    got = wsp.track_audio(data, uri, audio)
    if got is None:
        return None
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
    env = heap_env(os.environ)  # the README's start command for big workspaces (musig.heap)
    out = subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("streamlit did not start")


def wait_page(page, heading: str, selector: str, timeout: float = 300_000) -> None:
    page.locator("h1", has_text=heading).first.wait_for(timeout=timeout)
    page.wait_for_selector(selector, state="attached", timeout=timeout)


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
        if path in ("upload", "compare"):
            continue  # shot after an upload, and with the encoder's figures drawn
        page.goto(f"{url}/{path}")
        wait_page(page, heading, selector)
        page.wait_for_timeout(1500)
        snap(page, folder / f"{path or 'home'}.png")
    page.goto(f"{url}/compare")
    wait_page(page, "Compare", ".st-key-why_sources .js-plotly-plot")
    page.wait_for_timeout(1500)
    snap(page, folder / "compare.png")


def fresh_start(data: Path, browser) -> dict[str, float]:
    """First start on an empty app home, /explore opened directly; seconds of each step."""
    home = Path(tempfile.mkdtemp(prefix="bench-app-fresh-"))
    start = time.perf_counter()
    proc, url = start_server(data, home)
    out = {"server up": time.perf_counter() - start}
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        opened = time.perf_counter()
        page.goto(f"{url}/explore")
        page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=300_000)
        out["first paint"] = time.perf_counter() - opened
        # Explore's map (a chart with a legend: not the empty one the first start shows)...
        page.wait_for_selector(".js-plotly-plot .legendtext", timeout=900_000)
        page.get_by_text("on the map of musig").first.wait_for(timeout=900_000)  # ...MUSIG's
        out["streamlit run -> Explore map with musig"] = time.perf_counter() - start
        for path in ("compare", "upload"):
            t = time.perf_counter()
            page.get_by_role("link", name=PAGES[path][0]).first.click()
            wait_page(page, *PAGES[path][1:])
            out[f"then {PAGES[path][0]} with musig"] = time.perf_counter() - t
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    return out


def search_time(page, query: str) -> float:
    """Seconds from typing ``query`` into Explore's search (Enter) to its matches listed."""
    box = page.locator(".st-key-explore_find input")
    box.fill("")
    start = time.perf_counter()
    box.fill(query)
    box.press("Enter")
    page.wait_for_selector(f'[class*="st-key-explore_find_pick_{query}"]', timeout=120_000)
    return time.perf_counter() - start


def report(title: str, times: dict[str, list[float]], targets: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"{'step':<42}{'median s':>10}{'worst s':>10}{'target s':>10}  ok")
    for step, values in times.items():
        if not values:
            continue
        med, worst = statistics.median(values), max(values)
        target = targets.get(step)
        ok = "" if target is None else ("yes" if med <= target else "NO")
        shown = f"{target:>10.1f}" if target is not None else f"{'':>10}"
        print(f"{step:<42}{med:>10.2f}{worst:>10.2f}{shown}  {ok}")


def prepare(a) -> tuple[wsp.Workspace, pd.DataFrame]:
    """The workspace, with its default runs trained if missing, and its split's tracks."""
    ws = wsp.Workspace.open(a.data, a.home)
    defaults = a.defaults
    if a.runs:  # trained runs become default runs, with the configs they were trained with
        from musig.runs import read_run_meta

        defaults = dict(defaults or {})
        for run in a.runs:
            meta = read_run_meta(run)
            defaults[meta["method"]] = meta["config"]
            if not (ws.runs_dir / meta["method"]).exists():
                shutil.copytree(run, ws.runs_dir / meta["method"])
    if not ws.ready():
        print(f"preparing the workspace in {ws.root} (trains the default runs once)...")
        start = time.perf_counter()
        say = lambda m, f: print(f"  {f:4.0%} {m:<60}", end="\r")  # noqa: E731
        wsp.bootstrap(ws, defaults=defaults, progress=say)
        print(f"\nworkspace prepared in {time.perf_counter() - start:.0f} s")
    return ws, pd.read_csv(ws.split_dir / "tracks.csv", dtype=str, keep_default_na=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=wsp.DEFAULT_DATA)
    ap.add_argument(
        "--home", type=Path, default=Path(os.environ.get("MUSIG_HOME", wsp.DEFAULT_HOME))
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--fresh",
        type=int,
        nargs="?",
        const=3,
        default=0,
        metavar="N",
        help="measure N first starts too (default 3; each on a new app home)",
    )
    ap.add_argument("--search", help="a query to time in Explore's search")
    ap.add_argument("--defaults", type=json.loads, help="default runs, JSON method -> overrides")
    ap.add_argument(
        "--runs",
        nargs="+",
        type=Path,
        help="run folders trained on DATA (e.g. bench_scale's) to copy in as default runs",
    )
    ap.add_argument(
        "--pages",
        nargs="+",
        choices=[p for p in PAGES if p],
        help="time only these pages' switches (default: every page; e.g. explore on a "
        "workspace without a MUSIG run, whose Compare has nothing to wait for)",
    )
    ap.add_argument("--screenshots", type=Path, help="save a screenshot of every page here")
    ap.add_argument("--sessions", help="load mode: concurrent session counts, e.g. 1,5,10")
    ap.add_argument("--rounds", type=int, default=2, help="load mode: rounds per session")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if a.sessions:  # its own (async) playwright: not inside the sync one's event loop
        load_mode(a, *prepare(a), chromium)
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        if a.fresh:
            fresh: dict[str, list[float]] = {}
            for _ in range(a.fresh):
                for k, v in fresh_start(a.data, browser).items():
                    fresh.setdefault(k, []).append(v)
            title = f"{a.fresh} first starts on {a.data} (empty app home, /explore opened)"
            report(title, fresh, FRESH_TARGETS)
        ws, tracks = prepare(a)
        # No upload to time where no run embeds audio (a features-table world: its MUSIG reads
        # table columns that an audio file does not give).
        from musig.inference import can_embed_audio
        from musig.runs import load_run

        embeds = any(can_embed_audio(load_run(r.path)) for r in ws.list_runs() if r.embeds_uploads)
        clips = [
            clip_30s(ws.split_dir, u, au) if embeds else None
            for u, au in zip(tracks["track_uri"][: a.repeats + 1], tracks["audio"], strict=False)
        ]
        times: dict[str, list[float]] = {k: [] for k in TARGETS}
        per_page: dict[str, dict[str, list[float]]] = {}
        proc, url = start_server(a.data, a.home)
        tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
        try:
            for i in range(a.repeats + 1):  # the first round warms the server and is dropped
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(url)
                wait_page(page, *PAGES[""][1:])
                paint = time.perf_counter() - start
                # Twice round the pages: the first visit of a page in a tab also loads its
                # front-end code (plotly's is the big one), later visits do not.
                # With --pages, Home between them, so that each switch is one from another page.
                pages = list(PAGES.items())[1:]
                if a.pages:
                    pages = [q for p in pages if p[0] in a.pages for q in (("", PAGES[""]), p)]
                tour = [(v, *p) for v in ("first visit", "again") for p in pages]
                for visit, path, (label, heading, selector) in tour:
                    start = time.perf_counter()
                    page.get_by_role("link", name=label).first.click()
                    wait_page(page, heading, selector)
                    if i and path:
                        step = f"page switch, {visit}"
                        times[step].append(time.perf_counter() - start)
                        per_page.setdefault(step, {}).setdefault(label, []).append(times[step][-1])
                    if path == "explore" and visit == "again" and a.search:
                        took = search_time(page, a.search)
                        if i:
                            times["search -> matches"].append(took)
                    if path == "upload" and visit == "first visit" and clips[i] is not None:
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
            proc.wait(timeout=30)
            shutil.rmtree(tmp, ignore_errors=True)
    n_tracks, runs = len(tracks), len(ws.list_runs())
    title = f"app on {a.data} ({n_tracks:,} tracks, {runs} runs), {a.repeats} warm repeats"
    report(title, times, TARGETS)
    for step, pages in per_page.items():
        shown = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in pages.items())
        print(f"{step} (median s per page): {shown}")


def load_mode(a, ws, tracks: pd.DataFrame, chromium: str) -> None:
    """``--sessions``: the app under N concurrent sessions (see the module docstring)."""
    from benchmarks.app_load import load_test, print_table

    counts = [int(n) for n in a.sessions.split(",")]
    rows = tracks.iloc[: max(counts)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-load-"))
    clips = []
    for i, (uri, audio) in enumerate(zip(rows["track_uri"], rows["audio"], strict=True)):
        clips.append(tmp / f"session-{i}.wav")
        clips[-1].write_bytes(clip_30s(ws.split_dir, uri, audio))
    proc, url = start_server(a.data, a.home)
    try:
        results = load_test(
            url, PAGES, counts, rows["track_name"].tolist(), clips, a.rounds, chromium
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    title = (
        f"app on {a.data} under load: concurrent sessions, each {a.rounds} rounds of "
        "Explore (search) -> Compare -> Upload (30 s clip); page switch = link click -> content"
    )
    print_table(results, title)


if __name__ == "__main__":
    main()

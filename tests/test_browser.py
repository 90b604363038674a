"""End to end: ``streamlit run app.py`` opened in headless Chromium (Debian ``chromium``).

Every page is opened, must show its named content and no exception box; an audio file is
uploaded and its neighbours appear; the encoder's view of a completion is drawn; a music library
is scanned and a playlist exported. A second server starts on the sample world with an empty
app home, as a fresh clone does, and must show MUSIG's map on /explore opened directly.
Screenshots go to ``$MUSIG_SCREENSHOTS`` (default ``tests/screenshots/``). Without Chromium
the test skips loudly, except under CI (env ``CI``), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from musig import ui
from tests.test_app import build_app_world, wav_bytes

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# page url -> selectors that must all be present once the page has rendered
PAGES = {
    "": ['[data-testid="stMetric"]', '.st-key-home_runs [data-testid="stDataFrame"]'],
    "explore": ['[data-testid="stPlotlyChart"]', ".js-plotly-plot"],
    "compare": [
        '.st-key-recs_musig [data-testid="stDataFrame"]',
        '.st-key-recs_als [data-testid="stDataFrame"]',
        ".st-key-why_network .js-plotly-plot",
        ".st-key-why_sources .js-plotly-plot",
    ],
    "upload": ['[data-testid="stFileUploaderDropzoneInput"]'],
    "library": ['[data-testid="stForm"]'],
    "train": ['[data-testid="stFormSubmitButton"]', '[data-testid="stPlotlyChart"]'],
    "benchmark": ['.st-key-bench_table [data-testid="stDataFrame"]', ".js-plotly-plot"],
}


def missing(what: str) -> None:
    """Skip loudly on a contributor's machine; fail under CI, where the test must run."""
    message = f"\n{'=' * 78}\nBROWSER TEST SKIPPED: {what}\n{'=' * 78}"
    if os.environ.get("CI"):
        pytest.fail(message)
    print(message, file=sys.stderr)
    pytest.skip(message.strip())


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        missing("no `chromium` on PATH; install it with `apt-get install -y chromium`.")
    return path


def track_name(data: Path, uri: str) -> str:
    import pandas as pd

    tracks = pd.read_csv(data / "tracks.csv", dtype=str).set_index("track_uri")
    return tracks.loc[uri, "track_name"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data: Path, home: Path, log_file: Path) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port, once it answers its health check."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py")]
    cmd += ["--server.port", str(port), "--server.headless", "true"]
    cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    cmd += ["--", "--data", str(data), "--home", str(home)]
    log = open(log_file, "wb")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"streamlit did not start; see {log_file}")


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing("the `playwright` Python package is not installed.")
    chromium()
    data, home = build_app_world(tmp_path_factory.getbasetemp() / "app-world")
    proc, url = start_app(data, home, tmp_path_factory.getbasetemp() / "streamlit.log")
    yield url, data
    stop_app(proc)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("MUSIG_SCREENSHOTS", REPO / "tests" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def settle(page, selectors: list[str], timeout: float = 60_000) -> None:
    """Wait for the named content, then for the script run to finish (no running widget)."""
    for sel in selectors:
        page.wait_for_selector(sel, state="attached", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=timeout,
    )
    page.wait_for_timeout(800)  # let plotly and the data grids draw before a screenshot


def snap(page, path: Path) -> None:
    """Screenshot of the whole page: the app scrolls inside its main block, so the viewport is
    grown to the content's height first (``full_page`` alone would cut it off)."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(height, 1000), 8000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def check_clean(page, name: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{name}: {errors.first.inner_text()}"


def test_fresh_clone_opens_on_musig_in_seconds(browser, tmp_path, shots):
    """The sample world with an empty app home, as after ``git clone``: /explore opened
    directly shows MUSIG's map (from the shipped runs, not trained), and Upload has its file
    input. ``python benchmarks/bench_app.py --fresh`` times it."""
    from musig.methods import METHODS, by_cost
    from musig.workspace import shipped

    manifest = shipped.read_manifest(REPO / "sample_data")
    stale = shipped.stale_reasons(manifest, {m: {} for m in reversed(by_cost(METHODS))})
    assert not stale, f"stale shipped runs ({stale[0]}): python -m benchmarks.ship_runs"
    proc, url = start_app(REPO / "sample_data", tmp_path / "home", tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/explore")
        # A chart with a legend: the map, not the empty chart the first start shows.
        settle(page, ['[data-testid="stSidebarNav"]', ".js-plotly-plot .legendtext"], 300_000)
        check_clean(page, "explore")
        nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert [n.split()[-1] for n in nav] == [title for _, title, _ in ui.PAGES]
        # The map's caption names its run (a selectbox's text holds only its label).
        page.get_by_text("on the map of musig").first.wait_for(timeout=30_000)
        snap(page, shots / "fresh-explore.png")
        page.get_by_role("link", name="Upload").first.click()
        settle(page, PAGES["upload"])
        check_clean(page, "upload")
        page.close()
    finally:
        stop_app(proc)


def test_a_page_opened_by_its_address_is_the_app(server, browser):
    """The fresh server's very first request is for /explore (a bookmark, a reload): it gets the
    app's own navigation, not one Streamlit makes up from the pages/ folder."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/explore")
    settle(page, PAGES["explore"])
    check_clean(page, "explore")
    nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    assert [n.split()[-1] for n in nav] == [title for _, title, _ in ui.PAGES]
    assert page.locator("h1").first.inner_text() == "Explore"
    page.close()


def test_every_page_renders(server, browser, shots):
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for path, selectors in PAGES.items():
        name = path or "home"
        page.goto(f"{url}/{path}")
        settle(page, selectors)
        check_clean(page, name)
        assert page.locator("h1").first.inner_text().lower() == ("musig" if not path else name)
        snap(page, shots / f"{name}.png")
    page.close()


def test_explore_lasso_and_search(server, browser, shots):
    from playwright.sync_api import expect

    url, data = server
    name = track_name(data, "synth:track:00007")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/explore")
    settle(page, [".js-plotly-plot .nsewdrag"])
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 2, y + 2)
    page.mouse.down()
    for fx, fy in [(0.99, 0.01), (0.99, 0.99), (0.01, 0.99), (0.01, 0.01)]:  # lasso everything
        page.mouse.move(x + fx * w, y + fy * h, steps=8)
    page.mouse.up()
    settle(page, [".st-key-explore_selected [aria-rowcount]", ".st-key-explore_neighbours"])
    rows = page.locator(".st-key-explore_selected [aria-rowcount]").first
    assert int(rows.get_attribute("aria-rowcount")) == 121  # header + every track
    assert page.get_by_text("Download CSV").count() == 1
    search = page.locator(".st-key-explore_find input")
    search.fill(name.lower())  # any case
    search.press("Enter")
    # The lasso already showed neighbours, so wait for the focus to move to the searched track.
    expect(page.locator(".st-key-explore_focus input")).to_have_value(
        re.compile(re.escape(name)), timeout=60_000
    )
    settle(page, [".st-key-explore_neighbours [aria-rowcount]"])
    check_clean(page, "explore")
    assert page.locator('[data-testid="stAudio"]').count() == 2
    snap(page, shots / "explore-neighbours.png")
    page.close()


def test_upload_shows_neighbours(server, browser, shots, tmp_path):
    url, data = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/upload")
    settle(page, PAGES["upload"])
    clip = tmp_path / "clip.wav"
    clip.write_bytes(wav_bytes(data, "synth:track:00007"))
    page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(clip))
    try:
        settle(page, ['.st-key-nb_musig [data-testid="stDataFrame"]'])
    finally:
        snap(page, shots / "upload.png")
    check_clean(page, "upload")
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    for key in ("nb_musig", "nb_content", "upload_completion"):
        grid = page.locator(f".st-key-{key} [aria-rowcount]").first
        assert grid.get_attribute("aria-rowcount") == "11"  # header + 10 tracks
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 1
    page.close()


def test_library_scanned_and_playlist_exported(server, browser, shots, tmp_path):
    """A small library (tagged clips, bad files, a playlist) scanned on the Library page; the
    playlist completed and downloaded as M3U8. Last in this module: the workspace remembers
    the library."""
    from tests.test_library import make_folder

    url, data = server
    music = make_folder(tmp_path / "music", data)
    (music / "mix.m3u8").write_text("#EXTM3U\nAna/First/01 Rain.flac\nBo/Live/03 Wind.ogg\n")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/library")
    settle(page, PAGES["library"])
    page.locator('[data-testid="stForm"] input').fill(str(music))
    page.get_by_role("button", name="Scan").click()
    settle(page, ['.st-key-library_tracks [data-testid="stDataFrame"]'])
    check_clean(page, "library")
    page.locator(".st-key-library_playlist").click()
    page.get_by_role("option", name="mix.m3u8").click()
    settle(page, [".st-key-library_completion [aria-rowcount]"])
    snap(page, shots / "library.png")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download M3U8").click()
    text = Path(download.value.path()).read_text()
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U" and len([ln for ln in lines if not ln.startswith("#")]) == 20
    assert str(music) in text and "synth:track:" in text  # library files and catalog tracks
    assert "01 Rain.flac" not in text  # a seed
    page.close()


def test_two_sessions_are_isolated_and_share_one_job(server, browser, tmp_path):
    """Two users (separate browser contexts, so separate Streamlit sessions): each sees only
    their own search and upload; the second to start a training is told a job is running, and
    cancelling it leaves no run."""
    from playwright.sync_api import expect

    url, data = server
    a = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    b = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    names = {a: track_name(data, "synth:track:00007"), b: track_name(data, "synth:track:00042")}
    for page in (a, b):
        page.goto(f"{url}/explore")
        settle(page, PAGES["explore"])
    for page in (a, b):
        page.locator(".st-key-explore_find input").fill(names[page].lower())
        page.locator(".st-key-explore_find input").press("Enter")
    for page in (a, b):
        focus = page.locator(".st-key-explore_focus input")
        expect(focus).to_have_value(re.compile(re.escape(names[page])), timeout=60_000)
        check_clean(page, "explore")

    clip = tmp_path / "mine.wav"
    clip.write_bytes(wav_bytes(data, "synth:track:00007"))
    for page in (a, b):
        page.goto(f"{url}/upload")
        settle(page, PAGES["upload"])
    a.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(clip))
    settle(a, ['.st-key-nb_musig [data-testid="stDataFrame"]'])
    b.reload()
    settle(b, PAGES["upload"])
    assert b.locator(".st-key-nb_musig").count() == 0 and b.get_by_text("mine.wav").count() == 0

    for page, name in ((a, "two-users-a"), (b, "two-users-b")):
        page.goto(f"{url}/train")
        settle(page, PAGES["train"])
        page.locator('[data-testid="stForm"] input').first.fill(name)
    a.get_by_role("button", name="Start training").click()
    a.locator(".st-key-train_cancel").wait_for(timeout=60_000)
    b.get_by_role("button", name="Start training").click()
    expect(b.get_by_text("one job at a time")).to_be_visible(timeout=60_000)
    a.locator(".st-key-train_cancel button").click()
    expect(a.get_by_text("was cancelled")).to_be_visible(timeout=60_000)
    for page in (a, b):
        check_clean(page, "train")
        page.context.close()
    from musig import workspace as wsp

    ws = wsp.Workspace.open(data, data.parent / "home")  # as build_app_world lays it out
    assert wsp.current_job(ws) is None
    assert not [p.name for p in ws.runs_dir.iterdir() if "two-users" in p.name]

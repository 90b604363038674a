"""Load mode of ``bench_app.py``: N concurrent headless Chromium sessions on one app server.

Each session (its own browser context, so its own Streamlit session) goes round Explore,
Compare and Upload a fixed number of times: it searches its own track on Explore and uploads its
own clip on Upload. Every page switch is timed (link clicked -> the page's main content drawn);
half a second after its own search or upload (while the others make theirs) a session must
still show its own, never another's.
One Chromium process serves every session (playwright's async API), so the client side is N
tabs, not N browsers.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# page -> (sidebar label, heading, selector of its main content), as bench_app.PAGES
LOOP = ("explore", "compare", "upload")


@dataclass
class Session:
    """One simulated user: the track it searches, the clip it uploads, what it measured."""

    track: str
    clip: Path
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def _open(page, url: str, pages: dict, path: str) -> float:
    label, heading, selector = pages[path]
    start = time.perf_counter()
    await page.get_by_role("link", name=label).first.click()
    await page.locator("h1", has_text=heading).first.wait_for(timeout=300_000)
    await page.wait_for_selector(selector, state="attached", timeout=300_000)
    return time.perf_counter() - start


async def _session(browser, url: str, pages: dict, me: Session, rounds: int) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(300_000)  # ten sessions on two cores are slow, not broken
    page = await context.new_page()
    focus = page.locator(".st-key-explore_focus input")
    try:
        await page.goto(url)
        await page.locator("h1", has_text=pages[""][1]).first.wait_for()
        for _ in range(rounds):
            for path in LOOP:
                me.latencies.append(await _open(page, url, pages, path))
                if path == "explore":
                    box = page.locator(".st-key-explore_find input")
                    await box.fill(me.track.lower())
                    await box.press("Enter")
                    mine = re.compile(re.escape(me.track))
                    await expect(focus).to_have_value(mine, timeout=300_000)
                    await page.wait_for_timeout(500)  # others search meanwhile
                    shown = await focus.input_value(timeout=60_000)
                    if me.track not in shown:
                        me.problems.append(f"Explore shows {shown!r}, not {me.track!r}")
                elif path == "upload":
                    await page.set_input_files(
                        '[data-testid="stFileUploaderDropzoneInput"]', str(me.clip)
                    )
                    await page.wait_for_selector(
                        ".st-key-nb_musig [aria-rowcount]", state="attached", timeout=300_000
                    )
                    await page.wait_for_timeout(500)  # others upload meanwhile
                    uploader = page.locator('[data-testid="stFileUploader"]').first
                    names = re.findall(r"session-\d+\.wav", await uploader.inner_text())
                    if names != [me.clip.name]:
                        me.problems.append(f"Upload shows {names}, not [{me.clip.name!r}]")
    except Exception as e:  # a timeout or a missing element: reported with the numbers
        me.problems.append(f"{type(e).__name__}: {str(e).splitlines()[0]}")
    finally:
        await context.close()


async def _run(url: str, pages: dict, sessions: list[Session], rounds: int, chromium: str):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            await asyncio.gather(*(_session(browser, url, pages, s, rounds) for s in sessions))
        finally:
            await browser.close()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1), linearly interpolated; NaN for no values."""
    return float(np.percentile(values, 100 * q)) if values else float("nan")


def load_test(
    url: str,
    pages: dict,
    counts: list[int],
    tracks: list[str],
    clips: list[Path],
    rounds: int,
    chromium: str,
) -> list[dict]:
    """Run the sessions at each concurrency in ``counts``; one row of results per count (each
    also printed as soon as it is measured).

    Args:
        tracks: track names to search, one per session (len >= max(counts)).
        clips: audio files to upload, one per session, each with its own name.
    """
    rows = []
    for n in counts:
        sessions = [Session(tracks[i], clips[i]) for i in range(n)]
        start = time.perf_counter()
        asyncio.run(_run(url, pages, sessions, rounds, chromium))
        lat = [x for s in sessions for x in s.latencies]
        problems = [f"session {i}: {p}" for i, s in enumerate(sessions) for p in s.problems]
        rows.append(
            {
                "sessions": n,
                "page switches": len(lat),
                "p50 s": percentile(lat, 0.50),
                "p95 s": percentile(lat, 0.95),
                "wall s": time.perf_counter() - start,
                "problems": problems,
            }
        )
        print_table(rows[-1:], f"{n} sessions:", flush=True)
    return rows


def print_table(rows: list[dict], title: str, flush: bool = False) -> None:
    print(f"\n{title}")
    print(f"{'sessions':>8}{'switches':>10}{'p50 s':>8}{'p95 s':>8}{'wall s':>8}  isolation")
    for r in rows:
        ok = "ok" if not r["problems"] else f"{len(r['problems'])} PROBLEMS"
        print(
            f"{r['sessions']:>8}{r['page switches']:>10}{r['p50 s']:>8.2f}{r['p95 s']:>8.2f}"
            f"{r['wall s']:>8.1f}  {ok}"
        )
        for p in r["problems"]:
            print(f"    {p}")
    print(end="", flush=flush)

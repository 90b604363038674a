"""Atomic output under faults: kills at every write step, kills at random times, two writers of
one folder, a full disk. Afterwards the previous good output is intact and loadable, nothing
half-written is read as good, and rerunning the command completes.

Kills use the test-only hook of :func:`musig.utils.write_step` (env
``MUSIG_FAULT_KILL_AT_WRITE=N``: SIGKILL at the N-th write step) on a small world.
"""

from __future__ import annotations

import errno
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from musig.cli import main
from musig.utils import atomic_dir, remove_stale, writing

REPO = Path(__file__).resolve().parent.parent
FAULT = "MUSIG_FAULT_KILL_AT_WRITE"


def musig(*args, fault: int | None = None, **kw) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != FAULT}
    if fault is not None:
        env[FAULT] = str(fault)
    cmd = [sys.executable, "-m", "musig", "-q", *map(str, args)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True, **kw)


def ok(*args) -> None:
    assert main(["-q", *map(str, args)]) == 0


def leftovers(out: Path) -> list[str]:
    """Temporary siblings of ``out`` (what a killed writer leaves, until the next write)."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def kill_at_every_step(args: list, check: Callable[[], None], most: int = 25) -> int:
    """Run ``python -m musig ARGS`` killed at write step 1, 2, ... until it completes, calling
    ``check`` (the output is intact and loadable) after each; returns the steps killed at."""
    for n in range(1, most + 1):
        proc = musig(*args, fault=n)
        _, err = proc.communicate(timeout=300)
        check()
        if proc.returncode == 0:
            return n - 1
        assert proc.returncode == -signal.SIGKILL, err
    pytest.fail(f"not done after {most} write steps")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """40 tracks with 1 s clips: a features run of it takes a second."""
    from musig.synth import WorldConfig, generate_world

    cfg = WorldConfig(num_tracks=40, num_playlists=120, num_genres=3, seed=5, clip_seconds=1.0)
    return generate_world(tmp_path_factory.mktemp("faults") / "world", cfg, progress=False)


@pytest.fixture(scope="module")
def split(world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("split") / "split"
    ok("features", "--data", world)  # first: the split takes the filled feature cache along
    ok("split", "--data", world, "--out", out, "--test", 10)
    return out


# --- the primitives ------------------------------------------------------------------------------


def test_hook_is_off_unless_set(tmp_path):
    assert FAULT not in os.environ
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a").write_text("x")
    assert (tmp_path / "out" / "a").read_text() == "x"
    assert leftovers(tmp_path / "out") == []  # the lock file goes with its release


def test_swap_killed_between_renames_is_undone(tmp_path):
    """Where renames cannot exchange two folders, a kill between them leaves the old folder
    aside; the next writer (or reader through remove_stale) puts it back."""
    out = tmp_path / "run"
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that has exited
    aside = tmp_path / f".run.old-{dead.pid}"
    aside.mkdir()
    (aside / "run.json").write_text("{}")
    stale = tmp_path / f".run.p{dead.pid}_abc.tmp"
    stale.mkdir()
    assert set(remove_stale(out)) == {aside, stale}
    assert (out / "run.json").is_file() and leftovers(out) == []


def test_second_writer_is_refused(tmp_path):
    out, errors = tmp_path / "out", []
    with writing(out), writing(out):  # re-entrant in one thread
        t = threading.Thread(target=lambda: errors.append(_try_write(out)))
        t.start()
        t.join()
    assert "being written by another" in errors[0]
    with writing(out):  # free again
        pass
    assert leftovers(out) == []


def _try_write(out: Path) -> str:
    try:
        with writing(out):
            return ""
    except ValueError as e:
        return str(e)


# --- kills during real commands ------------------------------------------------------------------


def test_kill_split(world, tmp_path):
    from musig.data import load_dataset

    out = tmp_path / "split"
    ok("split", "--data", world, "--out", out, "--test", 10)
    good = load_dataset(out).fingerprint
    steps = kill_at_every_step(
        ["split", "--data", world, "--out", out, "--test", 10],
        lambda: _same(load_dataset(out).fingerprint, good),
    )
    assert steps >= 2 and leftovers(out) == []


def _same(a, b) -> None:
    assert a == b


def test_kill_features_cache(world, tmp_path):
    from musig.audio_cache import _read_cache

    data = tmp_path / "world"
    shutil.copytree(world, data)
    ok("features", "--data", data)
    cache = next((data / "cache").glob("features-*.npz"))
    uris, X = _read_cache(cache)
    np.savez(cache, track_uri=uris[:10], X=X[:10])  # a good cache missing 30 tracks

    def check() -> None:
        got, _ = _read_cache(cache)
        assert len(got) in (10, 40)

    assert kill_at_every_step(["features", "--data", data], check) >= 1
    assert len(_read_cache(cache)[0]) == 40 and leftovers(cache) == []


def test_kill_train_and_export(split, tmp_path):
    from musig.runs import load_run

    out, parquet = tmp_path / "content", tmp_path / "emb.parquet"
    ok("train", "--data", split, "--method", "content", "--out", out, "--no-map")
    created = load_run(out).meta["created"]

    def check() -> None:
        run = load_run(out)  # the old run or the new one, whole
        assert run.meta["created"] >= created and len(run.track_uris) > 0

    args = ["train", "--data", split, "--method", "content", "--out", out, "--no-map"]
    assert kill_at_every_step(args, check) >= 2
    assert leftovers(out) == []

    ok("export", "--run", out, "--out", parquet)
    import pandas as pd

    rows = len(pd.read_parquet(parquet))
    kill_at_every_step(
        ["export", "--run", out, "--out", parquet],
        lambda: _same(len(pd.read_parquet(parquet)), rows),
    )


def test_kill_train_at_random_times(split, tmp_path):
    """A few seeded random-time kills of a MUSIG training (graph build, steps, save)."""
    from musig.runs import load_run

    out = tmp_path / "musig"
    args = ["train", "--data", split, "--method", "musig", "--out", out, "--no-map"]
    args += ["--set", "steps=30", "--set", "eval_every=15"]
    ok(*args)
    rng = np.random.default_rng(0)
    for delay in rng.uniform(1.0, 6.0, size=3):
        proc = musig(*args)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert len(load_run(out).track_uris) > 0
    proc = musig(*args)
    assert proc.wait(timeout=300) == 0 and leftovers(out) == []


def test_kill_library_add(world, tmp_path):
    from musig.library import open_library

    music = tmp_path / "music"
    music.mkdir()
    for f in sorted((world / "audio").glob("*.wav"))[:4]:
        shutil.copy(f, music / f.name)
    lib = tmp_path / "lib"
    ok("library", "add", music, "--library", lib)
    shutil.copy(next((world / "audio").glob("*.wav")), music / "new.wav")

    def check() -> None:
        assert len(open_library(lib).tracks) in (4, 5)

    assert kill_at_every_step(["library", "add", music, "--library", lib], check) >= 2
    assert len(open_library(lib).tracks) == 5


def test_kill_first_start(world, tmp_path):
    """The app's first start (split + a default run, evaluated) killed at every write step."""
    from musig import workspace as wsp

    home = tmp_path / "home"
    code = (
        "import sys; from musig import workspace as w; "
        "w.bootstrap(w.Workspace.open(sys.argv[1], sys.argv[2]), defaults={'popularity': {}})"
    )

    def check() -> None:
        ws = wsp.Workspace.open(world, home)
        wsp.remove_leftovers(ws)
        for info in ws.list_runs():  # every run listed is whole
            assert (info.path / "arrays.safetensors").is_file()

    for n in range(1, 40):
        env = {**os.environ, FAULT: str(n)}
        proc = subprocess.run(
            [sys.executable, "-c", code, str(world), str(home)], cwd=REPO, env=env, timeout=300
        )
        check()
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL
    assert n > 3 and wsp.Workspace.open(world, home).ready()


# --- two writers, a full disk ---------------------------------------------------------------------


def test_two_trainings_of_one_folder(split, tmp_path):
    """Both start at once: one trains and saves, the other is refused with one line."""
    from musig.runs import load_run

    out = tmp_path / "run"
    args = ["train", "--data", split, "--method", "musig", "--out", out, "--no-map"]
    args += ["--set", "steps=60"]
    first = musig(*args)
    lock = tmp_path / ".run.lock"
    deadline = time.time() + 120
    while not lock.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    second = musig(*args)
    _, err2 = second.communicate(timeout=300)
    _, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    lines = [ln for ln in err2.splitlines() if ln.strip()]
    assert second.returncode == 2 and len(lines) == 1, err2
    assert "being written by another musig process" in lines[0]
    assert load_run(out).method == "musig" and leftovers(out) == []


def test_full_disk_keeps_the_previous_run(split, tmp_path, monkeypatch, capsys):
    from musig.runs import load_run

    out = tmp_path / "pop"
    args = ["-q", "train", "--data", str(split), "--method", "popularity", "--out", str(out)]
    assert main([*args, "--no-map"]) == 0
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())

    def full(self, data, *a, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    monkeypatch.setattr(pathlib.Path, "write_text", full)
    capsys.readouterr()
    assert main([*args, "--no-map"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device" in err
    monkeypatch.undo()
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before
    assert leftovers(out) == [] and load_run(out).method == "popularity"

"""First start of the app's workspace: shipped runs copied in seconds, stale ones trained, and
nothing a killed server left behind blocks the next start. Also: the sample world's shipped runs
are current (``python -m benchmarks.ship_runs`` regenerates them)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from musig import workspace as wsp
from musig.data import load_dataset
from musig.runs import load_run, read_arrays
from musig.utils import atomic_dir
from musig.workspace import shipped
from musig.workspace.views import upload_features
from tests.test_app import DEFAULTS, app_world, wav_bytes  # noqa: F401  (session fixture)

REGENERATE = "stale shipped runs: regenerate them with `python -m benchmarks.ship_runs`"


@pytest.fixture(scope="module")
def shipped_world(app_world, tmp_path_factory):  # noqa: F811
    """A copy of the app world that ships its default runs (compact, with a manifest)."""
    data, home = app_world
    ws = wsp.Workspace.open(data, home)
    root = tmp_path_factory.mktemp("shipped") / "world"
    shutil.copytree(data, root)
    split = load_dataset(ws.split_dir)
    with atomic_dir(root / shipped.FOLDER) as out:
        for name in DEFAULTS:
            shipped.compact_run(ws.runs_dir / name, out / name)
        shipped.write_manifest(
            out,
            data=root,
            dataset_fingerprint=ws.root.name,
            split_fingerprint=split.fingerprint,
            defaults=DEFAULTS,
        )
    return root, ws


def test_compact_run_is_smaller_and_embeds_uploads_the_same(shipped_world):
    root, ws = shipped_world
    full, small = ws.runs_dir / "musig", root / shipped.FOLDER / "musig"
    size = lambda p: (p / "arrays.safetensors").stat().st_size  # noqa: E731
    assert size(small) < size(full) / 2
    arrays = read_arrays(small)
    assert "features" not in arrays and arrays["embeddings"].dtype == np.float16
    # Its dataset_root is the original split's, as a seeded copy's would be the new one's.
    a, b = load_run(full), load_run(small)
    assert b.embeddings.dtype == np.float32 and b.can_embed_audio
    raw = upload_features(wav_bytes(ws.data, "synth:track:00007"), "clip.wav")[None, :]
    ea, eb = a.embed_features(raw)[0], b.embed_features(raw)[0]
    assert np.allclose(ea.embedding, eb.embedding, atol=1e-5)
    assert ea.neighbor_uris[:5] == eb.neighbor_uris[:5]


def test_first_start_copies_current_shipped_runs(shipped_world, tmp_path):
    root, _ = shipped_world
    ws = wsp.Workspace.open(root, tmp_path)
    start = time.perf_counter()
    assert wsp.bootstrap(ws, defaults=DEFAULTS) == []  # nothing trained
    took = time.perf_counter() - start
    assert ws.ready() and [r.name for r in ws.list_runs()] == list(DEFAULTS)
    meta = json.loads((ws.runs_dir / "musig" / "run.json").read_text())
    assert meta["provenance"]["dataset_root"] == str(ws.split_dir)
    run = load_run(ws.runs_dir / "musig", load_dataset(ws.split_dir))
    assert run.can_embed_audio and run.map2d is not None
    assert took < 30, took  # the split and four copies; training would take far longer


def test_stale_shipped_runs_are_trained_instead(shipped_world, tmp_path):
    root, _ = shipped_world
    manifest = shipped.read_manifest(root)
    changed = {**DEFAULTS, "als": {"factors": 8}}
    assert shipped.stale_reasons(manifest, DEFAULTS) == []
    assert shipped.stale_reasons(manifest, changed) == [
        "als: shipped with other settings than its defaults now"
    ]
    ws = wsp.Workspace.open(root, tmp_path)
    assert wsp.bootstrap(ws, defaults=changed) == ["als"]
    assert load_run(ws.runs_dir / "als").embeddings.shape[1] == 8


def test_shipped_runs_of_another_version_or_split_are_not_used(shipped_world, tmp_path):
    root, _ = shipped_world
    ws = wsp.Workspace.open(root, tmp_path)
    split = load_dataset(ws.ensure_split())
    args = (root, ws.runs_dir, ws.split_dir)
    assert shipped.seed_runs(*args, "0" * 16, DEFAULTS) == []
    other = tmp_path / "other"
    shutil.copytree(root, other)
    file = other / shipped.FOLDER / shipped.MANIFEST
    file.write_text(json.dumps({**json.loads(file.read_text()), "musig_version": "0.0.1"}))
    reasons = shipped.stale_reasons(shipped.read_manifest(other), DEFAULTS)
    assert reasons and reasons[0].startswith("musig_version: shipped '0.0.1'")
    assert shipped.seed_runs(other, *args[1:], split.fingerprint, DEFAULTS) == []
    assert shipped.seed_runs(*args, split.fingerprint, {"als": {}}) == ["als"]


def test_open_recognises_a_dataset_without_parsing_it(shipped_world, tmp_path, monkeypatch):
    from musig.workspace import core

    root, ws = shipped_world
    monkeypatch.setattr(core, "load_dataset", lambda *a, **k: pytest.fail("parsed"))
    assert wsp.Workspace.open(root, tmp_path) == wsp.Workspace(root, tmp_path / ws.root.name, False)
    monkeypatch.undo()
    plain = tmp_path / "plain"
    shutil.copytree(ws.data, plain)
    first = wsp.Workspace.open(plain, tmp_path)  # parsed once, then remembered
    monkeypatch.setattr(core, "load_dataset", lambda *a, **k: pytest.fail("parsed"))
    assert wsp.Workspace.open(plain, tmp_path) == first


def test_leftovers_of_a_killed_server_are_removed(app_world, tmp_path):  # noqa: F811
    ws = wsp.Workspace.open(app_world[0], tmp_path)
    left = [ws.root / ".split.k3j.tmp", ws.runs_dir / ".musig.x1.tmp", ws.runs_dir / ".als.old-7"]
    busy = ws.runs_dir / ".mine.q2.tmp"  # the current job is writing run "mine": kept
    for folder in [*left, busy]:
        folder.mkdir(parents=True)
        (folder / "arrays.safetensors").write_bytes(b"half")
    ws.jobs_dir.mkdir()
    (ws.jobs_dir / "current.json").write_text(json.dumps({"name": "mine", "pid": 1}))
    assert sorted(wsp.remove_leftovers(ws)) == sorted(left)
    assert busy.is_dir() and not any(p.exists() for p in left)


def test_a_killed_first_start_does_not_block_the_next(app_world, tmp_path):  # noqa: F811
    ws = wsp.Workspace.open(app_world[0], tmp_path)
    lock = ws.root / "bootstrap.lock"
    ws.root.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""import fcntl, sys, time
fh = open({str(lock)!r}, "w"); fcntl.flock(fh, fcntl.LOCK_EX)
print("locked", flush=True); time.sleep(60)""",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    os.kill(holder.pid, signal.SIGKILL)  # as a killed server: its lock file stays behind
    holder.wait()
    assert lock.is_file()
    assert wsp.bootstrap(ws, defaults={"popularity": {}}) == ["popularity"]
    assert ws.ready()

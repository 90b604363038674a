"""Runs shipped in a dataset folder, so that the app's first start has them in seconds.

A dataset folder may hold ``app-runs/``: the app's default runs, trained on the workspace's
evaluation split of that dataset and made small, plus ``manifest.json`` saying what they were
made with::

    app-runs/manifest.json      musig, extractor and run-format versions, the dataset's and the
                                split's fingerprints, the default runs (method -> overrides; a
                                new workspace of the dataset takes them), each run's config and
                                graph settings
    app-runs/<method>/          a run folder (musig.runs): embeddings in half precision, no copy
                                of the scaled features (rebuilt from the dataset's feature cache
                                on load) and, as for every run, no graph (rebuilt from the split)

At first start the workspace copies each shipped run that is still current (same versions, same
split, same config and graph as the method's defaults now) into its runs folder instead of
training it; anything else is trained as before. ``python -m benchmarks.ship_runs`` makes them.
No streamlit here, and nothing that imports the rest of the workspace package.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from musig.utils import atomic_dir, atomic_write_json

FOLDER = "app-runs"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
# Files that define a dataset's track index, playlists and own challenge set: the dataset
# fingerprint (musig.data.Dataset.fingerprint) depends on nothing else.
_IDENTITY_FILES = ("tracks.csv", "challenge_set.json", "challenge_truth.json")


def content_key(data: str | Path) -> str:
    """SHA-256 (16 hex digits) of the files a dataset's fingerprint depends on: tracks.csv,
    the playlist slices and the challenge files, by relative path and bytes. Hashing them takes
    milliseconds where parsing them takes seconds, so a dataset seen before (or shipped with
    its runs) is recognised without loading it."""
    from musig.mpd import slice_files

    data = Path(data)
    files = [data / name for name in _IDENTITY_FILES if (data / name).is_file()]
    files += slice_files(data / "playlists") or slice_files(data / "data")
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.relative_to(data).as_posix().encode() + b"\x00")
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        h.update(b"\x00")
    return h.hexdigest()[:16]


def signature(name: str, overrides: Mapping | None = None) -> list:
    """What a default run must have been trained with to be current: [config, graph settings]
    of method ``name`` with ``overrides``, as plain JSON values (as run.json records them)."""
    from musig.fitting import config_to_dict
    from musig.methods import get, resolve_config

    cfg = resolve_config(name, dict(overrides or {}))
    return json.loads(json.dumps([config_to_dict(cfg), get(name).describe_graph(cfg)]))


def versions() -> dict:
    """The versions a shipped run depends on beyond its config: musig (the training code), the
    audio extractor (the feature space) and the run format (how it is read)."""
    from musig._version import __version__
    from musig.audio import EXTRACTOR_VERSION
    from musig.runs import RUN_FORMAT_VERSION

    return {
        "musig_version": __version__,
        "extractor_version": EXTRACTOR_VERSION,
        "run_format_version": RUN_FORMAT_VERSION,
    }


def read_manifest(data: str | Path) -> dict | None:
    """``app-runs/manifest.json`` of a dataset folder, or None when it ships no runs."""
    file = Path(data) / FOLDER / MANIFEST
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text())
    except json.JSONDecodeError:
        return None
    return manifest if manifest.get("format") == MANIFEST_FORMAT else None


def stale_reasons(manifest: dict | None, defaults: Mapping[str, Mapping]) -> list[str]:
    """Why shipped runs would not be used now; empty when every default run is shipped current.

    Args:
        manifest: :func:`read_manifest`.
        defaults: default runs, method -> config overrides (``Workspace.defaults()``).
    """
    if manifest is None:
        return ["no shipped runs (app-runs/manifest.json)"]
    reasons = [
        f"{key}: shipped {manifest.get(key)!r}, now {value!r}"
        for key, value in versions().items()
        if manifest.get(key) != value
    ]
    shipped = manifest.get("runs", {})
    for name, overrides in defaults.items():
        if name not in shipped:
            reasons.append(f"{name}: not shipped")
        elif shipped[name] != signature(name, overrides):
            reasons.append(f"{name}: shipped with other settings than its defaults now")
    return reasons


def seed_runs(
    data: Path,
    runs_dir: Path,
    split_dir: Path,
    split_fingerprint: str,
    wanted: Mapping[str, Mapping],
) -> list[str]:
    """Copy the shipped runs that are current into a workspace's runs folder.

    Args:
        data: the dataset folder (its ``app-runs/``).
        runs_dir / split_dir: the workspace's runs folder and evaluation split.
        split_fingerprint: the split's dataset fingerprint; shipped runs of another split are
            not used (the split code changed since they were made).
        wanted: runs to seed, name -> config overrides (missing default runs).
    Returns:
        The names copied; each copy is written aside and renamed into place, and its
        ``dataset_root`` points at this workspace's split (where its graph and features are
        rebuilt from).
    """
    manifest = read_manifest(data)
    if manifest is None or manifest.get("split_fingerprint") != split_fingerprint:
        return []
    if any(manifest.get(k) != v for k, v in versions().items()):
        return []
    from musig.methods import PRIMARY

    seeded = []
    # The primary method first: pages open on it, so the first map a new user sees is its own.
    for name, overrides in sorted(wanted.items(), key=lambda item: item[0] != PRIMARY):
        src = Path(data) / FOLDER / name
        if manifest["runs"].get(name) != signature(name, overrides):
            continue
        if not (src / "run.json").is_file():
            continue
        with atomic_dir(runs_dir / name) as tmp:
            shutil.copytree(src, tmp, dirs_exist_ok=True)
            meta = json.loads((tmp / "run.json").read_text())
            meta["provenance"]["dataset_root"] = str(Path(split_dir).resolve())
            (tmp / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
        seeded.append(name)
    return seeded


def compact_run(src: Path, dst: Path) -> Path:
    """A small copy of run folder ``src`` at ``dst``: embeddings in half precision, and no copy
    of the scaled catalog features (``run.json`` says ``features.in_run: false``; they are
    rebuilt from the dataset's feature cache with the run's own scaler when new audio is
    embedded). Everything else is copied as it is."""
    from safetensors.numpy import load as st_load
    from safetensors.numpy import save as st_save

    src, dst = Path(src), Path(dst)
    with atomic_dir(dst) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        arrays = st_load((src / "arrays.safetensors").read_bytes())
        meta = json.loads((src / "run.json").read_text())
        if "features" in arrays:
            del arrays["features"], arrays["feature_mask"]
            meta["features"]["in_run"] = False
        if "embeddings" in arrays:
            arrays["embeddings"] = arrays["embeddings"].astype(np.float16)
        arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        (tmp / "arrays.safetensors").write_bytes(st_save(arrays))
        (tmp / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    return dst


def write_manifest(
    folder: Path,
    *,
    data: Path,
    dataset_fingerprint: str,
    split_fingerprint: str,
    defaults: Mapping[str, Mapping],
) -> dict:
    """Record what the runs in ``folder`` (an ``app-runs`` folder being made) were made with."""
    manifest = {
        "format": MANIFEST_FORMAT,
        **versions(),
        "content_key": content_key(data),
        "dataset_fingerprint": dataset_fingerprint,
        "split_fingerprint": split_fingerprint,
        "defaults": [[name, dict(overrides)] for name, overrides in defaults.items()],
        "runs": {name: signature(name, overrides) for name, overrides in defaults.items()},
        "regenerate": "python -m benchmarks.ship_runs",
    }
    atomic_write_json(Path(folder) / MANIFEST, manifest)
    return manifest

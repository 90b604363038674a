"""The app's workspace: a dataset, its evaluation split, its saved runs and one training job.

Layout of ``HOME/<dataset fingerprint>/``::

    workspace.json     the default runs (method -> config overrides), fixed at first start
    bootstrap.lock     held while the first start runs (musig.workspace.firststart)
    split/             evaluation split of the dataset (absent when the dataset has its own)
    runs/<name>/       run folders (:mod:`musig.runs`); default runs are named after their method
    jobs/current.json  the running job; its existence is the lock (one job at a time)
    jobs/last.json     outcome of the last finished job
    results/           output of ``python -m musig evaluate``

No streamlit here: the app (``musig.ui``, ``pages/``) is a thin layer over this package.
Jobs run as ``python -m musig ...`` subprocesses so the app stays responsive; run folders are
written atomically, so a cancelled or crashed job never leaves half a run behind.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from musig.data import load_dataset
from musig.metrics import METRICS
from musig.utils import atomic_write_json
from musig.workspace import shipped

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO / "sample_data"
DEFAULT_HOME = Path.home() / ".cache" / "musig" / "app"
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")
AUDIO_TYPES = ("wav", "flac", "ogg", "mp3")
MAX_UPLOAD_MB = 50  # several minutes of WAV, far more than the 30 s analysed; as config.toml


def parse_args(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[Path, Path]:
    """Dataset folder and app home from ``-- --data DIR --home DIR``, env or defaults.

    Unknown arguments are ignored (under ``pytest`` the script sees pytest's own argv).
    """
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument("--data", type=Path)
    p.add_argument("--home", type=Path)
    a, _ = p.parse_known_args(list(argv))
    data = a.data or Path(environ.get("MUSIG_DATA") or DEFAULT_DATA)
    home = a.home or Path(environ.get("MUSIG_HOME") or DEFAULT_HOME)
    return data.expanduser().resolve(), home.expanduser().resolve()


@dataclass(frozen=True)
class RunSummary:
    """A saved run as the app lists it (read from run.json and metrics.json only)."""

    name: str
    path: Path
    method: str
    created: str
    train_seconds: float
    default: bool
    embeds_uploads: bool  # the method embeds new audio with this run's config (registry)
    recommend_only: bool  # ranks tracks without embeddings: no map, no neighbours (registry)
    metrics: dict = field(default_factory=dict)

    @property
    def mtime(self) -> float:
        """Cache key: changes whenever the run folder is replaced."""
        return (self.path / "run.json").stat().st_mtime

    @property
    def label(self) -> str:
        return self.name if self.name == self.method else f"{self.name} ({self.method})"


@dataclass(frozen=True)
class Workspace:
    """Paths of one dataset's workspace; see the module docstring."""

    data: Path
    root: Path
    own_split: bool  # the dataset ships challenge_set.json + challenge_truth.json

    @classmethod
    def open(cls, data: str | Path, home: str | Path) -> Workspace:
        """Workspace of dataset folder ``data`` under ``home``.

        The dataset is loaded (and validated) the first time its files are seen; its
        fingerprint is then remembered in ``HOME/datasets.json`` under a hash of those files,
        and a dataset that ships prepared runs records it in their manifest, so later opens
        (and a fresh clone's first) take milliseconds instead of parsing every playlist.
        """
        data, home = Path(data).resolve(), Path(home).resolve()
        key = shipped.content_key(data) if data.is_dir() else None
        known = read_json(home / "datasets.json").get(key) if key else None
        manifest = shipped.read_manifest(data) if key else None
        if known is None and manifest and manifest.get("content_key") == key:
            known = {"fingerprint": manifest["dataset_fingerprint"], "own_split": False}
        if known is None:
            ds = load_dataset(data)
            own = ds.challenge is not None and ds.truth is not None
            known = {"fingerprint": ds.fingerprint, "own_split": own}
            if key:
                _remember(home / "datasets.json", key, known)
        return cls(data, home / known["fingerprint"], bool(known["own_split"]))

    split_dir = property(lambda self: self.data if self.own_split else self.root / "split")
    runs_dir = property(lambda self: self.root / "runs")
    jobs_dir = property(lambda self: self.root / "jobs")
    results_dir = property(lambda self: self.root / "results")

    def defaults(self) -> dict[str, dict]:
        """Default runs of this workspace: method -> config overrides; unless set otherwise,
        those the dataset ships runs of, else every registered method, the cheapest to train
        first (the app fills up fastest)."""
        file = self.root / "workspace.json"
        if file.is_file():  # a list of pairs: JSON objects may come back key-sorted
            return dict(json.loads(file.read_text())["defaults"])
        manifest = shipped.read_manifest(self.data)
        if manifest and manifest.get("defaults"):
            return dict(manifest["defaults"])
        from musig.methods import METHODS, by_cost

        return {m: {} for m in reversed(by_cost(METHODS))}

    def set_defaults(self, defaults: Mapping[str, dict]) -> None:
        atomic_write_json(self.root / "workspace.json", {"defaults": list(defaults.items())})

    def ensure_split(self) -> Path:
        """The split folder, drawn once (musig.split defaults, test set capped at 20 %)."""
        if self.own_split or (self.split_dir / "challenge_truth.json").is_file():
            return self.split_dir
        from musig.split import SplitConfig, make_split

        ds = load_dataset(self.data)
        n_test = min(SplitConfig().num_test_playlists, max(1, ds.num_playlists // 5))
        make_split(ds, self.split_dir, SplitConfig(num_test_playlists=n_test))
        return self.split_dir

    def list_runs(self) -> list[RunSummary]:
        """Saved runs, default runs first (in their order), then the others by name."""
        from musig.methods import get
        from musig.runs import read_run_meta

        if not self.runs_dir.is_dir():
            return []
        defaults = list(self.defaults())
        out = []
        for path in sorted(self.runs_dir.iterdir()):
            if path.name.startswith(".") or not (path / "run.json").is_file():
                continue  # temporary folders of runs being written
            try:
                meta = read_run_meta(path)
                method = get(meta["method"])
                cfg = method.config(meta["config"])
            except ValueError:
                continue  # another format, or a method this musig does not know
            metrics_file = path / "metrics.json"
            metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
            out.append(
                RunSummary(
                    name=path.name,
                    path=path,
                    method=meta["method"],
                    created=meta.get("created", ""),
                    train_seconds=float(meta.get("train_seconds", 0.0)),
                    default=path.name in defaults,
                    embeds_uploads=method.embeds_uploads(cfg),
                    recommend_only=method.recommend_only,
                    metrics=metrics,
                )
            )
        rank = {n: i for i, n in enumerate(defaults)}
        return sorted(out, key=lambda r: (rank.get(r.name, len(rank)), r.name))

    def missing_defaults(self) -> list[str]:
        """Default runs to (re)train: absent, unreadable, trained with another config or graph
        than the method's current defaults, or on another audio extractor's features (the code
        changed since), in their order."""
        from musig.audio import EXTRACTOR_VERSION
        from musig.runs import read_run_meta

        out = []
        for name, overrides in self.defaults().items():
            want = shipped.signature(name, overrides)
            try:
                meta = read_run_meta(self.runs_dir / name)
                have = [meta["config"], meta["graph"]]
                if meta["features"].get("extractor_version") not in (None, EXTRACTOR_VERSION):
                    have = None
            except ValueError:
                have = None
            if have != want:
                out.append(name)
        return out

    def ready(self) -> bool:
        """Whether the split and every default run exist, up to date and evaluated."""
        if not (self.split_dir / "challenge_truth.json").is_file() or self.missing_defaults():
            return False
        return all("challenge" in r.metrics for r in self.list_runs())

    def scenario_pids(self) -> dict[str, list[int]]:
        """Scenario name -> challenge pids of the split, in canonical order (empty without
        split.json)."""
        from musig.split import read_scenarios

        return read_scenarios(self.split_dir)

    def scenarios(self) -> list[str]:
        return list(self.scenario_pids())


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; {} when it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _remember(path: Path, key: str, value: dict) -> None:
    """Add one entry to a small JSON cache; a cache that cannot be written is only slower."""
    try:
        atomic_write_json(path, {**read_json(path), key: value})
    except OSError:
        pass


# --- results of the saved runs ---------------------------------------------------------------


FULL_RESULTS = "results.json (python -m musig evaluate)"


def results(ws: Workspace) -> tuple[str, dict] | None:
    """Benchmark results: ``python -m musig evaluate``'s results.json if present and readable
    (source ``FULL_RESULTS``), else the per-run evaluations of the saved runs, in the same schema
    (method = run name); a damaged results.json is skipped, not shown as a traceback."""
    full = read_json(ws.results_dir / "results.json")
    if _is_results(full):
        return FULL_RESULTS, full
    runs = [r for r in ws.list_runs() if "challenge" in r.metrics]
    if not runs:
        return None
    return "evaluations of the saved runs", {
        "methods": [r.name for r in runs],
        "overall": {r.name: r.metrics["challenge"]["overall"] for r in runs},
        "per_scenario": {r.name: r.metrics["challenge"]["per_scenario"] for r in runs},
        "cold_start": {r.name: r.metrics["challenge"]["cold_start"] for r in runs},
        "buckets": {r.name: r.metrics["challenge"].get("buckets", {}) for r in runs},
        "train_seconds": {r.name: r.train_seconds for r in runs},
    }


def _is_results(res: dict) -> bool:
    """Whether ``res`` has the shape of ``evaluate``'s results.json where the Benchmark page
    reads it: a list of method names, and an entry per method in each per-method section."""
    methods = res.get("methods")
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        return False
    sections = ("overall", "per_scenario", "cold_start", "train_seconds")
    if not all(isinstance(res.get(s), dict) for s in sections):
        return False
    return all(
        isinstance(res[s].get(m), dict) and all(isinstance(v, dict) for v in res[s][m].values())
        for s in ("overall", "per_scenario", "cold_start")
        for m in methods
    )


def runs_frame(runs: Sequence[RunSummary]) -> pd.DataFrame:
    """One row per run: method, headline challenge metrics (means), training time."""
    rows = []
    for r in runs:
        ch = r.metrics.get("challenge", {})
        row = {"run": r.name, "method": r.method, "default": r.default}
        row.update({m: ch.get("overall", {}).get(m, {}).get("mean") for m in METRICS})
        row["cold recall@100"] = ch.get("cold_start", {}).get("recall@100", {}).get("mean")
        row.update({"train s": round(r.train_seconds, 1), "created": r.created})
        rows.append(row)
    return pd.DataFrame(rows)


def results_frame(res: dict, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Long table of a results dict: method, metric, mean, lo, hi."""
    rows = [
        {"method": m, "metric": k, **v}
        for m in res["methods"]
        for k, v in res["overall"].get(m, {}).items()
        if k in metrics
    ]
    return pd.DataFrame(rows, columns=["method", "metric", "mean", "lo", "hi"])

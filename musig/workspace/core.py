"""The app's workspace: a dataset, its evaluation split, its saved runs and one training job.

Layout of ``HOME/<dataset fingerprint>/``::

    workspace.json     the default runs (method -> config overrides), fixed at first start
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
import fcntl
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from musig.data import load_dataset
from musig.metrics import METRICS
from musig.utils import atomic_write_json

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO / "sample_data"
DEFAULT_HOME = Path.home() / ".cache" / "musig" / "app"
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")
AUDIO_TYPES = ("wav", "flac", "ogg", "mp3")


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
        """Workspace of dataset folder ``data`` under ``home`` (the dataset is validated)."""
        ds = load_dataset(data)
        own = ds.challenge is not None and ds.truth is not None
        return cls(Path(data).resolve(), Path(home).resolve() / ds.fingerprint, own)

    split_dir = property(lambda self: self.data if self.own_split else self.root / "split")
    runs_dir = property(lambda self: self.root / "runs")
    jobs_dir = property(lambda self: self.root / "jobs")
    results_dir = property(lambda self: self.root / "results")

    def defaults(self) -> dict[str, dict]:
        """Default runs of this workspace: method -> config overrides; unless set otherwise,
        every registered method, the cheapest to train first (the app fills up fastest)."""
        file = self.root / "workspace.json"
        if file.is_file():  # a list of pairs: JSON objects may come back key-sorted
            return dict(json.loads(file.read_text())["defaults"])
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
        from musig.fitting import config_to_dict
        from musig.methods import get, resolve_config
        from musig.runs import read_run_meta

        out = []
        for name, overrides in self.defaults().items():
            cfg = resolve_config(name, overrides)
            want = json.loads(json.dumps([config_to_dict(cfg), get(name).describe_graph(cfg)]))
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


# --- first start: split, default runs, their evaluation --------------------------------------


@contextmanager
def _file_lock(path: Path):
    """Exclusive advisory lock; a second app process on the same home waits here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def bootstrap(
    ws: Workspace,
    *,
    defaults: Mapping[str, dict] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> list[str]:
    """Make the split and train + evaluate every missing default run (in this process).

    Args:
        defaults: method -> overrides; recorded as the workspace's defaults on first call.
        progress: called with (message, fraction done in [0, 1]).
    Returns:
        Names of the runs trained now (empty when everything was there).
    Raises:
        RuntimeError: naming the default runs that failed to train (the others are saved).
    """
    from musig.evaluation import evaluate_run
    from musig.features import load_features
    from musig.methods import get, resolve_config
    from musig.pipeline import needs_features, train_run

    say = progress or (lambda msg, frac: None)
    with _file_lock(ws.root / "bootstrap.lock"):
        if defaults is not None or not (ws.root / "workspace.json").is_file():
            ws.set_defaults(defaults if defaults is not None else ws.defaults())
        say("Drawing the evaluation split", 0.0)
        split = load_dataset(ws.ensure_split())
        missing = ws.missing_defaults()
        failed: dict[str, str] = {}
        features = None
        if any(needs_features(get(m), resolve_config(m, ws.defaults()[m])) for m in missing):
            say("Extracting audio features (cached on disk)", 0.0)
            features = load_features(split)
        for i, method in enumerate(missing):
            overrides = ws.defaults()[method]
            steps = getattr(resolve_config(method, overrides), "steps", None)
            what = f"Training {method} ({i + 1}/{len(missing)})"

            def on_record(rec: dict, i=i, what=what, steps=steps) -> None:
                if steps and rec.get("kind") == "train":
                    done = rec["step"] / steps
                    say(f"{what}: step {rec['step']}/{steps}", (i + done) / len(missing))

            say(what, i / len(missing))
            try:
                train_run(
                    split,
                    method,
                    ws.runs_dir / method,
                    overrides=overrides,
                    features=features,
                    callback=on_record,
                )
            except Exception as e:  # one failing method must not hold back the others
                failed[method] = f"{type(e).__name__}: {e}"
        for info in ws.list_runs():
            if "challenge" not in info.metrics:
                say(f"Evaluating {info.name}", 1.0)
                evaluate_run(info.path, split)
        say("Ready", 1.0)
    if failed:
        raise RuntimeError("; ".join(f"{m}: {why}" for m, why in failed.items()))
    return missing


class Bootstrap:
    """:func:`bootstrap` in a background thread, so every session can watch one shared run."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.message, self.fraction, self.error = "Loading musig", 0.0, None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="musig-bootstrap")

    def start(self) -> Bootstrap:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            bootstrap(self.ws, progress=self._update)
        except Exception as e:  # shown in the app; the next start tries again
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done.set()

    def _update(self, message: str, fraction: float) -> None:
        self.message, self.fraction = message, min(max(fraction, 0.0), 1.0)


# --- results of the saved runs ---------------------------------------------------------------


def results(ws: Workspace) -> tuple[str, dict] | None:
    """Benchmark results: ``python -m musig evaluate``'s results.json if present, else the
    per-run evaluations of the saved runs, in the same schema (method = run name)."""
    file = ws.results_dir / "results.json"
    if file.is_file():
        return "results.json (python -m musig evaluate)", json.loads(file.read_text())
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

"""First start of a workspace: its evaluation split and default runs, made in the background.

Shipped runs (:mod:`musig.workspace.shipped`) that are still current are copied in; the other
default runs are trained here, cheapest first, and each is evaluated as soon as it is saved, so
the app's pages fill in run by run. A server killed half-way leaves nothing that blocks the next
start: the lock is an ``flock`` the kernel releases with the process, run folders and the split
are written aside and renamed into place, and what was being written is removed here.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path

from musig.data import Dataset, load_dataset
from musig.workspace import shipped
from musig.workspace.core import Workspace, read_json


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
    use_shipped: bool = True,
    on_split: Callable[[Dataset], None] | None = None,
) -> list[str]:
    """Make the split and train + evaluate every missing default run (in this process).

    Args:
        defaults: method -> overrides; recorded as the workspace's defaults on first call.
        progress: called with (message, fraction done in [0, 1]).
        use_shipped: copy the dataset's shipped runs that are current instead of training them
            (off when making the shipped runs themselves).
        on_split: called with the split as soon as it is loaded (the app keeps it, instead of
            parsing the split's playlists a second time for its first page).
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
    # A killed server's lock is released with its process (flock); what it was writing is left
    # in temporary folders, removed here before anything else runs.
    with _file_lock(ws.root / "bootstrap.lock"):
        remove_leftovers(ws)
        if defaults is not None or not (ws.root / "workspace.json").is_file():
            ws.set_defaults(defaults if defaults is not None else ws.defaults())
        say("Drawing the evaluation split", 0.0)
        split = load_dataset(ws.ensure_split())
        if on_split is not None:
            on_split(split)
        wanted = {m: ws.defaults()[m] for m in ws.missing_defaults()}
        if wanted and use_shipped:
            copied = shipped.seed_runs(
                ws.data, ws.runs_dir, ws.split_dir, split.fingerprint, wanted
            )
            if copied:
                say(f"Copied {len(copied)} prepared runs", 0.0)
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
                path = train_run(
                    split,
                    method,
                    ws.runs_dir / method,
                    overrides=overrides,
                    features=features,
                    callback=on_record,
                )
                evaluate_run(path, split)  # each run is complete on every page as soon as saved
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


def remove_leftovers(ws: Workspace) -> list[Path]:
    """Temporary folders a killed process left in the workspace (a split or run being written,
    a run being replaced or deleted), except those of the run the current job is writing.

    Returns:
        the folders removed.
    """
    busy = read_json(ws.jobs_dir / "current.json").get("name")
    found = list(ws.root.glob(".split.*.tmp")) if ws.root.is_dir() else []
    if ws.runs_dir.is_dir():
        found += [
            p
            for p in ws.runs_dir.glob(".*")
            if p.is_dir()
            and re.fullmatch(r"\..+\.(\w+\.tmp|old-\d+|deleted-\d+)", p.name)
            and not (busy and p.name.startswith(f".{busy}."))
        ]
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found


class Bootstrap:
    """:func:`bootstrap` in a background thread, so every session can watch one shared run."""

    def __init__(self, ws: Workspace, on_split: Callable[[Dataset], None] | None = None):
        self.ws, self.on_split = ws, on_split
        self.message, self.fraction, self.error = "Loading musig", 0.0, None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="musig-bootstrap")

    def start(self) -> Bootstrap:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            bootstrap(self.ws, progress=self._update, on_split=self.on_split)
        except Exception as e:  # shown in the app; the next start tries again
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done.set()

    def _update(self, message: str, fraction: float) -> None:
        self.message, self.fraction = message, min(max(fraction, 0.0), 1.0)

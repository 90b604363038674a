"""The one background job of a workspace: ``python -m musig train|evaluate`` as a subprocess.

``jobs/current.json`` is the lock (created with O_EXCL, so a second request is refused); the
job's progress file and log are polled by the Train page. Whoever sees a job's process gone
finalises it (evaluates a new run, records the outcome in ``jobs/last.json``). Run folders are
written atomically by the job, so cancelling never leaves half a run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from musig.data import load_dataset
from musig.utils import atomic_write_json
from musig.workspace.core import REPO, RUN_NAME, Workspace


class JobBusy(RuntimeError):
    """Another job is running: one job at a time."""


@dataclass(frozen=True)
class Job:
    kind: str  # "train" or "evaluate"
    name: str  # run name (train) or "results"
    pid: int
    started: float
    steps: int | None  # training steps (None: the method reports no steps)
    out: str
    progress_file: str
    log_file: str


_PROCS: dict[int, subprocess.Popen] = {}  # children of this process, to reap and read rc


def train_command(ws: Workspace, name: str, method: str, overrides: dict, seed: int) -> list[str]:
    cmd = [sys.executable, "-m", "musig", "-q", "train", "--data", str(ws.split_dir)]
    cmd += ["--method", method, "--out", str(ws.runs_dir / name), "--seed", str(seed)]
    cmd += ["--progress-file", str(ws.jobs_dir / f"{name}.jsonl")]
    for key, value in _flatten(overrides):
        cmd += ["--set", f"{key}={json.dumps(value)}"]
    return cmd


def _flatten(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def check_run_name(name: str) -> None:
    """A run name is one folder name under the runs folder: never a path (``../x``, ``/etc``)."""
    if not RUN_NAME.fullmatch(name):
        raise ValueError(f"run name {name!r}: use letters, digits, '_', '-', '.' (max 48)")


def start_train(ws: Workspace, name: str, method: str, overrides: dict, seed: int = 0) -> Job:
    """Validate a training request and start it as a subprocess; JobBusy if one is running."""
    from musig.methods import resolve_config

    check_run_name(name)
    if (ws.runs_dir / name).exists():
        raise ValueError(f"a run named {name!r} exists already; pick another name")
    cfg = resolve_config(method, overrides)  # raises ValueError on a bad setting
    cmd = train_command(ws, name, method, overrides, seed)
    return _start(ws, "train", name, cmd, getattr(cfg, "steps", None), ws.runs_dir / name)


def start_evaluate(ws: Workspace) -> Job:
    """Run ``python -m musig evaluate`` on the split into the workspace's results folder."""
    cmd = [sys.executable, "-m", "musig", "-q", "evaluate", "--data", str(ws.split_dir)]
    cmd += ["--out", str(ws.results_dir)]
    return _start(ws, "evaluate", "results", cmd, None, ws.results_dir)


def _start(ws: Workspace, kind: str, name: str, cmd: list[str], steps, out: Path) -> Job:
    ws.jobs_dir.mkdir(parents=True, exist_ok=True)
    lock = ws.jobs_dir / "current.json"
    current_job(ws)  # finalises a finished job so its lock does not block this one
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        job = read_job(ws)
        what = f"{job.kind} of {job.name!r}" if job else "another job"
        raise JobBusy(f"{what} is running; one job at a time — wait or cancel it") from None
    progress = ws.jobs_dir / f"{name}.jsonl"
    log = ws.jobs_dir / f"{name}.log"
    try:
        progress.unlink(missing_ok=True)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        with open(log, "wb") as log_fh:
            proc = subprocess.Popen(
                cmd,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
                env=env,
                start_new_session=True,
            )
        _PROCS[proc.pid] = proc
        job = Job(kind, name, proc.pid, time.time(), steps, str(out), str(progress), str(log))
        os.write(fd, json.dumps(asdict(job)).encode())
    except BaseException:
        os.close(fd)
        lock.unlink(missing_ok=True)
        raise
    os.close(fd)
    return job


def read_job(ws: Workspace) -> Job | None:
    try:
        return Job(**json.loads((ws.jobs_dir / "current.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None  # no job, or its lock is being written this instant


def _alive(pid: int) -> bool:
    proc = _PROCS.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_job(ws: Workspace) -> Job | None:
    """The running job, or None; a job that has ended is finalised here (by whoever looks)."""
    job = read_job(ws)
    if job is None or _alive(job.pid):
        return job
    _finalise(ws, job)
    return None


def cancel_job(ws: Workspace) -> None:
    """Stop the running job; its run folder is written atomically, so nothing is left half-done."""
    job = read_job(ws)
    if job is None:
        return
    (ws.jobs_dir / f"cancel-{job.pid}").touch()
    try:
        os.killpg(job.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    proc = _PROCS.get(job.pid)
    if proc is not None:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            proc.wait()
    current_job(ws)


def _finalise(ws: Workspace, job: Job) -> None:
    claim = ws.jobs_dir / f"finishing-{job.pid}.json"
    try:
        os.replace(ws.jobs_dir / "current.json", claim)  # only one caller wins the rename
    except FileNotFoundError:
        return
    proc = _PROCS.pop(job.pid, None)
    rc = proc.returncode if proc is not None else None
    cancel = ws.jobs_dir / f"cancel-{job.pid}"
    out = Path(job.out)
    done = (out / "run.json").is_file() if job.kind == "train" else (out / "results.json").is_file()
    outcome = {"kind": job.kind, "name": job.name, "finished": time.time(), "returncode": rc}
    cancelled = cancel.exists()
    cancel.unlink(missing_ok=True)
    if done and rc in (0, None):  # also a job that finished just before a cancel
        outcome.update(state="done", message=f"{job.kind} of {job.name!r} finished")
        if job.kind == "train":
            from musig.evaluation import evaluate_run

            try:
                evaluate_run(out, load_dataset(ws.split_dir))
            except ValueError as e:
                outcome["message"] += f" (not evaluated: {e})"
    elif cancelled:
        outcome.update(state="cancelled", message=f"{job.kind} of {job.name!r} was cancelled")
    else:
        outcome.update(state="failed", message=log_tail(Path(job.log_file)))
    for tmp in ws.runs_dir.glob(f".{job.name}.*.tmp"):  # left by a killed atomic_dir
        shutil.rmtree(tmp, ignore_errors=True)
    out.with_name(f".{out.name}.lock").unlink(missing_ok=True)  # its writer is gone
    atomic_write_json(ws.jobs_dir / "last.json", outcome)
    claim.unlink(missing_ok=True)


def delete_run(ws: Workspace, name: str) -> None:
    """Delete a run the user trained; default runs are kept (they would come back), and so is
    the run the current job is writing."""
    check_run_name(name)
    if name in ws.defaults():
        raise ValueError(f"{name!r} is a default run of this workspace; it cannot be deleted")
    job = current_job(ws)
    if job is not None and job.name == name:
        raise ValueError(f"{name!r} is being trained right now; cancel the job first")
    path = ws.runs_dir / name
    if not (path / "run.json").is_file():
        raise ValueError(f"no run named {name!r}")
    trash = path.with_name(f".{name}.deleted-{os.getpid()}")
    os.replace(path, trash)  # one rename: other sessions never see half a run
    shutil.rmtree(trash, ignore_errors=True)


def log_tail(path: str | Path, lines: int = 8) -> str:
    """The last non-blank lines of a job's log."""
    path = Path(path)
    text = path.read_text(errors="replace") if path.is_file() else ""
    tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return "\n".join(tail) or "the job exited without output"


def last_outcome(ws: Workspace) -> dict | None:
    file = ws.jobs_dir / "last.json"
    return json.loads(file.read_text()) if file.is_file() else None


def read_progress(path: str | Path) -> pd.DataFrame:
    """Training records written so far (a half-written last line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame()
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return pd.DataFrame(rows)

"""The bad-input corpus (``tests/corpus/corpus.py``) through every entry point that takes it.

Each entry must come out of each entry point as the corpus says: refused with one line that
contains the entry's fragment (an API's ValueError, the CLI's ``musig CMD: error: ...`` with
status 2 and no output file, the library scan's skip reason), or accepted, with a warning that
contains the fragment where one is expected. Any other exception is a traceback and fails; so
does an entry that takes longer than :data:`TIMEOUT` seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from musig.cli import main
from tests.corpus.corpus import ENTRIES, Entry

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 30  # seconds per entry, all its entry points together


@dataclass
class Outcome:
    """What an entry point made of an entry: its one-line error (None: accepted), warnings."""

    error: str | None
    warnings: list[str] = field(default_factory=list)
    stdout: str = ""


def api(fn: Callable[[], object]) -> Outcome:
    """Call a library function: ValueError is its way to refuse; anything else propagates."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
        except ValueError as e:
            return Outcome(str(e), [str(w.message) for w in caught])
    return Outcome(None, [str(w.message) for w in caught])


def cli(*args, out: Path | None = None) -> Outcome:
    """``python -m musig ARGS`` in-process: status 0 or 2, stderr only one-line errors and
    warnings, and a refused command leaves no ``out`` behind."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["-q", *map(str, args)])
    lines = [ln for ln in stderr.getvalue().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(f"musig {args[0]}: error: ")]
    warned = [ln for ln in lines if ln.startswith(f"musig {args[0]}: warning: ")]
    assert len(errors) + len(warned) == len(lines), f"stray stderr output: {lines}"
    assert (rc, len(errors)) in ((0, 0), (2, 1)), (rc, lines)
    if rc:
        assert out is None or not out.exists(), f"{out} written by a refused command"
    return Outcome(errors[0] if rc else None, warned, stdout.getvalue())


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail an entry that hangs (SIGALRM: tests run in the main thread)."""

    def expire(signum, frame):
        raise TimeoutError(f"entry took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- entry points, by the kind of entry they take ----------------------------------------------


@dataclass(frozen=True)
class Ctx:
    tmp: Path
    audio_run: Path  # a run that embeds audio (the app world's content run)
    workspace: object


def _audio_points(ctx: Ctx, path: Path, readable: bool) -> dict[str, Callable[[], Outcome]]:
    from musig.library import ScanConfig, scan_library
    from musig.runs import load_run
    from musig.workspace.views import upload_features

    shown = os.fsencode(path.name).decode("utf-8", "backslashreplace")  # as a library shows it

    def scanned() -> Outcome:
        res = scan_library(path.parent, ctx.tmp / "lib", ScanConfig(progress=False))
        row = res.files.set_index("path").loc[shown]
        warned = [row["warning"]] if row["warning"] else []
        return Outcome(None if row["status"] == "ok" else row["reason"], warned)

    def library_add() -> Outcome:
        outcome = cli("library", "add", path.parent, "--library", ctx.tmp / "lib-cli")
        assert outcome.error is None  # a bad file is listed and skipped, never ends the scan
        section, found = "", {"skipped": [], "warnings": []}
        for line in outcome.stdout.splitlines():
            if line.endswith(":") and not line.startswith(" "):
                section = line[:-1]
            elif section in found and line.strip().startswith(f"{shown}: "):
                found[section].append(line.strip())
        return Outcome(found["skipped"][0] if found["skipped"] else None, found["warnings"])

    points = {
        "embed_audio": lambda: api(lambda: load_run(ctx.audio_run).embed_audio(path)),
        "cli embed": lambda: cli("embed", "--run", ctx.audio_run, path),
    }
    if path.is_file() or not path.exists():  # folders are walked into, not scanned as files
        points["library scan"] = scanned
        points["cli library add"] = library_add
    if path.is_file() and readable:  # an upload is bytes the browser read
        points["app upload"] = lambda: api(lambda: upload_features(path.read_bytes(), path.name))
    return points


def _dataset_points(ctx: Ctx, root: Path, kind: str) -> dict[str, Callable[[], Outcome]]:
    from musig.data import load_dataset
    from musig.features import load_features
    from musig.mpd import read_challenge
    from musig.workspace import Workspace

    if kind == "features":  # read when content features are needed, not when a dataset opens
        return {
            "load_features": lambda: api(lambda: load_features(load_dataset(root))),
            "cli features": lambda: cli("features", "--data", root),
        }
    points = {
        "load_dataset": lambda: api(lambda: load_dataset(root)),
        "cli split": lambda: cli(
            "split", "--data", root, "--out", ctx.tmp / "split", "--test", 2, out=ctx.tmp / "split"
        ),
        "cli features": lambda: cli("features", "--data", root),
        "app dataset setting": lambda: api(lambda: Workspace.open(root, ctx.tmp / "home")),
    }
    if kind == "challenge":
        points["read_challenge"] = lambda: api(lambda: read_challenge(root / "challenge_set.json"))
    return points


def _run_points(ctx: Ctx, run: Path) -> dict[str, Callable[[], Outcome]]:
    from musig.data import load_dataset
    from musig.runs import load_run

    data = run.parent / "data"
    first = "corpus:track:01"
    return {
        "load_run": lambda: api(lambda: load_run(run, load_dataset(data)).recommend([first], 3)),
        "cli export": lambda: cli(
            "export", "--run", run, "--out", ctx.tmp / "x.parquet", out=ctx.tmp / "x.parquet"
        ),
        "cli recommend": lambda: cli(
            "recommend",
            "--run",
            run,
            "--data",
            data,
            "--out",
            ctx.tmp / "s.csv",
            "-k",
            3,
            out=ctx.tmp / "s.csv",
        ),  # fmt: skip
    }


def _run_name_points(ctx: Ctx, name: str) -> dict[str, Callable[[], Outcome]]:
    from musig.workspace import jobs

    return {
        "app train": lambda: api(lambda: jobs.start_train(ctx.workspace, name, "popularity", {})),
        "app delete run": lambda: api(lambda: jobs.delete_run(ctx.workspace, name)),
    }


def entry_points(entry: Entry, ctx: Ctx, made) -> dict[str, Callable[[], Outcome]]:
    if entry.kind == "audio":
        return _audio_points(ctx, made, not entry.unreadable)
    if entry.kind == "run":
        return _run_points(ctx, made)
    if entry.kind == "run_name":
        return _run_name_points(ctx, made)
    return _dataset_points(ctx, made, entry.kind)


def verdict(entry: Entry, point: str, got: Outcome) -> str | None:
    """Why ``got`` is wrong for ``entry`` (None: as the corpus says)."""
    fragment, accepted = entry.expect.lower(), entry.accepted
    if point in entry.exceptions:
        accepted = entry.exceptions[point] == "accepted"
        fragment = "" if accepted else entry.exceptions[point].lower()
    if not accepted:
        if got.error is None:
            return "accepted, should be refused"
        if "\n" in got.error.strip():
            return f"error is not one line: {got.error!r}"
        if fragment not in got.error.lower():
            return f"error {got.error!r} lacks {entry.expect!r}"
        return None
    if got.error is not None:
        return f"refused: {got.error}"
    if fragment and not any(fragment in w.lower() for w in got.warnings):
        return f"no warning with {entry.expect!r} (warnings: {got.warnings})"
    return None


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> Ctx:
    from musig import workspace as wsp
    from tests.test_app import build_app_world

    data, home = build_app_world(tmp_path_factory.getbasetemp() / "app-world")
    ws = wsp.Workspace.open(data, home)
    return Ctx(tmp_path_factory.mktemp("corpus-out"), ws.runs_dir / "content", ws)


@pytest.fixture
def unreadable(monkeypatch):
    """Make reading one path raise PermissionError, as chmod 000 would for a user (tests run as
    root, whom permissions do not stop)."""
    import builtins

    import musig.audio

    def deny(path: Path) -> None:
        real = builtins.open

        def guarded(file, *args, **kwargs):
            if Path(os.fsdecode(file)) == path:
                raise PermissionError(13, "Permission denied", str(path))
            return real(file, *args, **kwargs)

        monkeypatch.setattr(musig.audio, "open", guarded, raising=False)

    return deny


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_entry(entry, ctx, tmp_path, unreadable):
    made = entry.make(tmp_path)
    if entry.unreadable:
        unreadable(made)
    wrong = {}
    with deadline(TIMEOUT):
        for point, call in entry_points(entry, ctx, made).items():
            why = verdict(entry, point, call())
            if why:
                wrong[point] = why
            shutil.rmtree(ctx.tmp)  # outputs and libraries: each entry point starts clean
            ctx.tmp.mkdir()
    assert not wrong, wrong


def corpus_count(ctx: Ctx, tmp: Path) -> tuple[int, int]:
    """(entries, entry-point runs) of the whole corpus."""
    runs = 0
    for i, e in enumerate(ENTRIES):
        folder = tmp / str(i)
        folder.mkdir()
        runs += len(entry_points(e, ctx, e.make(folder)))
    return len(ENTRIES), runs


def test_corpus_size(ctx, tmp_path, capsys):
    """The README's count: entries × entry points tried, every one with a clear answer."""
    entries, runs = corpus_count(ctx, tmp_path)
    assert entries >= 60 and runs >= 200
    with capsys.disabled():
        print(f"\ncorpus: {entries} entries, {runs} entry-point runs")


@pytest.mark.parametrize("name", ["text.wav", "ten-hours.wav"])
def test_no_traceback_reaches_the_terminal(name, ctx, tmp_path):
    """The real command in a subprocess: one line on stderr, never a traceback."""
    entry = next(e for e in ENTRIES if e.name == name)
    path = entry.make(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "musig", "-q", "embed", "--run", str(ctx.audio_run), str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert entry.expect in lines[0]
    assert proc.returncode == (0 if entry.accepted else 2)


@pytest.mark.parametrize("name", ["nan-inf.wav", "square.wav", "8-bit.wav"])
def test_app_upload(name, ctx, tmp_path, monkeypatch):
    """The Upload page itself (AppTest): refused with the reason, warned, or shown plainly."""
    from streamlit.testing.v1 import AppTest

    entry = next(e for e in ENTRIES if e.name == name)
    monkeypatch.setenv("MUSIG_DATA", str(ctx.workspace.data))
    monkeypatch.setenv("MUSIG_HOME", str(ctx.workspace.root.parent))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("pages/upload.py").run()
    at.file_uploader[0].set_value((name, entry.make(tmp_path).read_bytes(), "audio/wav")).run()
    assert not at.exception, at.exception
    errors, warned = [e.value for e in at.error], [w.value for w in at.warning]
    if entry.accepted:
        assert not errors and all(entry.expect in w or "sounds like nothing" in w for w in warned)
        assert not entry.expect or any(entry.expect in w for w in warned)
    else:
        assert len(errors) == 1 and entry.expect in errors[0] and name in errors[0]

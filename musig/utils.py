"""Small shared helpers: seeding, atomic file output and content fingerprints."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np

RandomState = int | np.random.Generator | None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def as_rng(random_state: RandomState) -> np.random.Generator:
    """Turn a seed, a generator or None into a ``np.random.Generator``.

    Every random step in musig goes through here so that nothing reads global RNG state.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


_FAULT_ENV = "MUSIG_FAULT_KILL_AT_WRITE"
_write_steps = 0


def write_step() -> None:
    """A point between two steps of an atomic write. Test-only fault hook: with env
    ``MUSIG_FAULT_KILL_AT_WRITE=N`` the process SIGKILLs itself at the N-th such point, as a
    power cut or the OOM killer would; unset, this is one dictionary lookup."""
    at = os.environ.get(_FAULT_ENV)
    if at is None:
        return
    global _write_steps
    _write_steps += 1
    if _write_steps == int(at):
        os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _temp_prefix(path: Path) -> str:
    """``.NAME.p<pid>_``: temporaries say whose they are, so a dead writer's can be removed."""
    return f".{path.name}.p{os.getpid()}_"


def remove_stale(path: Path) -> list[Path]:
    """Remove what killed writers of ``path`` left beside it (their temporaries and a folder
    they were swapping out, which is put back if ``path`` itself is missing).

    Returns:
        the paths removed or restored.
    """
    found = []
    if not path.parent.is_dir():
        return found
    for p in path.parent.glob(f".{glob.escape(path.name)}.*"):
        m = re.fullmatch(rf"\.{re.escape(path.name)}\.(?:p(\d+)_\w+\.tmp|old-(\d+))", p.name)
        if m is None or _alive(int(m[1] or m[2])):
            continue
        if m[2] and not path.exists():
            os.replace(p, path)  # killed between the two renames of a swap: the old one is good
        elif p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        found.append(p)
        found += remove_stale(p)  # writes nested in the dead one's temporary folder
    return found


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one; what a
    killed writer left is removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        write_step()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: object) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_dir(final_path: str | Path) -> Iterator[Path]:
    """Build a folder in a temporary sibling and move it into place only if the block succeeds.

    An existing folder at ``final_path`` is replaced; on error nothing half-written is left behind,
    and a kill at any point leaves the old folder or the new one (on Linux the two are exchanged
    in one ``renameat2``). What a killed writer left is removed first. Two processes writing the
    same folder both succeed, the last one whole; a command that must not lose to another holds
    :func:`writing` around its whole work.
    """
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final_path)
    tmp = Path(
        tempfile.mkdtemp(dir=final_path.parent, prefix=_temp_prefix(final_path), suffix=".tmp")
    )
    try:
        yield tmp
        write_step()
        if not final_path.exists():
            os.replace(tmp, final_path)
        elif _exchange(tmp, final_path):
            write_step()
            shutil.rmtree(tmp, ignore_errors=True)  # now the old folder
        else:
            # Rename first so the swap is two renames, never a half-deleted folder; a kill
            # between them is undone by remove_stale.
            old = final_path.with_name(f".{final_path.name}.old-{os.getpid()}")
            os.replace(final_path, old)
            write_step()
            os.replace(tmp, final_path)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system has no such call."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL):  # old kernel, or a file system without it
        return False
    raise OSError(err, os.strerror(err), str(b))


_held: dict[Path, tuple[int, int, object]] = {}  # path -> (thread id, depth, open lock file)
_held_lock = threading.Lock()


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Hold the write lock of ``path`` (``flock`` on ``.NAME.lock`` beside it, released by the
    kernel when a writer dies, so a killed process never blocks the next one).

    Re-entrant within one thread; another process or thread writing ``path`` meanwhile gets a
    ValueError saying so, instead of both writing and one silently losing.
    """
    path = Path(path).absolute()
    with _held_lock:
        owner = _held.get(path)
        if owner is not None and owner[0] != threading.get_ident():
            raise ValueError(f"{path}: being written by another task of this process; try later")
        if owner is not None:
            _held[path] = (owner[0], owner[1] + 1, owner[2])
    if owner is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path.with_name(f".{path.name}.lock"), "a+")  # noqa: SIM115  (held until done)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ValueError(
                f"{path}: being written by another musig process; wait for it to finish or "
                "write somewhere else"
            ) from None
        with _held_lock:
            _held[path] = (threading.get_ident(), 1, fh)
    try:
        yield
    finally:
        with _held_lock:
            tid, depth, fh = _held[path]
            if depth > 1:
                _held[path] = (tid, depth - 1, fh)
            else:
                del _held[path]
                # Unlinked before the release: a process that opened it meanwhile finds it
                # locked and backs off; the next one makes a fresh lock file.
                Path(fh.name).unlink(missing_ok=True)
                fh.close()  # releases the flock


@contextlib.contextmanager
def spawn_without_main() -> Iterator[None]:
    """Start spawned worker processes without re-running the caller's ``__main__``.

    A spawned worker first imports the parent's main module; when that is a script — an app
    page run by Streamlit, a notebook — it would run again in every worker. Workers that only
    call library functions need none of it, so ``__main__`` is hidden while they start.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def fingerprint(*parts: object) -> str:
    """16-hex-digit SHA-256 over arrays (by dtype, shape and bytes) and strings."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        elif isinstance(part, bytes):
            h.update(part)
        else:
            h.update(str(part).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]

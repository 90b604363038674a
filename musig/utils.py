"""Small shared helpers: seeding, atomic file output and content fingerprints."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
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


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
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

    An existing folder at ``final_path`` is replaced; on error nothing half-written is left behind.
    """
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(
        tempfile.mkdtemp(dir=final_path.parent, prefix=f".{final_path.name}.", suffix=".tmp")
    )
    try:
        yield tmp
        if final_path.exists():
            # Rename first so the swap is two renames, never a half-deleted folder.
            old = final_path.with_name(f".{final_path.name}.old-{os.getpid()}")
            os.replace(final_path, old)
            os.replace(tmp, final_path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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

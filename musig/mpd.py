"""Reading Million Playlist Dataset files: playlist slices, challenge sets and their truth.

Readers raise ``ValueError`` naming the file (and playlist index, pid or pos) of malformed input.
:func:`musig.data.load_dataset` builds one dataset folder's track index from what they return.
"""

from __future__ import annotations

import gzip as gzip_lib
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

_SLICE_RE = re.compile(r"^mpd\.slice\.(\d+)-(\d+)\.json(?:\.gz)?$")


@dataclass(frozen=True)
class ChallengePlaylist:
    """One playlist of an MPD-style challenge set: its seed tracks and how many are held out.

    Seed URIs are kept even when they are not in the dataset's track index; methods ignore such
    seeds (a playlist with no known seed falls back to popularity in retrieval).
    """

    pid: int
    name: str | None
    num_holdouts: int
    num_samples: int
    num_tracks: int
    seed_uris: list[str]


def slice_files(folder: Path) -> list[Path]:
    """Slice files sorted by their numeric range; other ``mpd.slice.*`` names go last by name."""
    if not folder.is_dir():
        return []
    files = [*folder.glob("mpd.slice.*.json"), *folder.glob("mpd.slice.*.json.gz")]

    def key(p: Path) -> tuple:
        m = _SLICE_RE.match(p.name)
        return (0, int(m[1]), int(m[2]), p.name) if m else (1, 0, 0, p.name)

    return sorted((p for p in files if p.is_file()), key=key)


SLICE_FOLDERS = ("playlists", "data")  # musig's layout, and the MPD download's


def dataset_slice_files(root: Path) -> list[Path]:
    """A dataset folder's playlist slices: under ``playlists/`` or, as the MPD is downloaded,
    ``data/``; slices in both is an error (which would be the dataset?)."""
    found = {name: slice_files(root / name) for name in SLICE_FOLDERS}
    if all(found.values()):
        raise ValueError(
            f"{root}: playlist slices in both playlists/ and data/; keep one of the two folders"
        )
    return found["playlists"] or found["data"]


def read_json(path: Path) -> object:
    """Parse a ``.json`` or ``.json.gz`` file; a read or parse failure is a ValueError naming it."""
    try:
        opener = gzip_lib.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            return json.load(f)
    except (ValueError, EOFError, OSError, zlib.error) as e:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: malformed JSON or unreadable file ({e})") from e


def check_playlist(pl: object, path: Path, i: int) -> tuple[int, list]:
    """Playlist ``#i`` of ``path`` checked for an integer pid and a list of track entries.

    Returns:
        (pid, entries): the entries unchecked, as in the file.
    """
    if not isinstance(pl, dict):
        raise ValueError(f"{path}: playlist #{i} is not an object")
    pid = pl.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise ValueError(f"{path}: playlist #{i}: missing or non-integer 'pid' ({pid!r})")
    entries = pl.get("tracks")
    if not isinstance(entries, list):
        raise ValueError(f"{path}: playlist #{i} (pid {pid}): missing 'tracks' list")
    return pid, entries


def as_text(value: object) -> str:
    """A JSON/CSV field as text: strings unchanged, None as "", anything else via str()."""
    return value if isinstance(value, str) else ("" if value is None else str(value))


def int_or_none(value: object) -> int | None:
    """An integer count from JSON: ints and whole floats as int, anything else (bools too) None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def read_challenge(path: str | Path) -> list[ChallengePlaylist]:
    """Read an MPD-format challenge set file (e.g. the official ``challenge_set.json``).

    Raises:
        ValueError: the file is missing or malformed (naming the file, pid and pos).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: challenge set file not found")
    return read_dataset_challenge(path, {})


def read_dataset_challenge(
    path: Path, train_pids: dict[int, Path]
) -> list[ChallengePlaylist] | None:
    """A dataset folder's ``challenge_set.json``, or None when the folder has none.

    Args:
        path: the challenge set file.
        train_pids: pid -> slice file of the folder's playlists; a challenge pid among them is an
            error.
    """
    if not path.exists():
        return None
    data = read_json(path)
    playlists = data.get("playlists") if isinstance(data, dict) else None
    if not isinstance(playlists, list):
        raise ValueError(f"{path}: expected an object with a 'playlists' list")
    out: list[ChallengePlaylist] = []
    seen: set[int] = set()
    for i, pl in enumerate(playlists):
        pid, entries = check_playlist(pl, path, i)
        if pid in seen:
            raise ValueError(f"{path}: duplicate challenge pid {pid}")
        if pid in train_pids:
            # Its held-out tracks would be in the training graph.
            raise ValueError(f"{path}: challenge pid {pid} is also a playlist in {train_pids[pid]}")
        seen.add(pid)
        seeds = []
        for j, t in enumerate(entries):
            uri = t.get("track_uri") if isinstance(t, dict) else None
            if not isinstance(uri, str) or not uri:
                pos = t.get("pos", j) if isinstance(t, dict) else j
                raise ValueError(f"{path}: pid {pid}, pos {pos}: seed track has no track_uri")
            seeds.append(uri)
        counts = {k: int_or_none(pl.get(k)) for k in ("num_samples", "num_holdouts", "num_tracks")}
        n_samples = len(seeds) if counts["num_samples"] is None else counts["num_samples"]
        if n_samples != len(seeds):
            raise ValueError(f"{path}: pid {pid}: num_samples {n_samples} but {len(seeds)} tracks")
        n_hold, n_total = counts["num_holdouts"], counts["num_tracks"]
        if n_hold is None and n_total is None:
            raise ValueError(f"{path}: pid {pid}: needs num_holdouts or num_tracks")
        n_hold = n_total - n_samples if n_hold is None else n_hold
        n_total = n_samples + n_hold if n_total is None else n_total
        name = pl.get("name")
        out.append(
            ChallengePlaylist(
                pid, None if name is None else as_text(name), n_hold, n_samples, n_total, seeds
            )
        )
    return out


def read_dataset_truth(
    path: Path, challenge: list[ChallengePlaylist] | None
) -> dict[int, list[str]] | None:
    """A dataset folder's ``challenge_truth.json`` (pid -> held-out URIs), or None when absent.

    Args:
        path: the truth file.
        challenge: the folder's challenge playlists; when given, every truth pid must be one.
    """
    if not path.exists():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object {{pid: [track_uri, ...]}}")
    known = None if challenge is None else {c.pid for c in challenge}
    truth: dict[int, list[str]] = {}
    for key, uris in data.items():
        try:
            pid = int(key)
        except ValueError:
            raise ValueError(f"{path}: key {key!r} is not an integer pid") from None
        if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
            raise ValueError(f"{path}: pid {pid}: expected a list of track URIs")
        if known is not None and pid not in known:
            raise ValueError(f"{path}: pid {pid} is not in challenge_set.json")
        truth[pid] = uris
    return truth

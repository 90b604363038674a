"""Reading Million Playlist Dataset files: playlist slices, challenge sets and their truth.

Readers raise ``ValueError`` naming the file (and playlist index, pid or pos) of malformed input.
:func:`musig.data.load_dataset` builds one dataset folder's track index from what they return.
"""

from __future__ import annotations

import gzip as gzip_lib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

_SLICE_RE = re.compile(r"^mpd\.slice\.(\d+)-(\d+)\.(?:json(?:\.gz)?|parquet)$")


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
    """Slice files sorted by their numeric range; other ``mpd.slice.*`` names go last by name.

    A slice is ``mpd.slice.*.json``, ``.json.gz`` or ``.parquet`` (the same playlist records, one
    row per playlist: ``pid``, ``name``, ``tracks`` a list of structs with at least
    ``track_uri`` — what Spark writes from the JSON slices' ``playlists``).
    """
    if not folder.is_dir():
        return []
    patterns = ("mpd.slice.*.json", "mpd.slice.*.json.gz", "mpd.slice.*.parquet")
    files = [p for pattern in patterns for p in folder.glob(pattern)]

    def key(p: Path) -> tuple:
        m = _SLICE_RE.match(p.name)
        return (0, int(m[1]), int(m[2]), p.name) if m else (1, 0, 0, p.name)

    return sorted((p for p in files if p.is_file()), key=key)


def read_json(path: Path) -> object:
    """Parse a ``.json`` or ``.json.gz`` file; a read or parse failure is a ValueError naming it.

    orjson: the MPD's 1,000 slices are 33 GB of JSON, and parsing is most of loading them.
    """
    try:
        opener = gzip_lib.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            return orjson.loads(f.read().removeprefix(b"\xef\xbb\xbf"))  # a BOM is harmless
    except (ValueError, EOFError, OSError, zlib.error) as e:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: malformed JSON or unreadable file ({e})") from e


@dataclass(frozen=True)
class SliceContents:
    """One slice file reduced to arrays: its playlists over the slice's own track numbering.

    Attributes:
        pids: int64 (P,); lengths: int64 (P,) entries per playlist; names: (P,) playlist names.
        uris: the slice's distinct track URIs in first-seen order (local id = position).
        entries: int32 (nnz,) local track ids, playlist after playlist, in list order.
        track_names / artist_names / durations: from each distinct track's first entry.
    """

    pids: np.ndarray
    lengths: np.ndarray
    names: list[str]
    uris: list[str]
    entries: np.ndarray
    track_names: list[str]
    artist_names: list[str]
    durations: list[int | None]


def read_parquet_slice(path: Path) -> dict:
    """A Parquet slice as the JSON slice's object: ``{"playlists": [record, ...]}``."""
    import pyarrow.parquet as pq

    try:
        return {"playlists": pq.read_table(path).to_pylist()}
    except (OSError, ValueError) as e:  # ArrowInvalid is a ValueError
        raise ValueError(f"{path}: unreadable Parquet slice ({e})") from e


def parse_slice(path: Path) -> SliceContents:
    """Read and check one ``mpd.slice.*.json[.gz]`` or ``.parquet`` file (run in worker
    processes).

    Raises:
        ValueError: naming the file and playlist index, pid or pos of malformed input.
    """
    data = read_parquet_slice(path) if path.suffix == ".parquet" else read_json(path)
    playlists = data.get("playlists") if isinstance(data, dict) else None
    if not isinstance(playlists, list):
        raise ValueError(f"{path}: expected an object with a 'playlists' list")
    local: dict[str, int] = {}
    tnames, anames, durations, entries, pids, lengths, names = [], [], [], [], [], [], []
    for i, pl in enumerate(playlists):
        pid, tracks = check_playlist(pl, path, i)
        declared = int_or_none(pl.get("num_tracks"))
        if "num_tracks" in pl and declared != len(tracks):  # an edited or cut-short playlist
            raise ValueError(
                f"{path}: pid {pid}: num_tracks {pl['num_tracks']!r} but {len(tracks)} track "
                "entries"
            )
        for j, t in enumerate(tracks):
            # Inlined checks, the common case first: this loop runs 66M times for the MPD.
            uri = t.get("track_uri") if type(t) is dict else None
            if type(uri) is not str or not uri:
                uri = track_uri(t, path, pid, j, "track entry")  # a subclass, or raises
            k = local.get(uri)
            if k is None:
                k = local[uri] = len(local)
                tnames.append(as_text(t.get("track_name")))
                anames.append(as_text(t.get("artist_name")))
                durations.append(int_or_none(t.get("duration_ms")))
            entries.append(k)
        pids.append(pid)
        lengths.append(len(tracks))
        names.append(as_text(pl.get("name")))
    return SliceContents(
        np.array(pids, np.int64),
        np.array(lengths, np.int64),
        names,
        list(local),
        np.array(entries, np.int32),
        tnames,
        anames,
        durations,
    )


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


def track_uri(t: object, path: Path, pid: int, j: int, what: str) -> str:
    """The ``track_uri`` of entry ``j`` of playlist ``pid``; ValueError naming pos if missing."""
    uri = t.get("track_uri") if isinstance(t, dict) else None
    if isinstance(uri, str) and uri:
        return uri
    pos = t.get("pos", j) if isinstance(t, dict) else j
    if uri is None or uri == "":
        raise ValueError(f"{path}: pid {pid}, pos {pos}: {what} has no track_uri")
    raise ValueError(f"{path}: pid {pid}, pos {pos}: track_uri {uri!r} is not a string")


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
        seeds, seen_at = [], {}
        for j, t in enumerate(entries):
            uri = track_uri(t, path, pid, j, "seed track")
            if uri in seen_at:  # its score would count twice, and a seed is never a candidate
                raise ValueError(
                    f"{path}: pid {pid}: seed {uri} appears twice (pos {seen_at[uri]} and {j})"
                )
            seen_at[uri] = j
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

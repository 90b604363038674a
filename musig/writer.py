"""Writing dataset folders: MPD-format playlist slices, the catalog, challenge files, extras.

:func:`write_dataset` is the inverse of :func:`musig.data.load_dataset`; the whole folder is
written to a temporary sibling and renamed into place, so a failed write leaves nothing behind.
Output is byte-identical for identical input.
"""

from __future__ import annotations

import functools
import gzip as gzip_lib
import hashlib
import io
import itertools
import json
import os
import re
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from musig.data import TRACK_COLUMNS
from musig.mpd import ChallengePlaylist, as_text
from musig.utils import atomic_dir

_STAMP = "1970-01-01 00:00:00.000000"
_MODIFIED_AT = 0


def _is_blank(v: object) -> bool:
    return v is None or v is pd.NA or v == "" or (isinstance(v, float) and v != v)


# What write_dataset itself writes; extra files may not take these names.
_DATASET_FILES = ("tracks.csv", "playlists", "challenge_set.json", "challenge_truth.json")
_ENTRY_KEYS = ("track_uri", "track_name", "artist_name", "artist_uri", "album_uri", "album_name")


@functools.lru_cache(maxsize=1 << 16)
def _slug(name: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-")[:40] or "unknown"
    # The hash keeps names that slug alike ("AC/DC", "AC DC") apart.
    return f"{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


class _TrackInfo:
    """Column lists of a tracks frame, to build MPD track entries without per-row pandas calls."""

    def __init__(self, tracks: pd.DataFrame, idx: np.ndarray | None = None) -> None:
        rows = tracks if idx is None else tracks.iloc[idx]
        blank = [""] * len(rows)
        self.cols = {
            k: ["" if pd.isna(v) else str(v) for v in rows[k].tolist()] if k in rows else blank
            for k in _ENTRY_KEYS
        }
        dur = rows["duration_ms"].tolist() if "duration_ms" in rows else [None] * len(rows)
        self.cols["duration_ms"] = [None if pd.isna(d) else int(d) for d in dur]
        self.memo: dict[int, tuple[dict, str]] = {}

    def entry(self, i: int | None, pos: int, given: dict | None = None) -> dict:
        """Entry for row ``i`` (None: not in the frame); non-blank keys of ``given`` win."""
        e = {k: (None if i is None else v[i]) for k, v in self.cols.items()}
        if given:
            e.update((k, v) for k, v in given.items() if k in e and not _is_blank(v))
        artist = as_text(e["artist_name"])
        return {
            "pos": pos,
            "track_uri": as_text(e["track_uri"]),
            "track_name": as_text(e["track_name"]),
            "artist_name": artist,
            "artist_uri": as_text(e["artist_uri"]) or f"synth:artist:{_slug(artist)}",
            "album_uri": as_text(e["album_uri"]) or f"synth:album:{_slug(artist)}",
            "album_name": as_text(e["album_name"]) or artist,
            "duration_ms": None if e["duration_ms"] is None else int(e["duration_ms"]),
        }

    def row_entry(self, i: int) -> tuple[dict, str]:
        """``entry(i, 0)`` and its JSON text after the leading ``{"pos": 0, ``, memoised: most
        playlist tracks are bare catalog URIs, and a playlist's JSON is then mostly these."""
        hit = self.memo.get(i)
        if hit is None:
            base = self.entry(i, 0)
            hit = self.memo[i] = (base, _dumps(base)[len('{"pos": 0, ') :])
        return hit


def track_dicts(tracks: pd.DataFrame, idx: np.ndarray | Sequence[int]) -> list[dict]:
    """MPD track entries for rows ``idx`` of ``tracks``, with ``pos`` 0..len(idx)-1.

    ``artist_uri``, ``album_uri`` and ``album_name`` come from columns of that name when present
    and non-empty; otherwise they are derived from ``artist_name`` ("synth:artist:<slug>",
    "synth:album:<slug>", album name = artist name). ``duration_ms`` is None when unknown.

    Args:
        tracks: a tracks frame (as ``Dataset.tracks``), at least column ``track_uri``.
        idx: int (K,) row positions.
    """
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    info = _TrackInfo(tracks, idx)
    return [info.entry(k, k) for k in range(len(idx))]


def write_dataset(
    root: str | Path,
    tracks: pd.DataFrame,
    playlists: Iterable[dict],
    *,
    slice_size: int = 1000,
    gzip: bool = True,
    challenge: list[ChallengePlaylist] | list[dict] | None = None,
    truth: dict[int, list[str]] | None = None,
    extra_files: dict[str, bytes] | None = None,
    compresslevel: int = 6,
) -> None:
    """Write a dataset folder that :func:`load_dataset` reads back; the folder at ``root`` is
    built aside and then replaces any existing one as a whole, so a failure leaves nothing behind.

    Output is byte-deterministic (fixed timestamps, gzip mtime 0). Rows of ``tracks`` whose
    ``in_catalog`` is False are not written to tracks.csv: they are recovered from the playlists
    on load, so ``load_dataset`` after ``write_dataset(ds.tracks, ...)`` rebuilds the same index
    when the same playlists are written in the same order. Playlists are consumed one slice at a
    time and each slice is written before the next is built, so memory holds a few slices
    whatever the number of playlists (an iterator of the MPD's million is fine).

    Args:
        root: the dataset folder to create or replace.
        tracks: catalog frame: track_uri plus optional track_name, artist_name, duration_ms, genre,
            audio and extra columns (written to tracks.csv as-is).
        playlists: MPD-style dicts with ``pid`` (int), optional ``name`` and ``tracks``: a list of
            dicts with ``track_uri`` (other fields default from ``tracks``) or plain URI strings.
        slice_size: playlists per ``mpd.slice.<a>-<b>.json`` file.
        gzip: write ``.json.gz`` slices instead of ``.json``.
        challenge: ChallengePlaylist objects or MPD challenge dicts -> challenge_set.json.
        truth: held-out URIs per challenge pid -> challenge_truth.json.
        extra_files: relative path -> bytes, written as-is (e.g. world.json, audio files).
        compresslevel: gzip level of the slices (1 is about twice as fast as 6, 30 % larger).
    """
    if slice_size < 1:
        raise ValueError(f"slice_size must be >= 1, got {slice_size}")
    for rel in extra_files or {}:
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts or not rel_path.parts:
            raise ValueError(f"extra_files: {rel!r} must be a relative path inside the folder")
        if rel_path.parts[0] in _DATASET_FILES:
            raise ValueError(f"extra_files: {rel!r} would overwrite a dataset file")
    catalog = _catalog_frame(tracks)
    info = _TrackInfo(catalog)
    row_of = {u: i for i, u in enumerate(info.cols["track_uri"])}

    with atomic_dir(root) as tmp:
        buf = io.StringIO()
        catalog.to_csv(buf, index=False, lineterminator="\n")
        (tmp / "tracks.csv").write_bytes(buf.getvalue().encode("utf-8"))
        pids = _write_slices(
            tmp / "playlists", playlists, info, row_of, slice_size, gzip, compresslevel
        )
        if challenge is not None:
            data = _challenge_json(challenge, info, row_of, pids)
            (tmp / "challenge_set.json").write_bytes(data)
        if truth is not None:
            obj = {str(int(p)): [str(u) for u in truth[p]] for p in sorted(truth, key=int)}
            text = json.dumps(obj, indent=2) + "\n"
            (tmp / "challenge_truth.json").write_bytes(text.encode("utf-8"))
        for rel, data in (extra_files or {}).items():
            path = tmp / Path(rel).as_posix()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes(data))


def _write_slices(
    folder: Path,
    playlists: Iterable[dict],
    info: _TrackInfo,
    row_of: dict[str, int],
    slice_size: int,
    gzip: bool,
    compresslevel: int,
) -> set[int]:
    """Write ``playlists`` as ``mpd.slice.<a>-<b>.json[.gz]`` files in ``folder``; returns the
    pids. Each slice's JSON is built here (Python, one core) while earlier slices are compressed
    and written by a thread pool (zlib releases the GIL); at most two slices per worker wait."""
    workers = os.cpu_count() or 1
    pids: set[int] = set()
    pending: deque[Future] = deque()
    it = iter(playlists)
    a = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while chunk := list(itertools.islice(it, slice_size)):
            body = [_playlist_json(pl, a + k, info, row_of) for k, pl in enumerate(chunk)]
            for fields, _ in body:
                if fields["pid"] in pids:
                    raise ValueError(f"duplicate pid {fields['pid']} in playlists")
                pids.add(fields["pid"])
            rng = f"{a}-{a + len(chunk) - 1}"
            info_text = _dumps({"generated_on": _STAMP, "slice": rng, "version": "v1"})
            text = _array_text([_fill(f, t) for f, t in body])
            data = f'{{"info": {info_text}, "playlists": {text}}}'.encode()
            path = folder / (f"mpd.slice.{rng}.json" + (".gz" if gzip else ""))
            folder.mkdir(exist_ok=True)
            pending.append(pool.submit(_write_slice, path, data, gzip, compresslevel))
            while len(pending) > 2 * workers or (pending and pending[0].done()):
                pending.popleft().result()  # re-raises a failed write here
            a += len(chunk)
        while pending:
            pending.popleft().result()
    return pids


def _write_slice(path: Path, data: bytes, gzip: bool, compresslevel: int) -> None:
    if gzip:
        data = gzip_lib.compress(data, compresslevel=compresslevel, mtime=0)
    path.write_bytes(data)


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _array_text(items: list[str]) -> str:
    """``json.dumps`` of a list, given its items' JSON texts."""
    return "[" + ", ".join(items) + "]"


# Stands for an array (a playlist's tracks, a document's playlists) in the JSON of an object's
# other fields; the array's own text is put in its place. The fields after it are numbers, so
# its last occurrence is the placeholder even when a name holds the same characters.
_HOLE = "\x00array\x00"


def _fill(fields: dict, array: str) -> str:
    """JSON text of ``fields`` with the JSON text ``array`` where ``fields`` holds ``_HOLE``."""
    head, _, tail = _dumps(fields).rpartition(_dumps(_HOLE))
    return head + array + tail


def _catalog_frame(tracks: pd.DataFrame) -> pd.DataFrame:
    if "track_uri" not in tracks.columns:
        raise ValueError("tracks: missing required column 'track_uri'")
    if "in_catalog" in tracks.columns:
        tracks = tracks[tracks["in_catalog"].to_numpy(dtype=bool)]
    out = pd.DataFrame(index=range(len(tracks)))
    for col in TRACK_COLUMNS:
        if col == "duration_ms":
            values = tracks[col].tolist() if col in tracks.columns else [None] * len(tracks)
            out[col] = pd.array([None if pd.isna(v) else int(v) for v in values], dtype="Int64")
        elif col in tracks.columns:
            out[col] = [("" if pd.isna(v) else str(v)) for v in tracks[col].tolist()]
        else:
            out[col] = ""
    for col in tracks.columns:
        if col not in TRACK_COLUMNS and col != "in_catalog":
            out[col] = tracks[col].to_numpy()
    uris = out["track_uri"]
    bad = np.flatnonzero((uris == "").to_numpy() | uris.duplicated().to_numpy())
    if len(bad):
        raise ValueError(f"tracks: data row {bad[0] + 1}: empty or duplicate track_uri")
    return out


def _playlist_json(pl: dict, i: int, info: _TrackInfo, row_of: dict[str, int]) -> tuple[dict, str]:
    """(fields, tracks): the playlist's MPD fields (``tracks`` holds ``_HOLE``) and the JSON
    text of its track entries; :func:`_fill` joins them into the playlist's JSON."""
    pid = pl.get("pid") if isinstance(pl, dict) else None
    if not isinstance(pid, int | np.integer) or isinstance(pid, bool):
        raise ValueError(f"playlists[{i}]: missing or non-integer 'pid' ({pid!r})")
    pid = int(pid)
    tracks = pl.get("tracks", [])
    if not isinstance(tracks, list):
        raise ValueError(f"playlists[{i}] (pid {pid}): 'tracks' must be a list")
    entries, texts = [], []
    for pos, t in enumerate(tracks):
        bare = isinstance(t, str)  # most entries: a catalog URI and nothing else
        uri = t if bare else (t.get("track_uri") if isinstance(t, dict) else None)
        if not isinstance(uri, str) or not uri:
            raise ValueError(f"playlists[{i}] (pid {pid}), pos {pos}: track has no track_uri")
        row = row_of.get(uri)
        if row is not None and (bare or t.keys() <= {"track_uri", "pos"}):
            entry, rest = info.row_entry(row)
            texts.append(f'{{"pos": {pos}, {rest}')
        else:
            entry = info.entry(row, pos, {"track_uri": uri} if bare else t)
            texts.append(_dumps(entry))
        entries.append(entry)
    out = {"name": as_text(pl.get("name"))}
    if pl.get("description") is not None:
        out["description"] = as_text(pl["description"])
    out.update(
        collaborative="true" if pl.get("collaborative") in (True, "true") else "false",
        pid=pid,
        modified_at=int(pl.get("modified_at", _MODIFIED_AT)),
        num_tracks=len(entries),
        num_albums=len({e["album_uri"] for e in entries}),
        num_followers=int(pl.get("num_followers", 1)),
        tracks=_HOLE,
        num_edits=int(pl.get("num_edits", 1)),
        duration_ms=sum(e["duration_ms"] or 0 for e in entries),
        num_artists=len({e["artist_uri"] for e in entries}),
    )
    return out, _array_text(texts)


def _challenge_json(
    challenge: list, info: _TrackInfo, row_of: dict[str, int], train_pids: set[int]
) -> bytes:
    out = []
    seen: set[int] = set()
    for i, c in enumerate(challenge):
        if isinstance(c, ChallengePlaylist):
            c = {
                "pid": c.pid,
                "name": c.name,
                "num_holdouts": c.num_holdouts,
                "num_samples": c.num_samples,
                "num_tracks": c.num_tracks,
                "tracks": list(c.seed_uris),
            }
        pl, tracks = _playlist_json(c, i, info, row_of)
        if pl["pid"] in seen or pl["pid"] in train_pids:
            raise ValueError(f"challenge[{i}]: pid {pl['pid']} is a duplicate or a playlist pid")
        seen.add(pl["pid"])
        entry = {"pid": pl["pid"]}
        if c.get("name") is not None:
            entry["name"] = pl["name"]
        n_samples = pl["num_tracks"]
        n_hold = c.get("num_holdouts")
        n_total = c.get("num_tracks")
        if n_hold is None and n_total is None:
            raise ValueError(f"challenge[{i}] (pid {pl['pid']}): needs num_holdouts or num_tracks")
        n_hold = int(n_total) - n_samples if n_hold is None else int(n_hold)
        entry.update(
            num_holdouts=n_hold,
            num_samples=n_samples,
            num_tracks=n_samples + n_hold if n_total is None else int(n_total),
            tracks=_HOLE,
        )
        out.append(_fill(entry, tracks))
    doc = {
        "date": _STAMP,
        "version": "v1",
        "name": "challenge_set",
        "description": "musig challenge set",
        "playlists": _HOLE,
    }
    return _fill(doc, _array_text(out)).encode()

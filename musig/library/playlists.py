"""Playlist files: read M3U/M3U8/PLS, match their entries to library files, write M3U8 and CSV.

Entries may be relative paths (to the playlist's folder), absolute paths, Windows paths with
backslashes or drive letters, ``file://`` URIs, or URIs of other things (``http://`` streams,
``spotify:track:...``) that are no local file. An entry is matched to a scanned file by its
resolved path, then case-insensitively, then by the longest unique tail of its path
(``Artist/Album/01 Song.mp3``), which is how a playlist made on another machine still finds
its files.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import pandas as pd

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # scheme of two or more letters (C: is a drive)
_DRIVE = re.compile(r"^[A-Za-z]:/")


@dataclass(frozen=True)
class PlaylistEntry:
    """One line of a playlist: where it points, and what ``#EXTINF``/``TitleN`` said."""

    location: str
    title: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class Playlist:
    """A playlist file read in order. ``entries`` keeps duplicates, as players do."""

    path: Path
    entries: tuple[PlaylistEntry, ...]


@dataclass(frozen=True)
class PlaylistMatch:
    """A playlist matched to library files.

    Attributes:
        path: the playlist file.
        files: per entry, the library file (path relative to the library root) or None.
        unmatched: ``(location, reason)`` for each entry without a file.
    """

    path: Path
    files: tuple[str | None, ...]
    unmatched: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict:
        return {"path": str(self.path), "files": list(self.files), "unmatched": self.unmatched}


def _decode(data: bytes) -> str:
    """M3U8/PLS are UTF-8; plain M3U is often Windows-1252 (Winamp), so fall back to that."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_playlist(path: str | Path) -> Playlist:
    """Read an M3U, M3U8 (with ``#EXTINF``) or PLS playlist.

    Raises:
        ValueError: naming the file, if it cannot be read or is not a playlist format.
    """
    path = Path(path)
    try:
        text = _decode(path.read_bytes())
    except OSError as e:
        raise ValueError(f"{path}: cannot read playlist ({e})") from e
    lines = [line.strip() for line in text.splitlines()]
    if path.suffix.lower() == ".pls" or (lines and lines[0].lower() == "[playlist]"):
        return Playlist(path, _parse_pls(lines))
    if path.suffix.lower() in (".m3u", ".m3u8"):
        return Playlist(path, _parse_m3u(lines))
    raise ValueError(f"{path}: not a playlist (expected .m3u, .m3u8 or .pls)")


def _parse_m3u(lines: list[str]) -> tuple[PlaylistEntry, ...]:
    entries, title, seconds = [], "", None
    for line in lines:
        if line.upper().startswith("#EXTINF:"):
            head, _, title = line[8:].partition(",")
            try:  # "#EXTINF:123 tvg-id=...,Artist - Title": the length is the first word
                seconds = float(head.split()[0])
            except (ValueError, IndexError):
                seconds = None
            seconds = seconds if seconds is not None and seconds >= 0 else None
        elif line and not line.startswith("#"):
            entries.append(PlaylistEntry(line, title.strip(), seconds))
            title, seconds = "", None
    return tuple(entries)


def _parse_pls(lines: list[str]) -> tuple[PlaylistEntry, ...]:
    fields: dict[int, dict[str, str]] = defaultdict(dict)
    for line in lines:
        m = re.match(r"^(file|title|length)(\d+)\s*=\s*(.*)$", line, re.IGNORECASE)
        if m:
            fields[int(m.group(2))][m.group(1).lower()] = m.group(3)
    entries = []
    for _, f in sorted(fields.items()):
        if not f.get("file"):
            continue
        try:
            seconds = float(f.get("length", ""))
        except ValueError:
            seconds = None
        seconds = seconds if seconds is not None and seconds >= 0 else None
        entries.append(PlaylistEntry(f["file"], f.get("title", ""), seconds))
    return tuple(entries)


def entry_path(location: str, base: Path) -> str | None:
    """Where an entry points as a POSIX path string, or None for a non-file URI.

    Backslashes become slashes, ``file://`` URIs are decoded, relative paths are joined to
    ``base`` (the playlist's folder) and normalised; Windows drive paths stay ``C:/...``.
    """
    loc = location.strip()
    if loc.lower().startswith("file:"):
        parsed = urlparse(loc)
        loc = unquote(parsed.path)
        if parsed.netloc and parsed.netloc.lower() != "localhost":  # file://server/share/x
            loc = f"//{parsed.netloc}{loc}"
        if re.match(r"^/[A-Za-z]:/", loc):  # file:///C:/Music/x.mp3
            loc = loc[1:]
    elif _URI.match(loc):
        return None
    loc = loc.replace("\\", "/")
    if _DRIVE.match(loc) or loc.startswith("/"):
        return loc
    return os.path.normpath(str(base / loc)).replace("\\", "/")


class _FileIndex:
    """Library files (paths relative to ``root``) looked up by absolute path or by path tail."""

    def __init__(self, root: Path, files: Sequence[str]):
        self.root = str(root).replace("\\", "/").rstrip("/")
        self.exact = {f"{self.root}/{f}": f for f in files}
        self.folded: dict[str, list[str]] = defaultdict(list)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for f in files:
            self.folded[f"{self.root}/{f}".casefold()].append(f)
            self.by_name[PurePosixPath(f).name.casefold()].append(f)

    def find(self, path: str) -> tuple[str | None, str]:
        if path in self.exact:
            return self.exact[path], ""
        folded = self.folded.get(path.casefold(), [])
        if len(folded) == 1:
            return folded[0], ""
        parts = [p.casefold() for p in PurePosixPath(path).parts if p not in ("/", "")]
        candidates = self.by_name.get(parts[-1], []) if parts else []
        if not candidates:
            return None, f"no library file named {PurePosixPath(path).name!r}"
        # Longest unique tail: Artist/Album/Song.mp3 before Album/Song.mp3 before Song.mp3.
        for depth in range(len(parts), 0, -1):
            tail = parts[-depth:]
            hits = [f for f in candidates if [p.casefold() for p in f.split("/")][-depth:] == tail]
            if len(hits) == 1:
                return hits[0], ""
            if len(hits) > 1:  # a longer tail found none, so this one cannot be narrowed
                return None, f"ambiguous: {len(hits)} library files end in {'/'.join(tail)!r}"
        return None, f"no library file at {path}"  # unreachable: depth 1 matches every candidate


def match_playlist(playlist: Playlist, root: str | Path, files: Sequence[str]) -> PlaylistMatch:
    """Match a playlist's entries to library files.

    Args:
        playlist: from :func:`read_playlist`.
        root: the library's root folder (absolute).
        files: library files as POSIX paths relative to ``root``.

    Returns:
        A :class:`PlaylistMatch` with one file (or None) per entry, and the reasons for misses.
    """
    index = _FileIndex(Path(root), files)
    matched, unmatched = [], []
    for entry in playlist.entries:
        path = entry_path(entry.location, playlist.path.parent)
        if path is None:
            hit, reason = None, "a URI, not a local file"
        else:
            hit, reason = index.find(path)
        matched.append(hit)
        if hit is None:
            unmatched.append((entry.location, reason))
    return PlaylistMatch(playlist.path, tuple(matched), tuple(unmatched))


# --------------------------------------------------------------------------------------------
# Export

EXPORT_COLUMNS = ["rank", "source", "location", "title", "artist", "album", "genre", "seconds"]


def _extinf(row) -> str:
    seconds = row.get("seconds")
    secs = -1 if seconds is None or not math.isfinite(float(seconds)) else round(float(seconds))
    name = " - ".join(str(x) for x in (row.get("artist"), row.get("title")) if x)
    return f"#EXTINF:{secs},{name.replace(chr(10), ' ')}"


def write_m3u8(rows: pd.DataFrame, out: str | Path, root: str | Path | None = None) -> Path:
    """Write a playlist as extended M3U in UTF-8.

    Args:
        rows: one row per track, in order, with ``source`` ("library" or "catalog"),
            ``location`` (absolute file path for library tracks, track URI for catalog tracks),
            ``title``, ``artist`` and ``seconds`` (NaN when unknown: written as -1).
        out: the .m3u8 file.
        root: the library root; library paths are written relative to the playlist's folder
            when the playlist lies under it (so the folder can move), else absolute.

    Returns:
        ``out``.
    """
    from musig.utils import atomic_write_text

    out = Path(out)
    base = out.resolve().parent
    relative = root is not None and base.is_relative_to(Path(root).resolve())
    lines = ["#EXTM3U"]
    for _, row in rows.iterrows():
        loc = str(row["location"])
        if row["source"] == "library" and relative:
            loc = os.path.relpath(loc, base).replace(os.sep, "/")
        lines += [_extinf(row), loc]
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out


def write_csv(rows: pd.DataFrame, out: str | Path) -> Path:
    """Write a playlist as CSV with :data:`EXPORT_COLUMNS` (plus ``score`` when present)."""
    from musig.utils import atomic_write_text

    cols = [c for c in [*EXPORT_COLUMNS, "score"] if c in rows.columns]
    atomic_write_text(out, rows[cols].to_csv(index=False))
    return Path(out)

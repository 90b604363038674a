"""musig.writer: deterministic MPD-format output, derived track fields, errors, atomic writes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_cases import catalog as _catalog
from dataset_cases import playlists as _playlists

from musig.data import load_dataset
from musig.mpd import ChallengePlaylist
from musig.writer import track_dicts, write_dataset


def test_write_is_deterministic_and_reload_is_stable(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", _catalog(), _playlists(), slice_size=2)
    write_dataset(tmp_path / "b", _catalog(), _playlists(), slice_size=2)
    for p in sorted((tmp_path / "a").rglob("*")):
        if p.is_file():
            assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes()

    ds = load_dataset(tmp_path / "a")
    # Writing a loaded dataset back (non-catalog rows included) reproduces the same index.
    pls = [
        {"pid": int(pid), "name": name, "tracks": track_dicts(ds.tracks, ds.playlist(i))}
        for i, (pid, name) in enumerate(zip(ds.pids, ds.playlist_names, strict=True))
    ]
    write_dataset(tmp_path / "c", ds.tracks, pls, gzip=False)
    ds2 = load_dataset(tmp_path / "c")
    assert ds2.fingerprint == ds.fingerprint
    pd.testing.assert_frame_equal(ds2.tracks, ds.tracks)


def test_json_text_is_what_json_dumps_writes(tmp_path: Path) -> None:
    """Slices and the challenge file are assembled from memoised pieces of JSON text; the
    result must be exactly ``json.dumps`` of the parsed document (shipped split fingerprints
    depend on these bytes), also for names holding quotes, NULs and the placeholder's text."""
    odd = 'x "q" \x00array\x00 \\ é \u2028'
    cat = _catalog().assign(track_name=odd)
    pls = _playlists()
    pls[0] = {**pls[0], "name": odd, "description": odd}
    pls.append({"pid": 99, "tracks": []})
    challenge = [{"pid": 100, "name": odd, "num_holdouts": 1, "tracks": ["t:a"]}]
    write_dataset(tmp_path / "ds", cat, pls, slice_size=2, gzip=False, challenge=challenge)
    files = sorted((tmp_path / "ds/playlists").glob("*.json"))
    files.append(tmp_path / "ds/challenge_set.json")
    for path in files:
        raw = path.read_bytes()
        assert raw == json.dumps(json.loads(raw), ensure_ascii=False).encode(), path.name
    doc = json.loads(files[0].read_bytes())
    assert doc["playlists"][0]["name"] == odd and doc["playlists"][0]["description"] == odd


def test_written_slice_is_mpd_format(tmp_path: Path) -> None:
    write_dataset(tmp_path / "ds", _catalog(), _playlists()[:1], gzip=True)
    raw = gzip.decompress((tmp_path / "ds/playlists/mpd.slice.0-0.json.gz").read_bytes())
    doc = json.loads(raw)
    assert doc["info"]["slice"] == "0-0" and "generated_on" in doc["info"]
    pl = doc["playlists"][0]
    assert pl["collaborative"] == "false" and pl["pid"] == 7
    assert pl["num_tracks"] == 3 and pl["num_artists"] == 2 and pl["num_albums"] == 2
    assert pl["duration_ms"] == 2000  # unknown duration of t:b counts as 0
    assert [t["pos"] for t in pl["tracks"]] == [0, 1, 2]
    assert set(pl["tracks"][0]) == {
        "pos",
        "track_uri",
        "track_name",
        "artist_name",
        "artist_uri",
        "album_uri",
        "album_name",
        "duration_ms",
    }


def test_track_dicts_derives_uris(tmp_path: Path) -> None:
    d = track_dicts(_catalog(), np.array([2, 0]))
    assert [e["pos"] for e in d] == [0, 1]
    assert [e["track_uri"] for e in d] == ["t:c", "t:a"]
    assert d[0]["artist_uri"] == d[1]["artist_uri"]  # same artist "X"
    assert d[0]["artist_uri"].startswith("synth:artist:x-")
    assert d[0]["album_uri"].startswith("synth:album:")
    assert d[0]["duration_ms"] == 3000
    cat = _catalog().assign(artist_uri="spotify:artist:q", album_name="Alb")
    e = track_dicts(cat, [1])[0]
    assert e["artist_uri"] == "spotify:artist:q" and e["album_name"] == "Alb"
    assert e["duration_ms"] is None


def test_write_errors(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with pytest.raises(ValueError, match="duplicate pid 3"):
        write_dataset(out, _catalog(), [{"pid": 3, "tracks": []}] * 2)
    # Found in the third slice, after two were written: those are removed with the temp folder.
    pls = [{"pid": p, "tracks": ["t:a"]} for p in (1, 2)] + [
        {"pid": 3, "tracks": ["t:a", {"x": 1}]}
    ]
    with pytest.raises(ValueError, match=r"playlists\[2\] \(pid 3\), pos 1"):
        write_dataset(out, _catalog(), pls, slice_size=1)
    bad = _catalog().assign(track_uri=["u", "v", "u", "w"])
    with pytest.raises(ValueError, match="row 3"):
        write_dataset(out, bad, [])
    ch = [ChallengePlaylist(3, None, 1, 0, 1, [])]
    with pytest.raises(ValueError, match="pid 3 is a duplicate or a playlist pid"):
        write_dataset(out, _catalog(), [{"pid": 3, "tracks": []}], challenge=ch)
    with pytest.raises(ValueError, match="relative path"):
        write_dataset(out, _catalog(), [], extra_files={"../up": b""})
    with pytest.raises(ValueError, match="would overwrite a dataset file"):
        write_dataset(out, _catalog(), [], extra_files={"playlists/mpd.slice.0-0.json": b""})
    assert list(tmp_path.iterdir()) == []  # no folder, no temp folder


def test_playlists_are_written_as_they_are_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An iterator of playlists is consumed a slice at a time: each slice's JSON is built
    before the next slice's playlists are drawn, so memory holds a few slices, not all."""
    import musig.writer as writer

    built, seen_at_draw = [], []
    real_fill = writer._fill
    monkeypatch.setattr(writer, "_fill", lambda f, t: built.append(f["pid"]) or real_fill(f, t))

    def playlists():
        for p in range(5):
            seen_at_draw.append(len(built))
            yield {"pid": p, "tracks": ["t:a", "t:b"]}

    write_dataset(tmp_path / "ds", _catalog(), playlists(), slice_size=2)
    assert seen_at_draw == [0, 0, 2, 2, 4]
    monkeypatch.undo()
    assert load_dataset(tmp_path / "ds").pids.tolist() == [0, 1, 2, 3, 4]
    names = sorted(p.name for p in (tmp_path / "ds" / "playlists").iterdir())
    assert names == [f"mpd.slice.{r}.json.gz" for r in ("0-1", "2-3", "4-4")]
    listed = [{"pid": p, "tracks": ["t:a", "t:b"]} for p in range(5)]
    write_dataset(tmp_path / "list", _catalog(), listed, slice_size=2)
    for name in names:  # the same bytes as from a list
        a = (tmp_path / "ds" / "playlists" / name).read_bytes()
        assert a == (tmp_path / "list" / "playlists" / name).read_bytes()


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ds"
    write_dataset(root, _catalog(), [{"pid": 1, "tracks": ["t:a"]}])
    before = load_dataset(root).fingerprint
    calls = {"n": 0}
    real = Path.write_bytes

    def failing(self: Path, payload: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, payload)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(OSError, match="disk full"):
        write_dataset(root, _catalog(), _playlists(), slice_size=1)
    calls["n"] = 0
    with pytest.raises(OSError, match="disk full"):
        write_dataset(tmp_path / "new", _catalog(), _playlists(), slice_size=1)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no temp folders, no "new"
    assert load_dataset(root).fingerprint == before  # the old folder is untouched

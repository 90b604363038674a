"""Tests for musig.data: dataset folders in MPD format, round trips and validation errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_cases import catalog as _catalog
from dataset_cases import playlists as _playlists

from musig import data
from musig.data import (
    ChallengePlaylist,
    load_dataset,
    read_challenge,
)
from musig.writer import write_dataset


@pytest.mark.parametrize("use_gzip", [True, False])
def test_round_trip_values(tmp_path: Path, use_gzip: bool) -> None:
    challenge = [
        ChallengePlaylist(100, "ch", 2, 1, 3, ["t:a"]),
        ChallengePlaylist(101, None, 5, 0, 5, []),
    ]
    truth = {100: ["t:b", "t:c"], 101: ["t:a"]}
    root = tmp_path / "ds"
    write_dataset(
        root,
        _catalog(),
        _playlists(),
        slice_size=2,
        gzip=use_gzip,
        challenge=challenge,
        truth=truth,
        extra_files={"world.json": b"{}", "audio/a.wav": b"RIFF"},
    )
    suffix = ".json.gz" if use_gzip else ".json"
    names = sorted(p.name for p in (root / "playlists").iterdir())
    assert names == sorted(f"mpd.slice.{r}{suffix}" for r in ["0-1", "2-3", "4-4"])
    assert (root / "audio/a.wav").read_bytes() == b"RIFF"

    ds = load_dataset(root)
    t = ds.tracks
    assert t["track_uri"].tolist() == ["t:a", "t:b", "t:c", "t:cold", "t:new", "t:new2"]
    assert t["in_catalog"].tolist() == [True, True, True, True, False, False]
    assert t["track_name"].tolist() == ["A", "NA", "C, with comma", "Cold", "New", ""]
    assert t["artist_name"].tolist()[-1] == "W"
    assert t["duration_ms"].dtype == "Int64"
    assert t["duration_ms"].tolist() == [1000, pd.NA, 3000, 4000, pd.NA, 5]
    assert t["genre"].tolist() == ["rock", "", "jazz", "rock", "", ""]
    assert t["audio"].tolist() == ["audio/a.wav", "", "", "", "", ""]
    assert isinstance(t.index, pd.RangeIndex)

    np.testing.assert_array_equal(ds.playlist_indptr, [0, 3, 4, 7, 7, 8])
    np.testing.assert_array_equal(ds.playlist_tracks, [0, 1, 0, 4, 2, 4, 1, 5])
    np.testing.assert_array_equal(ds.pids, [7, 3, 11, 4, 5])
    assert ds.playlist_names == ["first", "second", "third", "empty", ""]
    assert ds.playlist_indptr.dtype == ds.playlist_tracks.dtype == ds.pids.dtype == np.int64
    np.testing.assert_array_equal(ds.playlist(2), [2, 4, 1])
    assert ds.num_tracks == 6 and ds.num_playlists == 5
    assert ds.uri_to_index["t:new2"] == 5

    assert ds.genres == ["jazz", "rock"]
    np.testing.assert_array_equal(ds.genre_codes, [1, -1, 0, 1, -1, -1])
    # "t:a" is twice in pid 7 but counts once; "t:cold" is in no playlist.
    np.testing.assert_array_equal(ds.popularity, [1, 2, 1, 0, 2, 1])

    assert ds.challenge == challenge
    assert ds.truth == truth
    assert len(ds.fingerprint) == 16


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(obj).encode()
    path.write_bytes(gzip.compress(raw) if path.name.endswith(".gz") else raw)


def _mpd_track(uri: str, pos: int, name: str = "n", artist: str = "a") -> dict:
    return {
        "pos": pos,
        "artist_name": artist,
        "track_uri": uri,
        "artist_uri": "spotify:artist:x",
        "track_name": name,
        "album_uri": "spotify:album:y",
        "duration_ms": 200000,
        "album_name": "alb",
    }


def test_mpd_quirks_and_slice_order(tmp_path: Path) -> None:
    pl_dir = tmp_path / "playlists"
    info = {"generated_on": "2017-12-03 08:41:42.057563", "slice": "x", "version": "v1"}
    first = {
        "name": "Throwbacks",
        "collaborative": "false",
        "pid": 0,
        "modified_at": 1493424000,
        "num_tracks": 3,
        "num_albums": 1,
        "num_followers": 1,
        "tracks": [_mpd_track("s:1", 0, "One"), _mpd_track("s:2", 1), _mpd_track("s:1", 2, "Dup")],
        "num_edits": 6,
        "duration_ms": 600000,
        "num_artists": 1,
    }
    second = {"name": "Chill", "collaborative": "true", "pid": 1000, "description": "calm",
              "tracks": [_mpd_track("s:3", 0)]}  # fmt: skip
    third = {"pid": 5000, "tracks": [{"track_uri": "s:4"}]}  # bare minimum
    # Lexical order would put 1000-1999 first; numeric order must win; odd names go last.
    _write_json(pl_dir / "mpd.slice.1000-1999.json", {"info": info, "playlists": [second]})
    _write_json(pl_dir / "mpd.slice.0-999.json.gz", {"info": info, "playlists": [first]})
    _write_json(pl_dir / "mpd.slice.extra.json", {"playlists": [third]})
    (pl_dir / "notes.txt").write_text("not a slice")

    ds = load_dataset(tmp_path)
    np.testing.assert_array_equal(ds.pids, [0, 1000, 5000])
    np.testing.assert_array_equal(ds.playlist_tracks, [0, 1, 0, 2, 3])
    assert ds.playlist_names == ["Throwbacks", "Chill", ""]
    assert ds.tracks["track_uri"].tolist() == ["s:1", "s:2", "s:3", "s:4"]
    assert not ds.tracks["in_catalog"].any()
    assert ds.tracks["track_name"].tolist() == ["One", "n", "n", ""]  # first entry wins
    assert ds.tracks["duration_ms"].tolist() == [200000, 200000, 200000, pd.NA]
    assert ds.genres == [] and (ds.genre_codes == -1).all()
    np.testing.assert_array_equal(ds.popularity, [1, 1, 1, 1])
    assert ds.challenge is None and ds.truth is None


def test_mpd_challenge_format(tmp_path: Path) -> None:
    write_dataset(tmp_path, _catalog(), _playlists())
    ch = {
        "date": "2018-01-16 08:47:28.198015",
        "version": "v1",
        "name": "challenge_set",
        "description": "x",
        "playlists": [
            {"pid": 1000000, "num_holdouts": 10, "num_samples": 0, "num_tracks": 10, "tracks": []},
            {
                "name": "seeded",
                "pid": 1000001,
                "num_holdouts": 2,
                "num_samples": 2,
                "num_tracks": 4,
                "tracks": [_mpd_track("t:a", 0), _mpd_track("t:unknown", 1)],
            },
        ],
    }
    _write_json(tmp_path / "challenge_set.json", ch)
    ds = load_dataset(tmp_path)
    assert ds.challenge == [
        ChallengePlaylist(1000000, None, 10, 0, 10, []),
        ChallengePlaylist(1000001, "seeded", 2, 2, 4, ["t:a", "t:unknown"]),
    ]
    assert "t:unknown" not in ds.uri_to_index  # unknown seeds stay out of the track index
    assert read_challenge(tmp_path / "challenge_set.json") == ds.challenge
    with pytest.raises(ValueError, match="nope.json"):
        read_challenge(tmp_path / "nope.json")


def test_cold_catalog_track_has_zero_popularity(tmp_path: Path) -> None:
    write_dataset(tmp_path, _catalog(), [{"pid": 1, "tracks": ["t:a", "t:b"]}])
    ds = load_dataset(tmp_path)
    assert ds.num_tracks == 4
    np.testing.assert_array_equal(ds.popularity, [1, 1, 0, 0])


def test_catalog_only_and_empty_folder(tmp_path: Path) -> None:
    write_dataset(tmp_path / "cat", _catalog(), [])
    ds = load_dataset(tmp_path / "cat")
    assert ds.num_tracks == 4 and ds.num_playlists == 0
    assert ds.playlist_indptr.tolist() == [0] and ds.popularity.tolist() == [0, 0, 0, 0]
    write_dataset(tmp_path / "pl", _catalog().iloc[:0], [{"pid": 1, "tracks": ["u", "v", "u"]}])
    ds = load_dataset(tmp_path / "pl")
    assert ds.tracks["track_uri"].tolist() == ["u", "v"] and not ds.tracks["in_catalog"].any()
    (tmp_path / "empty" / "playlists").mkdir(parents=True)
    with pytest.raises(ValueError, match="no tracks.csv and no playlists"):
        load_dataset(tmp_path / "empty")


def test_subset_playlists(tmp_path: Path) -> None:
    write_dataset(tmp_path, _catalog(), _playlists())
    ds = load_dataset(tmp_path)
    sub = ds.subset_playlists(np.array([False, False, True, False, True]))
    np.testing.assert_array_equal(sub.pids, [11, 5])
    np.testing.assert_array_equal(sub.playlist_indptr, [0, 3, 4])
    np.testing.assert_array_equal(sub.playlist_tracks, [2, 4, 1, 5])
    assert sub.playlist_names == ["third", ""]
    assert sub.tracks is ds.tracks
    np.testing.assert_array_equal(sub.popularity, [0, 1, 1, 0, 1, 1])
    rev = ds.subset_playlists([4, 0])
    np.testing.assert_array_equal(rev.playlist_tracks, [5, 0, 1, 0])
    assert ds.subset_playlists([]).num_playlists == 0
    with pytest.raises(ValueError, match="mask has shape"):
        ds.subset_playlists(np.ones(3, bool))
    with pytest.raises(ValueError, match="positions"):
        ds.subset_playlists([5])


# --- validation errors -------------------------------------------------------------------------


def _slice(tmp_path: Path, name: str, playlists: list) -> Path:
    path = tmp_path / "playlists" / name
    _write_json(path, {"info": {}, "playlists": playlists})
    return path


def test_malformed_json_names_file(tmp_path: Path) -> None:
    _slice(tmp_path, "mpd.slice.0-0.json", [{"pid": 0, "tracks": []}])
    (tmp_path / "playlists" / "mpd.slice.1-1.json").write_text('{"playlists": [')
    with pytest.raises(ValueError, match=r"mpd\.slice\.1-1\.json.*malformed"):
        load_dataset(tmp_path)


def test_truncated_gzip_names_file(tmp_path: Path) -> None:
    path = _slice(tmp_path, "mpd.slice.0-0.json.gz", [{"pid": 0, "tracks": []}])
    path.write_bytes(path.read_bytes()[:15])
    with pytest.raises(ValueError, match=r"mpd\.slice\.0-0\.json\.gz"):
        load_dataset(tmp_path)


@pytest.mark.parametrize(
    ("playlist", "pattern"),
    [
        ({"tracks": []}, r"mpd\.slice\.0-1\.json: playlist #1: missing or non-integer 'pid'"),
        ({"pid": "9", "tracks": []}, r"playlist #1: missing or non-integer 'pid'"),
        ({"pid": 9}, r"mpd\.slice\.0-1\.json: playlist #1 \(pid 9\): missing 'tracks'"),
        (
            {"pid": 9, "tracks": [{"pos": 0, "track_uri": "u"}, {"pos": 1, "track_name": "x"}]},
            r"mpd\.slice\.0-1\.json: pid 9, pos 1: track entry has no track_uri",
        ),
    ],
)
def test_bad_playlist_entries(tmp_path: Path, playlist: dict, pattern: str) -> None:
    _slice(tmp_path, "mpd.slice.0-1.json", [{"pid": 1, "tracks": []}, playlist])
    with pytest.raises(ValueError, match=pattern):
        load_dataset(tmp_path)


def test_duplicate_pid_across_slices_names_both_files(tmp_path: Path) -> None:
    _slice(tmp_path, "mpd.slice.0-0.json", [{"pid": 42, "tracks": []}])
    _slice(tmp_path, "mpd.slice.1-1.json.gz", [{"pid": 42, "tracks": []}])
    with pytest.raises(ValueError, match="pid 42") as err:
        load_dataset(tmp_path)
    assert "mpd.slice.0-0.json" in str(err.value) and "mpd.slice.1-1.json.gz" in str(err.value)


def _write_catalog(tmp_path: Path, text: str) -> None:
    (tmp_path / "tracks.csv").write_text(text)


HEADER = "track_uri,track_name,artist_name,duration_ms,genre,audio\n"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("track_uri,track_name,artist_name,duration_ms,audio\n", r"tracks\.csv.*column 'genre'"),
        (HEADER + "u1,a,b,1,,\nu2,a,b,,,\nu1,c,d,,,\n", r"tracks\.csv.*row 3.*duplicate.*u1"),
        (HEADER + "u1,a,b,1,,\n,a,b,,,\n", r"tracks\.csv.*row 2: empty track_uri"),
        (HEADER + "u1,a,b,1,,\nu2,a,b,1.5,,\n", r"tracks\.csv.*row 2: duration_ms"),
        (HEADER + "u1,a,b,abc,,\n", r"tracks\.csv.*row 1: duration_ms 'abc'"),
    ],
)
def test_bad_catalog(tmp_path: Path, text: str, pattern: str) -> None:
    _write_catalog(tmp_path, text)
    with pytest.raises(ValueError, match=pattern):
        load_dataset(tmp_path)


def test_catalog_blank_fields_and_extra_columns(tmp_path: Path) -> None:
    _write_catalog(tmp_path, "track_uri,track_name,artist_name,duration_ms,genre,audio,mood\n"
                   "u1,null,NA,,,,happy\nu2,b,c,7,pop,x.wav,\n")  # fmt: skip
    ds = load_dataset(tmp_path)
    t = ds.tracks
    assert t["track_name"].tolist() == ["null", "b"] and t["artist_name"].tolist()[0] == "NA"
    assert t["duration_ms"].tolist() == [pd.NA, 7]
    assert t["mood"].tolist() == ["happy", ""]
    assert list(t.columns[:7]) == [*data.TRACK_COLUMNS, "in_catalog"]
    assert t["in_catalog"].all()


def test_challenge_errors(tmp_path: Path) -> None:
    write_dataset(tmp_path, _catalog(), _playlists())
    dup = {"pid": 50, "num_holdouts": 1, "num_samples": 0, "num_tracks": 1, "tracks": []}
    _write_json(tmp_path / "challenge_set.json", {"playlists": [dup, dup]})
    with pytest.raises(ValueError, match=r"challenge_set\.json: duplicate challenge pid 50"):
        load_dataset(tmp_path)
    leak = {"pid": 7, "num_holdouts": 1, "num_tracks": 1, "tracks": []}
    _write_json(tmp_path / "challenge_set.json", {"playlists": [leak]})
    with pytest.raises(ValueError, match="challenge pid 7 is also a playlist"):
        load_dataset(tmp_path)
    bad_seed = {"pid": 60, "num_holdouts": 1, "num_tracks": 2, "tracks": [{"pos": 0}]}
    _write_json(tmp_path / "challenge_set.json", {"playlists": [bad_seed]})
    with pytest.raises(ValueError, match="pid 60, pos 0"):
        load_dataset(tmp_path)
    _write_json(tmp_path / "challenge_set.json", {"playlists": [dup]})
    _write_json(tmp_path / "challenge_truth.json", {"51": ["t:a"]})
    with pytest.raises(ValueError, match=r"challenge_truth\.json: pid 51"):
        load_dataset(tmp_path)

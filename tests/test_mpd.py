"""Tests for musig.mpd: MPD slice quirks and order, challenge sets, truth and their errors."""

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
from musig.mpd import ChallengePlaylist, read_challenge
from musig.writer import write_dataset


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


def test_slices_under_data_as_the_mpd_download(tmp_path: Path) -> None:
    info = {"generated_on": "x", "slice": "0-999", "version": "v1"}
    pl = {"pid": 3, "name": "Road", "tracks": [_mpd_track("s:9", 0), _mpd_track("s:8", 1)]}
    _write_json(tmp_path / "data" / "mpd.slice.0-999.json.gz", {"info": info, "playlists": [pl]})
    ds = load_dataset(tmp_path)
    np.testing.assert_array_equal(ds.pids, [3])
    assert ds.tracks["track_uri"].tolist() == ["s:9", "s:8"]
    # Both folders would make the dataset ambiguous.
    _write_json(tmp_path / "playlists" / "mpd.slice.0-999.json", {"info": info, "playlists": []})
    with pytest.raises(ValueError, match="both playlists/ and data/"):
        load_dataset(tmp_path)


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

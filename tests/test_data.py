"""Tests for musig.data: dataset folders in MPD format, round trips and catalog errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_cases import catalog as _catalog
from dataset_cases import playlists as _playlists

from musig import data
from musig.data import load_dataset
from musig.mpd import ChallengePlaylist
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


def _playlists_only(root: Path, n: int = 60) -> None:
    """An MPD-shaped folder: playlists only, no tracks.csv, 12 slices of 5 playlists."""
    rng = np.random.default_rng(0)
    playlists = [
        {
            "pid": 1000 + i,
            "name": f"pl {i}",
            "tracks": [f"spotify:track:{t}" for t in rng.choice(40, 6)],
        }
        for i in range(n)
    ]
    write_dataset(root, pd.DataFrame({"track_uri": []}), playlists, slice_size=5)
    (root / "tracks.csv").unlink()


def test_mpd_download_layout_with_slices_under_data(tmp_path: Path) -> None:
    """The MPD as downloaded: slices under data/, no tracks.csv, no audio, no features."""
    _playlists_only(tmp_path / "ds")
    (tmp_path / "ds" / "playlists").rename(tmp_path / "ds" / "data")
    ds = load_dataset(tmp_path / "ds")
    assert ds.num_playlists == 60 and not ds.tracks["in_catalog"].any()
    assert ds.pids[0] == 1000 and ds.playlist_names[59] == "pl 59"


def test_parallel_parsing_gives_the_same_dataset(tmp_path: Path) -> None:
    _playlists_only(tmp_path / "ds")
    one = load_dataset(tmp_path / "ds", jobs=1)
    two = load_dataset(tmp_path / "ds", jobs=2)  # 12 slices: parsed in worker processes
    assert one.fingerprint == two.fingerprint
    pd.testing.assert_frame_equal(one.tracks, two.tracks)
    assert one.playlist_names == two.playlist_names


def test_slices_in_both_layouts_are_refused(tmp_path: Path) -> None:
    _playlists_only(tmp_path / "ds")
    (tmp_path / "ds" / "data").mkdir()
    first = next((tmp_path / "ds" / "playlists").iterdir())
    (tmp_path / "ds" / "data" / first.name).write_bytes(first.read_bytes())
    with pytest.raises(ValueError, match="both playlists/ and data/"):
        load_dataset(tmp_path / "ds")

"""A small catalog and playlists with the format's corner cases, shared by data and writer tests."""

import pandas as pd


def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_uri": ["t:a", "t:b", "t:c", "t:cold"],
            "track_name": ["A", "NA", "C, with comma", "Cold"],
            "artist_name": ["X", "Y", "X", "Z"],
            "duration_ms": pd.array([1000, None, 3000, 4000], dtype="Int64"),
            "genre": ["rock", "", "jazz", "rock"],
            "audio": ["audio/a.wav", "", "", ""],
        }
    )


def playlists() -> list[dict]:
    # pid order deliberately not sorted; "t:new" and "t:new2" exist only in playlists.
    return [
        {"pid": 7, "name": "first", "tracks": ["t:a", "t:b", "t:a"]},
        {"pid": 3, "name": "second", "tracks": [{"track_uri": "t:new", "track_name": "New"}]},
        {"pid": 11, "name": "third", "tracks": ["t:c", "t:new", "t:b"]},
        {"pid": 4, "name": "empty", "tracks": []},
        {"pid": 5, "tracks": [{"track_uri": "t:new2", "artist_name": "W", "duration_ms": 5}]},
    ]

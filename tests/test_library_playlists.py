"""musig.library.playlists on hand-written playlists: parsing, path forms, matching, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musig.library.playlists import (
    entry_path,
    match_playlist,
    read_playlist,
    write_csv,
    write_m3u8,
)

FILES = ["A/x/01 One.mp3", "A/x/02 Two.flac", "B/y/01 One.mp3", "Three.ogg", "Ünïcode ß.wav"]


@pytest.mark.parametrize(
    ("location", "want"),
    [
        ("x/01 One.mp3", "/lib/A/x/01 One.mp3"),  # relative to the playlist folder /lib/A
        ("..\\B\\y\\01 One.mp3", "/lib/B/y/01 One.mp3"),  # Windows separators
        ("/lib/Three.ogg", "/lib/Three.ogg"),
        ("file:///lib/%C3%9Cn%C3%AFcode%20%C3%9F.wav", "/lib/Ünïcode ß.wav"),
        ("file://localhost/lib/Three.ogg", "/lib/Three.ogg"),
        ("file:///C:/Music/A/x/01%20One.mp3", "C:/Music/A/x/01 One.mp3"),
        ("C:\\Music\\Three.ogg", "C:/Music/Three.ogg"),
        ("http://example.org/stream.mp3", None),
        ("spotify:track:4uLU6hMCjMI75M1A2tKUQC", None),
    ],
)
def test_entry_paths(location, want):
    assert entry_path(location, Path("/lib/A")) == want


def test_m3u_with_extinf_attributes_and_cp1252(tmp_path):
    text = '#EXTM3U\n#EXTINF:183 tvg-id="x",Ünï - Café\r\nx/01 One.mp3\n# comment\n\nThree.ogg\n'
    (tmp_path / "a.m3u").write_bytes(text.encode("cp1252"))
    pl = read_playlist(tmp_path / "a.m3u")
    assert [(e.location, e.title, e.seconds) for e in pl.entries] == [
        ("x/01 One.mp3", "Ünï - Café", 183.0),
        ("Three.ogg", "", None),
    ]


def test_pls_keys_in_any_case_and_order(tmp_path):
    (tmp_path / "a.pls").write_text(
        "[playlist]\nfile2=Three.ogg\nFile1=A/x/02 Two.flac\nTitle1=Two\nLength1=-1\n"
        "NumberOfEntries=2\nVersion=2\n"
    )
    pl = read_playlist(tmp_path / "a.pls")
    assert [(e.location, e.title, e.seconds) for e in pl.entries] == [
        ("A/x/02 Two.flac", "Two", None),
        ("Three.ogg", "", None),
    ]
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="not a playlist"):
        read_playlist(tmp_path / "a.txt")


def test_matching_by_path_case_and_unique_tail(tmp_path):
    lib = tmp_path / "lib"
    (lib / "lists").mkdir(parents=True)
    (lib / "lists" / "p.m3u8").write_text(
        "\n".join(
            [
                "../A/x/01 One.mp3",  # exact
                f"{lib}/a/X/02 two.FLAC",  # case differs (a playlist from a Windows machine)
                "E:\\Old\\B\\y\\01 One.mp3",  # another machine: the tail B/y/01 One.mp3 is unique
                "E:\\Old\\01 One.mp3",  # only the name: two library files have it
                "../Gone.mp3",
                "file:///elsewhere/Three.ogg",  # the name is unique in the library
            ]
        )
    )
    m = match_playlist(read_playlist(lib / "lists" / "p.m3u8"), lib, FILES)
    assert m.files == (
        "A/x/01 One.mp3", "A/x/02 Two.flac", "B/y/01 One.mp3", None, None, "Three.ogg",
    )  # fmt: skip
    assert dict(m.unmatched) == {
        "E:\\Old\\01 One.mp3": "ambiguous: 2 library files end in '01 one.mp3'",
        "../Gone.mp3": "no library file named 'Gone.mp3'",
    }


def test_export_paths_relative_inside_the_root_absolute_outside(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    rows = pd.DataFrame(
        {
            "rank": [1, 2],
            "source": ["library", "catalog"],
            "location": [str(lib / "A/x/01 One.mp3"), "synth:track:00007"],
            "title": ["One", "Seven"],
            "artist": ["", "Zed"],
            "album": ["", ""],
            "genre": ["", "pop"],
            "seconds": [61.6, np.nan],
            "score": [0.9, 0.8],
        }
    )
    inside = write_m3u8(rows, lib / "B" / "p.m3u8", root=lib)
    assert inside.read_text() == (
        "#EXTM3U\n#EXTINF:62,One\n../A/x/01 One.mp3\n#EXTINF:-1,Zed - Seven\nsynth:track:00007\n"
    )
    outside = write_m3u8(rows, tmp_path / "p.m3u8", root=lib)
    assert outside.read_text().splitlines()[2] == str(lib / "A/x/01 One.mp3")
    back = match_playlist(read_playlist(inside), lib, FILES)
    assert back.files == ("A/x/01 One.mp3", None)
    assert back.unmatched == (("synth:track:00007", "a URI, not a local file"),)
    csv = pd.read_csv(write_csv(rows, tmp_path / "p.csv"))
    assert list(csv.columns) == [*rows.columns] and csv["score"].tolist() == [0.9, 0.8]

"""The dataset folder of a synthetic world: byte-identical per seed, its catalog and its audio."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musig import synth
from musig.data import load_dataset
from musig.synth import render_track

SMALL = synth.WorldConfig(
    num_tracks=200, num_playlists=300, num_genres=4, seed=3, clip_seconds=3.0, max_length=60
)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    return synth.generate_world(tmp_path_factory.mktemp("w") / "a", SMALL, progress=False)


@pytest.fixture(scope="module")
def ds(world_dir):
    return load_dataset(world_dir)


def test_same_seed_gives_identical_folder_and_other_seed_differs(world_dir, tmp_path):
    again = synth.generate_world(tmp_path / "b", SMALL, progress=False)
    a, b = _files(world_dir), _files(again)
    assert a == b
    assert "tracks.csv" in a and "world.json" in a
    assert any(k.startswith("playlists/mpd.slice.") for k in a)
    other = _files(synth.generate_world(tmp_path / "c", replace(SMALL, seed=4), progress=False))
    assert other["tracks.csv"] != a["tracks.csv"]
    slices = [k for k in a if k.startswith("playlists/")]
    assert all(other[k] != a[k] for k in slices)


def test_counts_lengths_and_catalog_columns(ds):
    assert ds.num_tracks == SMALL.num_tracks  # every playlist track is in the catalog
    assert ds.num_playlists == SMALL.num_playlists
    lengths = np.diff(ds.playlist_indptr)
    assert lengths.min() >= SMALL.min_length and lengths.max() <= SMALL.max_length
    assert 12 <= np.median(lengths) <= 30  # lognormal, median ~20
    for i in range(ds.num_playlists):
        tracks = ds.playlist(i)
        assert len(np.unique(tracks)) == len(tracks), f"duplicate track in playlist {i}"
    t = ds.tracks
    assert t["track_uri"].tolist() == [f"synth:track:{i:05d}" for i in range(SMALL.num_tracks)]
    assert t["audio"].tolist() == [f"audio/{i:05d}.wav" for i in range(SMALL.num_tracks)]
    assert (t["track_name"] != "").all() and (t["artist_name"] != "").all()
    assert t["duration_ms"].between(60_000, 600_000).all()
    assert all(name for name in ds.playlist_names)


def test_example_audio_matches_render_track(world_dir):
    world = json.loads((world_dir / "world.json").read_text())
    wavs = sorted((world_dir / "audio").glob("*.wav"))
    assert len(wavs) == 8
    for wav in wavs:
        written, sr = sf.read(wav, dtype="float32")
        y, sr2 = render_track(world, f"synth:track:{wav.stem}")
        assert sr == sr2 == SMALL.sr
        assert y.dtype == np.float32 and y.shape == (round(SMALL.clip_seconds * sr),)
        assert np.abs(y).max() <= 1.0
        assert np.allclose(written, y, atol=1.01 / 32768)
    # Same track, same samples, from a dict or from the path.
    again, _ = render_track(world_dir / "world.json", f"synth:track:{wavs[0].stem}")
    first, _ = render_track(world, f"synth:track:{wavs[0].stem}")
    np.testing.assert_array_equal(first, again)


def test_audio_files_none_and_all(tmp_path):
    tiny = synth.WorldConfig(
        num_tracks=12, num_playlists=6, num_genres=2, clip_seconds=1.0, max_length=8
    )
    none = synth.generate_world(tmp_path / "n", tiny, audio_files="none", progress=False)
    assert not (none / "audio").exists()
    full = synth.generate_world(tmp_path / "f", tiny, audio_files="all", progress=False)
    assert len(list((full / "audio").glob("*.wav"))) == 12


def test_validation_errors(tmp_path):
    with pytest.raises(ValueError, match="audio_files"):
        synth.generate_world(tmp_path / "x", SMALL, audio_files="some")

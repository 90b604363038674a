"""Tests for the synthetic world: determinism, playlist statistics and audible genres."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musig import synth
from musig.data import load_dataset
from musig.synth_audio import render_track

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


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    """A catalog as sparse as the default world (SMALL's playlists each hold ~1/8 of it)."""
    cfg = synth.WorldConfig(num_tracks=2000, num_playlists=1000, seed=5)
    root = tmp_path_factory.mktemp("sparse") / "w"
    return cfg, load_dataset(synth.generate_world(root, cfg, audio_files="none", progress=False))


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


def test_cold_tracks_exist_and_are_in_no_playlist(ds, world_dir):
    truth = synth.world_truth(world_dir / "world.json")
    cold = np.isinf(truth.log_popularity)
    assert cold.sum() == round(SMALL.cold_fraction * SMALL.num_tracks)
    assert (ds.popularity[cold] == 0).all()
    assert synth.world_summary(world_dir / "world.json")["num_cold"] == cold.sum()


def test_some_genres_blank(ds):
    genres = ds.tracks["genre"]
    blank = (genres == "").mean()
    assert 0.03 <= blank <= 0.2
    assert len(ds.genres) == SMALL.num_genres


def test_popularity_is_long_tailed(sparse):
    _, ds = sparse
    counts = np.sort(ds.popularity)[::-1]
    assert counts[: len(counts) // 10].sum() > 0.3 * counts.sum()


def test_playlists_share_hidden_taste_beyond_genre(sparse):
    # Co-occurrence must carry what audio cannot: hidden coordinates, minus their genre's mean,
    # vary less inside a playlist than across all playlist entries (about 0.8 across seeds).
    cfg, ds = sparse
    truth = synth.world_truth(cfg)
    hidden, g = truth.z[:, cfg.audible_dims :], truth.genre
    means = np.stack([hidden[g == k].mean(0) for k in range(cfg.num_genres)])
    resid = hidden - means[g]
    within = np.mean([resid[ds.playlist(i)].var(0, ddof=1).mean() for i in range(ds.num_playlists)])
    assert within < 0.9 * resid[ds.playlist_tracks].var(0).mean()


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
    with pytest.raises(ValueError, match="audible_dims"):
        synth.WorldConfig(audible_dims=20)
    with pytest.raises(ValueError, match="audio_files"):
        synth.generate_world(tmp_path / "x", SMALL, audio_files="some")

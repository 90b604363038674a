"""The hidden truth of a synthetic world: cold tracks, blank genres, long tail, shared taste."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musig import synth
from musig.data import load_dataset

SMALL = synth.WorldConfig(
    num_tracks=200, num_playlists=300, num_genres=4, seed=3, clip_seconds=3.0, max_length=60
)


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("w") / "a"
    return synth.generate_world(root, SMALL, audio_files="none", progress=False)


@pytest.fixture(scope="module")
def ds(world_dir):
    return load_dataset(world_dir)


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    """A catalog as sparse as the default world (SMALL's playlists each hold ~1/8 of it)."""
    cfg = synth.WorldConfig(num_tracks=2000, num_playlists=1000, seed=5)
    root = tmp_path_factory.mktemp("sparse") / "w"
    return cfg, load_dataset(synth.generate_world(root, cfg, audio_files="none", progress=False))


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


def test_validation_errors():
    with pytest.raises(ValueError, match="audible_dims"):
        synth.WorldConfig(audible_dims=20)

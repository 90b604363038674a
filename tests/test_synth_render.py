"""Rendered audio of synthetic tracks: hidden latents stay silent, genres are audible, errors."""

from __future__ import annotations

import numpy as np
import pytest

from musig import synth
from musig.synth import render_track

SMALL = synth.WorldConfig(num_tracks=60, num_playlists=40, num_genres=3, seed=2, clip_seconds=2.0)


def test_hidden_dims_never_reach_the_audio():
    cfg = SMALL
    truth = synth.world_truth(cfg)  # cached: edits below are seen by render_track
    y, _ = render_track(cfg, "synth:track:00007")
    saved = truth.z[7].copy()
    try:
        truth.z[7, cfg.audible_dims :] += 3.0
        np.testing.assert_array_equal(render_track(cfg, "synth:track:00007")[0], y)
        truth.z[7, 1] += 2.0  # brightness
        assert not np.allclose(render_track(cfg, "synth:track:00007")[0], y)
    finally:
        truth.z[7] = saved


def test_genres_are_audible():
    # Leave-one-out nearest-centroid genre accuracy on plain librosa statistics: 0.5-0.8 across
    # seeds for 4 genres (they overlap by design), chance about 0.25.
    librosa = pytest.importorskip("librosa")
    cfg = synth.WorldConfig(num_tracks=1000, num_genres=4, seed=3, clip_seconds=3.0)
    truth = synth.world_truth(cfg)
    idx = np.concatenate([np.flatnonzero(truth.genre == k)[:25] for k in range(cfg.num_genres)])
    feats = []
    for i in idx:
        y, sr = render_track(cfg, f"synth:track:{i:05d}")
        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
        onset = librosa.onset.onset_strength(y=y, sr=sr)
        centroid = librosa.feature.spectral_centroid(y=y, sr=sr)
        feats.append(np.r_[mfcc.mean(1), mfcc.std(1), onset.mean(), onset.std(), centroid.mean()])
    x = np.array(feats)
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    label = truth.genre[idx]
    correct = 0
    for j in range(len(idx)):
        rest = np.arange(len(idx)) != j
        cents = np.stack([x[rest & (label == k)].mean(0) for k in range(cfg.num_genres)])
        correct += np.argmin(((cents - x[j]) ** 2).sum(1)) == label[j]
    assert correct / len(idx) > 0.4


def test_render_errors():
    with pytest.raises(ValueError, match="not a track"):
        render_track(SMALL, "synth:track:99999")
    with pytest.raises(ValueError, match="not a track"):
        render_track(SMALL, "spotify:track:abc")
    with pytest.raises(ValueError, match="version"):
        render_track({"version": 0, "config": {}}, "synth:track:00000")

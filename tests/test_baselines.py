"""One behavioural test per property, run against every baseline on a world with a known answer.

The world: tracks 0..19 (group A) and 20..39 (group B) only ever share playlists with their own
group, track 40 is in no playlist, and content features separate the two groups.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musig.baselines import BASELINES
from musig.data import Dataset
from musig.graph import GraphConfig, build_graph
from musig.methods import FitContext, MethodResult

N_GROUP, N_PLAYLISTS, PLAYLIST_LEN = 20, 200, 8
ORPHAN = 2 * N_GROUP  # the track in no playlist
N = ORPHAN + 1
EMBEDDERS = [name for name in BASELINES if name != "popularity"]
# Small but sufficient settings so the whole file stays fast.
FAST = {
    "item2vec": {"epochs": 20},
    "deepwalk": {"walks_per_node": 10, "walk_length": 20, "epochs": 5},
    "node2vec": {"walks_per_node": 10, "walk_length": 20, "epochs": 5},
}


def _tracks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_uri": [f"spotify:track:{i:04d}" for i in range(N)],
            "track_name": [f"t{i}" for i in range(N)],
            "artist_name": "a",
            "duration_ms": pd.array([1000] * N, dtype="Int64"),
            "genre": "",
            "audio": "",
            "in_catalog": True,
        }
    )


def _dataset(rng: np.random.Generator) -> Dataset:
    groups = rng.integers(0, 2, N_PLAYLISTS)
    playlists = [
        g * N_GROUP + rng.choice(N_GROUP, PLAYLIST_LEN, replace=False) for g in groups.tolist()
    ]
    indptr = np.arange(N_PLAYLISTS + 1, dtype=np.int64) * PLAYLIST_LEN
    return Dataset(
        root=Path("."),
        tracks=_tracks(),
        playlist_indptr=indptr,
        playlist_tracks=np.concatenate(playlists).astype(np.int64),
        pids=np.arange(N_PLAYLISTS, dtype=np.int64),
        playlist_names=[""] * N_PLAYLISTS,
    )


def _graph(dataset):
    # Co-occurrence only: the baselines that use the graph walk the "cooc" relation alone.
    return build_graph(dataset, None, None, GraphConfig(use_content=False, use_genre=False))


@pytest.fixture(scope="module")
def ctx() -> FitContext:
    rng = np.random.default_rng(0)
    dataset = _dataset(rng)
    group = np.arange(N) >= N_GROUP
    features = np.where(group[:, None], 1.0, -1.0) * np.ones((N, 4))
    features = (features + rng.normal(0, 0.5, (N, 4))).astype(np.float32)
    feature_mask = np.ones(N, bool)
    feature_mask[3] = False  # a track without audio
    features[3] = 0.0
    return FitContext(dataset, features, feature_mask, _graph(dataset), random_state=7)


def _cfg(name: str):
    cfg_cls, _ = BASELINES[name]
    return cfg_cls(**FAST.get(name, {}))


@pytest.fixture(scope="module")
def fitted(ctx) -> dict[str, MethodResult]:
    return {name: fit(ctx, _cfg(name)) for name, (_, fit) in BASELINES.items()}


def test_registry_configs_are_frozen_dataclasses():
    for name, (cfg_cls, fit) in BASELINES.items():
        assert dataclasses.is_dataclass(cfg_cls), name
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg_cls().x = 1  # type: ignore[attr-defined]
        assert callable(fit)


@pytest.mark.parametrize("name", EMBEDDERS)
def test_shapes_dtypes_and_masked_rows_are_zero(fitted, name):
    res = fitted[name]
    assert res.embeddings is not None and res.embeddings.dtype == np.float32
    assert res.embeddings.ndim == 2 and res.embeddings.shape[0] == N
    assert res.mask.dtype == bool and res.mask.shape == (N,)
    assert np.all(res.embeddings[~res.mask] == 0)
    assert np.all(np.isfinite(res.embeddings))
    assert np.all(np.linalg.norm(res.embeddings[res.mask], axis=1) > 0)
    assert all(isinstance(rec, dict) for rec in res.log) and res.log


@pytest.mark.parametrize("name", EMBEDDERS)
def test_nearest_neighbour_is_in_own_group(fitted, name):
    res = fitted[name]
    idx = np.flatnonzero(res.mask)
    z = res.embeddings[idx] / np.linalg.norm(res.embeddings[idx], axis=1, keepdims=True)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    nn = idx[sim.argmax(axis=1)]
    same = (nn >= N_GROUP) == (idx >= N_GROUP)
    assert same.mean() > 0.9, f"{name}: only {same.mean():.0%} of neighbours in own group"


@pytest.mark.parametrize("name", ["als", "item2vec", "deepwalk", "node2vec"])
def test_track_in_no_playlist_is_masked(fitted, name):
    mask = fitted[name].mask
    assert not mask[ORPHAN]
    assert mask[:ORPHAN].all()


def test_content_mask_is_feature_mask(ctx, fitted):
    res = fitted["content"]
    np.testing.assert_array_equal(res.mask, ctx.feature_mask)
    np.testing.assert_array_equal(res.embeddings[res.mask], ctx.features[res.mask])


def test_popularity_counts_playlists_and_embeds_nothing(ctx, fitted):
    res = fitted["popularity"]
    assert res.embeddings is None and not res.mask.any()
    scores = res.extras["scores"]
    assert scores.dtype == np.float32 and scores.shape == (N,)
    expected = [sum(t in ctx.dataset.playlist(i) for i in range(N_PLAYLISTS)) for t in range(N)]
    np.testing.assert_array_equal(scores, expected)
    assert scores[ORPHAN] == 0


@pytest.mark.parametrize("name", list(BASELINES))
def test_deterministic_for_a_fixed_seed(ctx, fitted, name):
    again = BASELINES[name][1](ctx, _cfg(name))
    first = fitted[name]
    np.testing.assert_array_equal(again.mask, first.mask)
    if first.embeddings is None:
        assert again.embeddings is None
    else:
        np.testing.assert_array_equal(again.embeddings, first.embeddings)
    for key, value in first.extras.items():
        np.testing.assert_array_equal(again.extras[key], value)


@pytest.mark.parametrize("name", ["als", "item2vec", "node2vec"])
def test_seed_changes_the_result(ctx, fitted, name):
    other = BASELINES[name][1](dataclasses.replace(ctx, random_state=8), _cfg(name))
    assert not np.array_equal(other.embeddings, fitted[name].embeddings)


@pytest.mark.parametrize("name", list(BASELINES))
def test_no_playlists_embeds_nothing_without_crashing(name):
    empty = Dataset(
        root=Path("."),
        tracks=_tracks(),
        playlist_indptr=np.zeros(1, np.int64),
        playlist_tracks=np.zeros(0, np.int64),
        pids=np.zeros(0, np.int64),
        playlist_names=[],
    )
    ctx = FitContext(empty, np.zeros((N, 2), np.float32), np.zeros(N, bool), _graph(empty))
    res = BASELINES[name][1](ctx, _cfg(name))
    assert not res.mask.any()
    if res.embeddings is not None:
        assert res.embeddings.shape[0] == N and not res.embeddings.any()

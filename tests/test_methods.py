"""One behavioural test per property, run against every registered method on a world with a
known answer.

The world: tracks 0..19 (group A, genre "rock") and 20..39 (group B, "jazz") only ever share
playlists with their own group, track 40 (group B's sound) is in no playlist, and content
features separate the two groups.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musig.data import Dataset
from musig.fitting import FitContext, MethodResult
from musig.graph import build_graph
from musig.methods import ABLATIONS, METHODS, REGISTRY, by_cost, get, resolve_config, spec

N_GROUP, N_PLAYLISTS, PLAYLIST_LEN = 20, 200, 8
ORPHAN = 2 * N_GROUP  # the track in no playlist
N = ORPHAN + 1
EMBEDDERS = [m for m in METHODS if not REGISTRY[m].recommend_only]
# Small but sufficient settings so the whole file stays fast.
_ENCODER = {"steps": 150, "batch_size": 64, "eval_every": 50, "hidden_channels": 32}
FAST = {
    "item2vec": {"epochs": 20},
    "deepwalk": {"walks_per_node": 10, "walk_length": 20, "epochs": 5},
    "node2vec": {"walks_per_node": 10, "walk_length": 20, "epochs": 5},
    "sage": _ENCODER,
    "musig": _ENCODER,
}


def _tracks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_uri": [f"spotify:track:{i:04d}" for i in range(N)],
            "track_name": [f"t{i}" for i in range(N)],
            "artist_name": "a",
            "duration_ms": pd.array([1000] * N, dtype="Int64"),
            "genre": ["rock"] * N_GROUP + ["jazz"] * (N - N_GROUP),
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
    return FitContext(dataset, features, feature_mask, None, random_state=7)


def _cfg(name: str):
    return resolve_config(name, FAST.get(name))


def _fit(ctx: FitContext, name: str, callback=None) -> MethodResult:
    """Fit as the pipeline does: the method gets the relations it reads and nothing else."""
    method, cfg = get(name), _cfg(name)
    graph_cfg = method.graph_config(cfg)
    if graph_cfg is not None:
        graph = build_graph(
            ctx.dataset, ctx.features, ctx.feature_mask, graph_cfg, method.relations(cfg)
        )
        ctx = dataclasses.replace(ctx, graph=graph)
    return method.fit(ctx, cfg, callback)


@pytest.fixture(scope="module")
def fitted(ctx) -> dict[str, MethodResult]:
    return {name: _fit(ctx, name) for name in METHODS}


def test_registry_entries_are_complete():
    assert METHODS[-1] == "musig" and "sage" in METHODS
    for name, method in REGISTRY.items():
        assert method.name == name
        assert dataclasses.is_dataclass(method.default), name
        with pytest.raises(dataclasses.FrozenInstanceError):
            method.default.x = 1  # type: ignore[attr-defined]
        cfg = method.config()
        assert set(method.relations(cfg)) <= {"cooc", "acoustic"}
        assert (method.graph_config(cfg) is None) == (method.describe_graph(cfg) is None)
    # Only what each method reads is built: the fastest methods build no graph at all.
    for name in ("popularity", "als", "item2vec", "content"):
        assert get(name).graph_config(get(name).config()) is None, name
    assert get("deepwalk").relations(get("deepwalk").config()) == ("cooc",)
    assert get("musig").relations(get("musig").config()) == ("cooc", "acoustic")
    reads = {m: REGISTRY[m].reads_content(REGISTRY[m].config()) for m in METHODS}
    assert {m for m, r in reads.items() if r} == {"content", "sage", "musig"}
    uploads = {m for m in METHODS if REGISTRY[m].embeds_uploads(REGISTRY[m].config())}
    assert uploads == {"content", "sage", "musig"}
    assert by_cost(METHODS)[:2] == ["musig", "sage"]


def test_sage_is_musigs_final_config_with_the_cooccurrence_task_alone():
    sage, musig = REGISTRY["sage"].default, REGISTRY["musig"].default
    assert sage.tasks == (("cooc", 1.0),) and len(musig.tasks) > 1
    differ = [
        f.name for f in dataclasses.fields(musig) if getattr(sage, f.name) != getattr(musig, f.name)
    ]
    assert differ == ["tasks"]


def test_ablations_resolve_and_say_what_they_read():
    no_audio = resolve_config("musig-no-audio")
    assert not get("musig").reads_content(no_audio)
    assert get("musig").relations(no_audio) == ("cooc",)
    assert get("musig").relations(resolve_config("musig-track-vectors-only")) == ()
    assert all(spec(name)[0].name == "musig" for name in ABLATIONS)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        get("nope")
    with pytest.raises(ValueError, match="unknown ALSConfig field"):
        resolve_config("als", {"graph": {"window": 3}})


@pytest.mark.parametrize("name", METHODS)
def test_callback_sees_every_log_record(ctx, fitted, name):
    seen = []
    result = _fit(ctx, name, seen.append)
    assert seen == result.log and seen


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


def _nearest(res: MethodResult, rows: np.ndarray) -> np.ndarray:
    idx = np.flatnonzero(res.mask)
    z = res.embeddings[idx] / np.linalg.norm(res.embeddings[idx], axis=1, keepdims=True)
    q = res.embeddings[rows] / np.linalg.norm(res.embeddings[rows], axis=1, keepdims=True)
    sim = q @ z.T
    sim[rows[:, None] == idx[None, :]] = -np.inf  # never a track's own row
    return idx[sim.argmax(axis=1)]


@pytest.mark.parametrize("name", EMBEDDERS)
def test_nearest_neighbour_is_in_own_group(fitted, name):
    res = fitted[name]
    rows = np.flatnonzero(res.mask)
    nn = _nearest(res, rows)
    same = (nn >= N_GROUP) == (rows >= N_GROUP)
    assert same.mean() > 0.9, f"{name}: only {same.mean():.0%} of neighbours in own group"


@pytest.mark.parametrize("name", ["als", "item2vec", "deepwalk", "node2vec"])
def test_track_in_no_playlist_is_masked(fitted, name):
    mask = fitted[name].mask
    assert not mask[ORPHAN]
    assert mask[:ORPHAN].all()


def test_als_artist_columns_place_a_cold_track_by_its_artist(ctx):
    from musig.baselines.als import playlist_artist_matrix, playlist_track_matrix

    artist = np.where(np.arange(N) < N_GROUP, 0, 1)
    artist[5] = -1  # an unknown artist takes no column
    names = pd.Series(np.array(["a", "b"])[artist]).where(artist >= 0, "")
    ds = dataclasses.replace(ctx.dataset, tracks=ctx.dataset.tracks.assign(artist_name=names))
    per_playlist = playlist_artist_matrix(playlist_track_matrix(ctx), artist).toarray()
    in_b = ds.playlist_tracks[ds.playlist_indptr[:-1]] >= N_GROUP
    np.testing.assert_array_equal(per_playlist, np.stack([~in_b, in_b], 1))

    with_artist = resolve_config("als", {"artist_weight": 1.0})
    res = get("als").fit(dataclasses.replace(ctx, dataset=ds), with_artist)
    assert not _fit(ctx, "als").mask[ORPHAN] and res.mask.all()  # it borrows its artist's
    rows = np.arange(N)
    assert ((_nearest(res, rows) >= N_GROUP) == (rows >= N_GROUP)).all()
    with pytest.raises(ValueError, match="artist_weight must be >= 0"):
        get("als").fit(ctx, resolve_config("als", {"artist_weight": -1.0}))


@pytest.mark.parametrize("name", ["sage", "musig"])
def test_inductive_methods_place_the_track_in_no_playlist_by_its_sound(fitted, name):
    res = fitted[name]
    assert res.mask[ORPHAN] and res.mask.all()
    assert _nearest(res, np.array([ORPHAN]))[0] >= N_GROUP  # group B's sound


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


@pytest.mark.parametrize("name", METHODS)
def test_deterministic_for_a_fixed_seed(ctx, fitted, name):
    again = _fit(ctx, name)
    first = fitted[name]
    np.testing.assert_array_equal(again.mask, first.mask)
    if first.embeddings is None:
        assert again.embeddings is None
    else:
        np.testing.assert_array_equal(again.embeddings, first.embeddings)
    for key, value in first.extras.items():
        np.testing.assert_array_equal(again.extras[key], value)


@pytest.mark.parametrize("name", ["als", "item2vec", "node2vec", "sage", "musig"])
def test_seed_changes_the_result(ctx, fitted, name):
    other = _fit(dataclasses.replace(ctx, random_state=8), name)
    assert not np.array_equal(other.embeddings, fitted[name].embeddings)


@pytest.mark.parametrize("name", METHODS)
def test_no_playlists_embeds_nothing_or_says_why(name):
    empty = Dataset(
        root=Path("."),
        tracks=_tracks(),
        playlist_indptr=np.zeros(1, np.int64),
        playlist_tracks=np.zeros(0, np.int64),
        pids=np.zeros(0, np.int64),
        playlist_names=[],
    )
    ctx = FitContext(empty, np.zeros((N, 2), np.float32), np.zeros(N, bool), None)
    if name in ("sage", "musig"):  # trained on playlists: refuses in one clear line
        with pytest.raises(ValueError, match="needs playlists"):
            _fit(ctx, name)
        return
    res = _fit(ctx, name)
    assert not res.mask.any()
    if res.embeddings is not None:
        assert res.embeddings.shape[0] == N and not res.embeddings.any()

"""Shared fixtures: a tiny synthetic world (generated once per session) and hand-made runs."""

from __future__ import annotations

from pathlib import Path

import graph_cases
import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory):
    """musig's user cache (graph store, fallback feature caches) in a temporary folder: tests
    never write to the home folder, and subprocesses inherit it."""
    patch = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("user-cache")
    patch.setenv("MUSIG_CACHE_DIR", str(path))
    yield path
    patch.undo()


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory) -> Path:
    """A synthetic dataset folder (120 tracks, 300 playlists, 8 example wav files).

    Read-only for tests: copy it before changing anything. Its feature cache is filled by the
    first test that extracts features.
    """
    # Imported here so a broken generator fails only the tests that need a world.
    from musig.synth import WorldConfig, generate_world

    cfg = WorldConfig(num_tracks=120, num_playlists=300, num_genres=4, seed=7, clip_seconds=3.0)
    return generate_world(tmp_path_factory.mktemp("tiny") / "world", cfg, progress=False)


@pytest.fixture
def make_run(tmp_path):
    """Factory: save a run from hand-made arrays and load it with :func:`musig.runs.load_run`.

    Args (of the factory): embeddings float32 (N, D) or None, popularity (N,), mask bool (N,)
    (default all True), method name, track names (default ``song <i>``).
    """
    from musig.runs import RunContents, load_run, save_run

    def make(embeddings, popularity, mask=None, *, method="content", names=None):
        n = len(popularity)
        tracks = pd.DataFrame(
            {
                "track_uri": [f"spotify:track:{i:03d}" for i in range(n)],
                "track_name": names or [f"song {i}" for i in range(n)],
                "artist_name": [f"artist {i % 3}" for i in range(n)],
                "genre": [["rock", "jazz", ""][i % 3] for i in range(n)],
            }
        )
        arrays = {
            "mask": np.ones(n, bool) if mask is None else np.asarray(mask, bool),
            "popularity": np.asarray(popularity, np.float32),
        }
        if embeddings is not None:
            arrays["embeddings"] = np.asarray(embeddings, np.float32)
        rec = RunContents(
            method=method,
            config={},
            seed=0,
            graph=None,
            graph_key=None,
            tracks=tracks,
            dataset_fingerprint="0" * 16,
            split=None,
            arrays=arrays,
        )
        return load_run(save_run(tmp_path / f"run-{method}", rec))

    return make


@pytest.fixture(scope="session")
def sparse_world(tmp_path_factory):
    """A world sparse enough for held-out co-occurrence to mean something, with its features.

    Returns (dataset, FeatureSet). 400 tracks, 700 short playlists, 4 genres, 2 s clips.
    """
    from musig.data import load_dataset
    from musig.features import load_features
    from musig.synth import WorldConfig, generate_world

    cfg = WorldConfig(
        num_tracks=400,
        num_playlists=700,
        num_genres=4,
        seed=11,
        clip_seconds=2.0,
        length_median=8.0,
        max_length=30,
    )
    root = generate_world(tmp_path_factory.mktemp("sparse") / "world", cfg, progress=False)
    ds = load_dataset(root)
    return ds, load_features(ds)


@pytest.fixture(scope="module")
def star():
    """:func:`graph_cases.star`: a weighted hub with known spoke probabilities."""
    return graph_cases.star()


@pytest.fixture(scope="module")
def random_graph():
    """:func:`graph_cases.random_graph`: 300 nodes, about 3,000 weighted edges."""
    return graph_cases.random_graph()

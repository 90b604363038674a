"""The bundled sample world: loads, stays small, and its cached features match re-rendered audio."""

from pathlib import Path

import numpy as np

from musig.audio import EXTRACTOR_VERSION, extract_features
from musig.data import load_dataset
from musig.synth import render_track

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_sample_world_meets_its_size_targets():
    ds = load_dataset(SAMPLE)
    assert ds.num_tracks >= 5000 and ds.num_playlists >= 10000 and len(ds.genres) >= 8
    size = sum(f.stat().st_size for f in SAMPLE.rglob("*") if f.is_file())
    assert size < 25 * 2**20


def test_random_tracks_rerender_to_their_cached_features():
    cache = np.load(SAMPLE / "cache" / f"features-{EXTRACTOR_VERSION}.npz", allow_pickle=False)
    uris, x = cache["track_uri"], cache["X"]
    rng = np.random.default_rng(2026)
    for i in rng.choice(len(uris), size=4, replace=False):
        y, sr = render_track(SAMPLE / "world.json", str(uris[i]))
        np.testing.assert_allclose(extract_features(y, sr), x[i], rtol=1e-4, atol=1e-4)

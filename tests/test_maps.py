"""2-D maps: UMAP of the embeddable rows, the sampled path for large catalogs, placements."""

import numpy as np
import pytest

from musig.maps import place_by_neighbors, umap_2d


@pytest.fixture(scope="module")
def clusters():
    """300 rows in three well-separated directions; row 5 cannot be embedded."""
    rng = np.random.default_rng(0)
    label = np.repeat(np.arange(3), 100)
    z = np.eye(3, 16)[label] * 5 + rng.normal(0, 0.3, (300, 16))
    mask = np.ones(300, bool)
    mask[5] = False
    return z.astype(np.float32), mask, label


def _separated(xy: np.ndarray, label: np.ndarray) -> bool:
    """Every point is nearer its own cluster's centre than any other's."""
    centres = np.stack([xy[label == c].mean(0) for c in range(3)])
    dist = np.linalg.norm(xy[:, None, :] - centres[None], axis=2)
    return bool((dist.argmin(1) == label).all())


def test_umap_keeps_clusters_apart_and_leaves_masked_rows_nan(clusters):
    z, mask, label = clusters
    xy = umap_2d(z, mask, random_state=0)
    assert xy.shape == (300, 2) and xy.dtype == np.float32
    assert np.isnan(xy[5]).all() and np.isfinite(xy[mask]).all()
    assert _separated(xy[mask], label[mask])
    np.testing.assert_array_equal(xy, umap_2d(z, mask, random_state=0))  # same seed, same map


def test_large_catalogs_fit_a_sample_and_place_the_rest_by_neighbours(clusters):
    z, mask, label = clusters
    xy = umap_2d(z, mask, random_state=0, fit_max=120)
    assert np.isnan(xy[5]).all() and np.isfinite(xy[mask]).all()
    assert _separated(xy[mask], label[mask])  # placed rows land in their own cluster


def test_place_by_neighbors_is_the_weighted_mean():
    map2d = np.array([[0.0, 0.0], [2.0, 0.0], [np.nan, np.nan]], np.float32)
    got = place_by_neighbors(map2d, np.array([0, 1, 2]), np.array([1.0, 3.0, 9.0]))
    np.testing.assert_allclose(got, [1.5, 0.0])  # the unmapped neighbour is ignored
    assert np.isnan(place_by_neighbors(map2d, np.array([2]), np.array([1.0]))).all()

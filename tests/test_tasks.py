"""MUSIG's tasks: what each samples and what its loss rewards."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from musig.csr import CSR
from musig.tasks import (
    AcousticTask,
    CoocTask,
    GenreTask,
    log_sampling_prob,
    log_target_prob,
    own_tracks_mask,
    sample_contexts,
    sample_pairs,
    sample_shaped_contexts,
)

# Three playlists over 6 tracks: [0 1 2], [3 4], [5] (too short to sample from).
INDPTR = np.array([0, 3, 5, 6])
TRACKS = np.array([0, 1, 2, 3, 4, 5])


def test_contexts_come_from_the_targets_playlist_never_its_position():
    rng = np.random.default_rng(0)
    target, context = sample_contexts(INDPTR, TRACKS, 2000, 3, rng)
    assert target.shape == (2000,) and context.shape == (2000, 3)
    group = np.array([0, 0, 0, 1, 1, 2])
    assert (group[context] == group[target][:, None]).all()
    assert not (target == 5).any()  # a one-track playlist has no context
    # Tracks are distinct within a playlist, so "never the target's position" = never the target.
    assert not (context == target[:, None]).any()
    # Uniform playlist, then uniform entry: P(track 3) = 1/2 * 1/2, P(track 0) = 1/2 * 1/3.
    share = np.bincount(target, minlength=6) / len(target)
    expected = np.exp(log_target_prob((INDPTR, TRACKS), 6).numpy())
    np.testing.assert_allclose(share, expected, atol=0.03)


def test_log_target_prob_by_hand():
    p = np.exp(log_target_prob((INDPTR, TRACKS), 6).numpy())
    np.testing.assert_allclose(p[:5], [1 / 6, 1 / 6, 1 / 6, 1 / 4, 1 / 4], rtol=1e-5)
    assert p[5] < 1e-9


def test_pairs_follow_edge_weights():
    g = CSR.from_edges(np.array([0, 0]), np.array([1, 2]), np.array([1.0, 3.0]), 3, symmetric=True)
    u, v = sample_pairs(g, 8000, np.random.default_rng(1))
    pairs = set(zip(np.minimum(u, v).tolist(), np.maximum(u, v).tolist(), strict=True))
    assert pairs == {(0, 1), (0, 2)}
    assert abs(np.mean(np.maximum(u, v) == 2) - 0.75) < 0.03
    # Endpoint share = weighted degree share: track 0 has 4 of the 8 units.
    np.testing.assert_allclose(np.exp(log_sampling_prob(g).numpy()), [0.5, 0.125, 0.375], rtol=1e-5)


def _cooc(context=2, logq=False):
    return CoocTask((INDPTR, TRACKS), log_target_prob((INDPTR, TRACKS), 6), context, 0.1, logq)


def test_cooc_loss_is_low_when_each_query_points_at_its_target():
    task = _cooc()
    seeds, (target, row, mask) = task.sample(np.random.default_rng(2), 8)
    assert seeds.shape == (8 + 8 * 2,) and (seeds[:8] == target).all() and mask is None
    assert row.tolist() == np.repeat(np.arange(8), 2).tolist()
    group = torch.tensor([0, 0, 0, 1, 1, 2])
    z = torch.eye(3)[group[torch.from_numpy(seeds)]]  # a track points at its playlist
    wrong = z.clone()
    wrong[:8] = torch.eye(3)[(group[torch.from_numpy(target)] + 1) % 3]  # targets elsewhere
    assert task.loss(z, (target, row, None)) < task.loss(wrong, (target, row, None)) - 1.0


def test_logq_lowers_the_loss_of_popular_negatives():
    plain, corrected = _cooc(logq=False), _cooc(logq=True)
    seeds, target = plain.sample(np.random.default_rng(3), 6)
    z = F.normalize(torch.randn(len(seeds), 8, generator=torch.Generator().manual_seed(0)), dim=-1)
    assert plain.loss(z, target).item() > 0
    assert not torch.isclose(plain.loss(z, target), corrected.loss(z, target))


def test_acoustic_and_genre_tasks_sample_what_they_score():
    g = CSR.from_edges(np.array([0, 2]), np.array([1, 3]), np.ones(2), 4, symmetric=True)
    acoustic = AcousticTask(g, log_sampling_prob(g), 0.1, True)
    seeds, (u, v) = acoustic.sample(np.random.default_rng(4), 5)
    assert (seeds == np.concatenate([u, v])).all() and len(seeds) == 10
    assert np.isfinite(acoustic.loss(F.normalize(torch.randn(10, 4), dim=-1), (u, v)).item())
    head = torch.nn.Linear(4, 2)
    genre = GenreTask(np.array([0, 1, 2]), np.array([0, 1, 1, -1]), head)
    seeds, labels = genre.sample(np.random.default_rng(5), 10)
    assert sorted(seeds) == [0, 1, 2] and (labels == np.array([0, 1, 1])[seeds]).all()
    assert genre.loss(torch.randn(3, 4), labels).item() > 0
    with pytest.raises(ValueError, match="batch_size"):
        genre.loss(torch.randn(2, 4), labels)  # one embedding per seed, or it fails loudly


def test_shaped_contexts_are_first_k_or_random_k_of_the_targets_playlist():
    rng = np.random.default_rng(7)
    # one long playlist 0..29 and one of 3 tracks
    indptr, tracks = np.array([0, 30, 33]), np.r_[np.arange(30), 100, 101, 102]
    target, context, row = sample_shaped_contexts(indptr, tracks, 400, (1, 5, 25), 0.8, rng)
    sizes = np.bincount(row, minlength=400)
    assert set(sizes) <= {1, 2, 5, 25}  # capped at length - 1 for the short playlist
    first_like = 0
    for i in range(400):
        ctx = context[row == i]
        assert target[i] not in ctx and len(set(ctx)) == len(ctx)
        same = (ctx < 100).all() == (target[i] < 100)
        assert same  # context and target from the same playlist
        if (
            target[i] < 100
            and (np.sort(ctx) == np.arange(len(ctx))).all()
            and target[i] >= len(ctx)
        ):
            first_like += 1
    assert 0.6 < first_like / (target < 100).sum() < 0.95  # about the first_share of 0.8


def test_own_tracks_mask_by_hand():
    # rows from playlists [0 1 2], [3 4], [0 1 2]; candidates with a repeat of track 1
    mask = own_tracks_mask(INDPTR, TRACKS, np.array([0, 1, 0]), np.array([1, 3, 5, 1, 4]))
    expected = [[1, 0, 0, 1, 0], [0, 1, 0, 0, 1], [1, 0, 0, 1, 0]]
    assert mask.tolist() == np.array(expected, bool).tolist()


def test_mixed_negatives_add_uniform_candidates_and_mask_the_playlists_own():
    pool = np.arange(6)
    task = CoocTask((INDPTR, TRACKS), log_target_prob((INDPTR, TRACKS), 6), 2, 0.1, True,
                    uniform=4, pool=pool, mask_own=True)  # fmt: skip
    seeds, (target, row, mask) = task.sample(np.random.default_rng(8), 6)
    assert seeds.shape == (6 + 6 * 2 + 4,) and mask.shape == (6, 6 + 4)
    group = np.array([0, 0, 0, 1, 1, 2])
    candidates = np.r_[target, seeds[-4:]]
    own = group[candidates][None, :] == group[target][:, None]
    own[np.arange(6), np.arange(6)] = False  # the positive is never masked
    assert (mask == own).all()
    z = F.normalize(torch.randn(len(seeds), 8, generator=torch.Generator().manual_seed(1)), dim=-1)
    loss = task.loss(z, (target, row, mask))
    # Masked candidates do not count: the loss equals the one with them removed by hand.
    unmasked = task.loss(z, (target, row, np.zeros_like(mask)))
    assert np.isfinite(loss.item()) and loss.item() < unmasked.item()

import math

import numpy as np
import pytest

from musig.metrics import (
    bootstrap_ci,
    clicks,
    evaluate_by_bucket,
    evaluate_rankings,
    ndcg,
    paired_bootstrap,
    pooled_recall,
    popularity_bucket,
    r_precision,
    recall_at_k,
)


def _d(i):
    """Discount of 1-based rank i."""
    return 1 / math.log2(i + 1)


# ---------------------------------------------------------------- r_precision


def test_r_precision_hand_computed():
    # G = {a, c, x}, |G| = 3 -> look at R[1:3] = [a, b, c]: hits a, c -> 2/3
    assert r_precision(["a", "b", "c", "x"], {"a", "c", "x"}) == pytest.approx(2 / 3)


def test_r_precision_all_hits_no_hits_and_short_list():
    assert r_precision(["a", "b"], ["b", "a"]) == 1.0
    assert r_precision(["p", "q", "r"], ["a", "b"]) == 0.0
    # list shorter than |G| = 4: R = [a] -> 1 hit / 4
    assert r_precision(["a"], ["a", "b", "c", "d"]) == pytest.approx(0.25)


def test_duplicated_truth_counts_once():
    # G = {a, b} (a listed twice) -> |G| = 2; R[1:2] = [a, z] -> 1/2
    assert r_precision(["a", "z", "b"], ["a", "a", "b"]) == pytest.approx(0.5)
    assert recall_at_k(["a", "z"], ["a", "a", "b"], k=2) == pytest.approx(0.5)
    # ndcg: DCG = d(1); IDCG over 2 ideal hits = d(1) + d(2)
    assert ndcg(["a", "z"], ["a", "a", "b"]) == pytest.approx(_d(1) / (_d(1) + _d(2)))


def test_empty_truth_is_nan():
    for value in (
        r_precision(["a"], []),
        ndcg(["a"], set()),
        clicks(["a"], []),
        recall_at_k(["a"], [], k=5),
    ):
        assert math.isnan(value)


def test_duplicated_ranking_raises():
    with pytest.raises(ValueError, match="repeats"):
        r_precision(["a", "b", "a"], ["a"])
    with pytest.raises(ValueError, match="repeats"):
        ndcg(np.array([3, 1, 3]), [1])
    with pytest.raises(ValueError, match="repeats"):
        clicks(["a", "a"], [])  # checked even when truth is empty


def test_bad_k_raises():
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(["a"], ["a"], k=0)


# ---------------------------------------------------------------- ndcg


def test_ndcg_hand_computed():
    # R = [x, a, y, b], G = {a, b, c}
    # DCG  = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    # IDCG = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.63093 + 0.5 = 2.13093
    # nDCG = 0.49819
    value = ndcg(["x", "a", "y", "b"], {"a", "b", "c"})
    assert value == pytest.approx((_d(2) + _d(4)) / (_d(1) + _d(2) + _d(3)))
    assert value == pytest.approx(0.49819, abs=1e-5)


def test_ndcg_all_hits_no_hits():
    assert ndcg([3, 1, 2], [1, 2, 3]) == pytest.approx(1.0)
    assert ndcg([4, 5], [1, 2, 3]) == 0.0


def test_ndcg_truth_longer_than_k():
    # k = 2, G = {a, b, c}: IDCG over min(3, 2) = 2 ideal hits = 1 + 0.63093
    # R[1:2] = [a, b] -> DCG = IDCG -> 1.0 although c is never recommended
    assert ndcg(["a", "b", "c"], ["a", "b", "c"], k=2) == pytest.approx(1.0)
    # R[1:2] = [z, a] -> DCG = 1/log2(3) = 0.63093; / 1.63093 = 0.38685
    assert ndcg(["z", "a", "b"], ["a", "b", "c"], k=2) == pytest.approx(_d(2) / (_d(1) + _d(2)))


def test_ndcg_fewer_candidates_than_k():
    # only 3 candidates, k = 500; G = {c}: DCG = 1/log2(4) = 0.5, IDCG = 1 -> 0.5
    assert ndcg(["a", "b", "c"], ["c"], k=500) == pytest.approx(0.5)
    # empty ranking with non-empty truth: nothing found
    assert ndcg([], ["c"]) == 0.0


# ---------------------------------------------------------------- clicks


def test_clicks_boundaries():
    truth = {"hit"}
    ranked = [f"t{i}" for i in range(1, 600)]

    def with_hit_at(rank):
        r = ranked.copy()
        r[rank - 1] = "hit"
        return r

    assert clicks(with_hit_at(1), truth) == 0  # (1 - 1) // 10 = 0
    assert clicks(with_hit_at(10), truth) == 0  # (10 - 1) // 10 = 0
    assert clicks(with_hit_at(11), truth) == 1  # (11 - 1) // 10 = 1
    assert clicks(with_hit_at(500), truth) == 49  # (500 - 1) // 10 = 49
    assert clicks(ranked, truth) == 51  # no hit
    assert clicks([], truth) == 51


def test_clicks_uses_first_hit():
    # hits at ranks 25 and 3 -> first is rank 3 -> 0
    r = [f"t{i}" for i in range(30)]
    r[24], r[2] = "a", "b"
    assert clicks(r, ["a", "b"]) == 0


# ---------------------------------------------------------------- recall


def test_recall_hand_computed():
    # G = {a, b, c, d}; R[1:3] = [a, x, c] -> 2/4
    assert recall_at_k(["a", "x", "c", "d"], ["a", "b", "c", "d"], k=3) == pytest.approx(0.5)
    # k beyond the list: R = [a, x, c, d] -> 3/4
    assert recall_at_k(["a", "x", "c", "d"], ["a", "b", "c", "d"], k=100) == pytest.approx(0.75)
    # |G| = 4 > k = 2, both top-2 hit -> 2/4 (not normalised by min(|G|, k))
    assert recall_at_k(["a", "b"], ["a", "b", "c", "d"], k=2) == pytest.approx(0.5)


def test_int_ids_and_numpy_arrays():
    ranked = np.array([5, 3, 9, 1], dtype=np.int64)
    # G = {3, 1}: R[1:2] = [5, 3] -> 1/2 ; first hit rank 2 -> 0 clicks
    assert r_precision(ranked, [3, 1]) == pytest.approx(0.5)
    assert clicks(ranked, np.array([1, 3])) == 0
    assert recall_at_k(ranked, [3, 1], k=4) == 1.0


# ---------------------------------------------------------------- aggregation


def test_evaluate_rankings_rows():
    rankings = {1: ["a", "b", "c"], 2: np.array(["z", "y"]), 3: ["a"]}
    truth = {1: ["a", "c"], 2: ["q"], 3: []}
    df = evaluate_rankings(rankings, truth, k=500)
    assert list(df.columns) == [
        "pid",
        "num_truth",
        "r_precision",
        "ndcg",
        "clicks",
        "recall@100",
        "recall@500",
    ]
    assert df["pid"].tolist() == [1, 2, 3]
    row1 = df.iloc[0]
    assert row1["r_precision"] == pytest.approx(0.5)  # R[1:2] = [a, b] -> 1/2
    assert row1["ndcg"] == pytest.approx((_d(1) + _d(3)) / (_d(1) + _d(2)))
    assert row1["clicks"] == 0
    assert row1["recall@100"] == 1.0
    assert df.iloc[1]["clicks"] == 51
    assert df.iloc[2][["r_precision", "ndcg", "clicks"]].isna().all()
    # mean skips the empty-truth playlist: (0.5 + 0) / 2
    assert df["r_precision"].mean() == pytest.approx(0.25)


def test_evaluate_rankings_truncates_to_k_and_requires_rankings():
    # hit at rank 3 but k = 2 -> no hit within the submission -> clicks 51, recall@2 = 0
    df = evaluate_rankings({7: ["x", "y", "a"]}, {7: ["a"]}, k=2)
    assert df.loc[0, "clicks"] == 51
    assert df.loc[0, "recall@2"] == 0.0
    with pytest.raises(ValueError, match="pid 8"):
        evaluate_rankings({7: ["a"]}, {7: ["a"], 8: ["b"]})


def test_pooled_recall():
    cold = {"c1", "c2", "c3"}
    rankings = {1: ["c1", "w", "c2"], 2: ["x", "c3"], 3: ["c1"]}
    truth = {1: ["c1", "c2", "w"], 2: ["c3", "y"], 3: ["w"]}
    # k = 2: pid 1 cold held-out {c1, c2}: hit c1 (c2 at rank 3) -> 1/2
    #        pid 2 cold held-out {c3}: hit at rank 2 -> 1/1 ; pid 3: no cold held-out
    # pooled = (1 + 1) / (2 + 1) = 2/3
    assert pooled_recall(rankings, truth, cold, k=2) == pytest.approx(2 / 3)
    assert math.isnan(pooled_recall(rankings, {3: ["w"]}, cold))


# ---------------------------------------------------------------- ranx cross-check


def test_ndcg_and_recall_match_ranx():
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(0)
    qrels, run, mine = {}, {}, {"ndcg@500": [], "recall@100": []}
    for q in range(50):
        n_cand = int(rng.integers(1, 700))  # some with fewer than 500 candidates
        ranked = rng.permutation(2000)[:n_cand]
        truth = rng.choice(2000, size=int(rng.integers(1, 150)), replace=False)
        # Make some hits likely.
        truth[: len(truth) // 2] = rng.choice(ranked, size=len(truth) // 2)
        truth = np.unique(truth)
        qid = f"q{q:03d}"  # ranx returns queries in sorted id order
        qrels[qid] = {f"d{t}": 1 for t in truth}
        run[qid] = {f"d{t}": float(len(ranked) - i) for i, t in enumerate(ranked)}
        mine["ndcg@500"].append(ndcg(ranked, truth, k=500))
        mine["recall@100"].append(recall_at_k(ranked, truth, k=100))
    scores = ranx.evaluate(
        ranx.Qrels(qrels), ranx.Run(run), ["ndcg@500", "recall@100"], return_mean=False
    )
    for metric, values in mine.items():
        np.testing.assert_allclose(values, scores[metric], rtol=1e-6, atol=1e-9)
    assert np.mean(mine["ndcg@500"]) > 0.05  # the cross-check actually saw hits


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_ci_contains_mean_and_skips_nan():
    values = np.r_[np.random.default_rng(1).random(200), np.nan]
    mean, lo, hi = bootstrap_ci(values, random_state=0)
    assert mean == pytest.approx(np.nanmean(values))
    assert lo < mean < hi
    # 95 % CI half-width ~ 1.96 * sd / sqrt(n) = 1.96 * 0.29 / 14.1 ~ 0.04
    assert 0.02 < (hi - lo) / 2 < 0.06


def test_bootstrap_ci_narrows_with_more_data_and_is_deterministic():
    rng = np.random.default_rng(2)
    small, large = rng.random(50), rng.random(5000)
    _, lo_s, hi_s = bootstrap_ci(small, random_state=0)
    _, lo_l, hi_l = bootstrap_ci(large, random_state=0)
    assert hi_l - lo_l < (hi_s - lo_s) / 3  # width ~ 1/sqrt(n): 10x the data -> ~1/10 width
    assert bootstrap_ci(small, random_state=5) == bootstrap_ci(small, random_state=5)
    assert bootstrap_ci(small, random_state=5) != bootstrap_ci(small, random_state=6)


def test_bootstrap_ci_all_nan_and_constant():
    assert all(math.isnan(v) for v in bootstrap_ci([np.nan, np.nan], random_state=0))
    assert bootstrap_ci([0.5, 0.5, 0.5], random_state=0) == (0.5, 0.5, 0.5)


def test_paired_bootstrap():
    rng = np.random.default_rng(3)
    b = rng.random(300)
    a = b + 0.1 + rng.normal(0, 0.01, 300)  # A consistently better by ~0.1
    a[0] = np.nan  # pair dropped
    diff, lo, hi, frac = paired_bootstrap(a, b, random_state=0)
    assert diff == pytest.approx(np.nanmean(a - b))
    assert lo < diff < hi and lo > 0.09
    assert frac == 0.0
    # Reversed: every resampled difference is negative -> fraction <= 0 is 1.
    assert paired_bootstrap(b, a, random_state=0)[3] == 1.0
    assert paired_bootstrap(a, b, random_state=4) == paired_bootstrap(a, b, random_state=4)
    with pytest.raises(ValueError, match="equal length"):
        paired_bootstrap(a, b[:-1])


def test_popularity_buckets_by_hand():
    got = popularity_bucket(np.array([0, 1, 5, 6, 50, 51, 10_000]))
    assert got.tolist() == ["cold", "tail", "tail", "torso", "torso", "head", "head"]


def test_metrics_by_bucket_remove_the_other_buckets_held_out_tracks():
    # Held out: a (cold), b (tail), c (head). Ranked: x c b y a.
    bucket = {"a": "cold", "b": "tail", "c": "head", "x": "torso", "y": "head"}
    frame = evaluate_by_bucket({1: ["x", "c", "b", "y", "a"]}, {1: ["a", "b", "c"]}, bucket, k=2)
    row = frame.iloc[0]
    # tail: a and c removed -> x b y: b at rank 2, inside k = 2
    assert row["tail:ndcg"] == pytest.approx(1 / np.log2(3))
    assert row["tail:recall@2"] == 1.0
    # cold: b and c removed -> x y a: a at rank 3, cut off at k = 2 for every metric
    assert row["cold:ndcg"] == 0.0 and row["cold:recall@2"] == 0.0
    assert row["cold:recall@100"] == 0.0
    # head: a and b removed -> x c y: c at rank 2
    assert row["head:recall@2"] == 1.0
    assert np.isnan(row["torso:ndcg"])  # no held-out torso track: skipped

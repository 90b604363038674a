import numpy as np
import pytest

from musig.retrieval import RetrievalConfig, Retriever

# Tracks 0-5 embedded, 6-8 not (mask False). Masked rows hold vectors that would win if they
# were (wrongly) scored, so a leak shows up as a wrong ranking.
EMB = np.array(
    [
        [1.0, 0.0],
        [0.0, 2.0],
        [3.0, 3.0],
        [-1.0, 0.0],
        [1.0, 0.2],
        [0.0, -1.0],
        [1.0, 1.0],
        [1.0, 1.0],
        [1.0, 1.0],
    ],
    np.float32,
)
MASK = np.array([True] * 6 + [False] * 3)
# Fallback order of the masked tracks: 8 (pop 5), then 6 and 7 tie at 2 -> lower id first.
POP = np.array([9, 1, 4, 4, 0, 7, 2, 2, 5], np.float64)


@pytest.fixture
def retriever() -> Retriever:
    return Retriever(EMB, MASK, POP)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_query_is_mean_of_normalised_seeds(retriever):
    q, ok = retriever.query([np.array([0, 1]), np.array([6]), np.array([], np.int64)])
    # Track 1 is (0, 2): normalising first gives the direction (1, 1), not that of the raw mean
    # (0.5, 1); the query itself has unit length so that scores are cosines.
    np.testing.assert_allclose(q[0], [0.5**0.5, 0.5**0.5], atol=1e-6)
    assert ok.tolist() == [True, False, False]
    np.testing.assert_array_equal(q[1:], 0.0)


def test_exact_cosine_ranking_then_popularity_fallback(retriever):
    ids, scores = retriever.recommend(np.array([0, 1]), k=7)
    q = np.array([0.5, 0.5])
    # Scored candidates by cosine to q: 2 (1.0), 4, 5 and 3 tie at -0.707 -> 3 first (lower id).
    assert ids.tolist() == [2, 4, 3, 5, 8, 6, 7]
    expected = [_cos(q, EMB[i]) for i in (2, 4, 3, 5)]
    np.testing.assert_allclose(scores[:4], expected, atol=1e-6)
    # Masked tracks come after every scored one, even after the negative cosines.
    assert scores[3] > scores[4]
    assert np.all(scores[4:] <= -2.0)


def test_masked_seed_is_skipped_in_the_query(retriever):
    with_masked, s1 = retriever.recommend(np.array([0, 1, 6]), k=5)
    without, s2 = retriever.recommend(np.array([0, 1]), k=6)
    assert 6 not in with_masked.tolist()
    assert with_masked.tolist() == [i for i in without.tolist() if i != 6][:5]
    np.testing.assert_allclose(s1[:4], s2[:4], atol=1e-6)


def test_seeds_never_recommended(retriever):
    ids, _ = retriever.recommend_batch([np.array([2]), np.array([0, 8]), np.array([5, 5])], k=6)
    assert 2 not in ids[0]
    assert not {0, 8} & set(ids[1].tolist())
    assert 5 not in ids[2]


@pytest.mark.parametrize("seeds", [np.array([], np.int64), np.array([6, 7])])
def test_no_usable_seed_gives_popularity_order(retriever, seeds):
    ids, scores = retriever.recommend(seeds, k=20)
    by_pop = [i for i in np.argsort(-POP, kind="stable").tolist() if i not in seeds.tolist()]
    assert ids.tolist() == by_pop
    # Ties (tracks 2, 3 at 4; 6, 7 at 2) break by the lower track id.
    assert ids.tolist().index(2) < ids.tolist().index(3)
    assert np.all(np.diff(scores) <= 0)
    assert np.all(scores <= -2.0)


def test_k_larger_than_candidates(retriever):
    ids, scores = retriever.recommend(np.array([0, 1]), k=100)
    assert len(ids) == len(scores) == len(EMB) - 2
    assert sorted(ids.tolist()) == [2, 3, 4, 5, 6, 7, 8]
    assert np.all(np.isfinite(scores))


def test_recommend_batch_equals_recommend_per_playlist():
    rng = np.random.default_rng(0)
    n = 200
    emb = rng.normal(size=(n, 8)).astype(np.float32)
    mask = rng.random(n) > 0.2
    pop = rng.integers(0, 5, n).astype(float)  # many ties
    r = Retriever(emb, mask, pop)
    seed_lists = [rng.choice(n, size=s, replace=False) for s in (0, 1, 3, 10, 2)] * 3
    ids, scores = r.recommend_batch(seed_lists, k=25, batch_size=4)
    assert ids.shape == scores.shape == (len(seed_lists), 25)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    for row, seeds in enumerate(seed_lists):
        one_ids, one_scores = r.recommend(seeds, k=25)
        np.testing.assert_array_equal(ids[row], one_ids)
        np.testing.assert_allclose(scores[row], one_scores, rtol=1e-5, atol=1e-6)
        assert np.all(np.diff(one_scores) <= 0)


def test_empty_batch():
    ids, scores = Retriever(EMB, MASK, POP).recommend_batch([], k=3)
    assert ids.shape == scores.shape == (0, 3)


def test_popularity_method_without_embeddings():
    r = Retriever(None, np.ones(len(POP), bool), POP)
    assert not r.mask.any()
    ids, _ = r.recommend(np.array([0, 1]), k=4)
    assert ids.tolist() == [5, 8, 2, 3]
    q, ok = r.query([np.array([0])])
    assert q.shape == (1, 0) and not ok.any()
    with pytest.raises(ValueError, match="track id -1"):
        r.recommend(np.array([-1]), k=3)


def test_similar_excludes_the_track_itself(retriever):
    ids, scores = retriever.similar(0, k=2)
    assert ids.tolist() == [4, 2]
    assert scores[0] == pytest.approx(_cos(EMB[0], EMB[4]), abs=1e-6)


def test_seed_ids_out_of_range_are_refused(retriever):
    with pytest.raises(ValueError, match="track id"):
        retriever.recommend(np.array([0, 9]), k=3)
    with pytest.raises(ValueError, match="track id"):
        retriever.recommend(np.array([-1]), k=3)


def test_duplicate_seeds_do_not_shrink_k(retriever):
    ids, _ = retriever.recommend(np.array([0, 0, 0]), k=100)
    assert len(ids) == len(EMB) - 1


def test_ann_recall_against_exact():
    rng = np.random.default_rng(0)
    n, k = 3000, 50
    emb = rng.normal(size=(n, 32)).astype(np.float32)
    mask = np.ones(n, bool)
    mask[::97] = False
    pop = rng.integers(0, 20, n).astype(float)
    seed_lists = [rng.choice(n, size=s, replace=False) for s in (1, 3, 5, 10) * 10]
    exact, exact_scores = Retriever(emb, mask, pop).recommend_batch(seed_lists, k)
    approx, scores = Retriever(emb, mask, pop, ann=True, random_state=0).recommend_batch(
        seed_lists, k
    )
    recall = np.mean([len(set(a) & set(e)) / k for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95
    # Both paths score by the same cosine, so a track found by both has the same score.
    for row in range(len(seed_lists)):
        exact_of = dict(zip(exact[row].tolist(), exact_scores[row].tolist(), strict=True))
        both = [j for j, i in enumerate(approx[row].tolist()) if i in exact_of]
        expect = [exact_of[i] for i in approx[row][both].tolist()]
        np.testing.assert_allclose(scores[row][both], expect, atol=1e-5)
    for seeds, row in zip(seed_lists, approx, strict=True):
        assert not set(seeds.tolist()) & set(row.tolist())
        assert mask[row].all()  # ANN candidates are all embedded tracks
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_top_k_is_the_head_of_a_stable_sort_with_many_ties():
    from musig.retrieval import top_k

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(7, 300)).astype(np.float32)  # ties everywhere
    scores[0, :10] = -np.inf
    for k in (1, 17, 299, 300):
        ids, top = top_k(scores, k)
        ref = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(ids, ref)
        np.testing.assert_array_equal(top, np.take_along_axis(scores, ref, axis=1))


def test_popularity_term_moves_popular_tracks_up():
    from musig.retrieval import RetrievalConfig

    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.0, 1.0]], np.float32)
    pop = np.array([1.0, 1.0, 500.0, 1.0])
    plain = Retriever(emb, np.ones(4, bool), pop)
    boosted = Retriever(emb, np.ones(4, bool), pop, config=RetrievalConfig(popularity_weight=0.1))
    assert plain.recommend(np.array([0]), 2)[0].tolist() == [1, 2]
    assert boosted.recommend(np.array([0]), 2)[0].tolist() == [2, 1]  # 0.1 * log(501) wins


def test_als_foldin_is_implicits_own_user_update():
    """Rendle et al.'s query: the seeds' ALS fold-in equals implicit's recalculate_user."""
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares

    from musig.retrieval import RetrievalConfig

    rng = np.random.default_rng(0)
    items = sp.csr_matrix((rng.random((40, 30)) < 0.2).astype(np.float32))
    model = AlternatingLeastSquares(
        factors=6, regularization=0.1, alpha=2.0, use_cg=False, random_state=0
    )
    model.fit(items, show_progress=False)
    y = np.asarray(model.item_factors, np.float32)
    cfg = RetrievalConfig(foldin=True, foldin_regularization=0.1, foldin_alpha=2.0)
    retriever = Retriever(y, np.ones(30, bool), np.zeros(30), config=cfg)
    seeds = np.array([3, 7, 11])
    row = sp.csr_matrix((np.ones(3, np.float32), (np.zeros(3, int), seeds)), shape=(1, 30))
    u = np.asarray(model.recalculate_user(0, row)).ravel()
    expected = y @ u
    got = retriever._foldin([seeds])[0]
    np.testing.assert_allclose(got, expected / np.abs(expected).max(), atol=1e-4)
    ids, _ = retriever.recommend(seeds, 5)
    np.testing.assert_array_equal(ids, [i for i in np.argsort(-expected) if i not in seeds][:5])


@pytest.mark.parametrize("weight", [0.0, 0.05])
def test_recommend_batch_is_the_head_of_a_stable_sort_of_every_score(weight):
    """Batched selection equals the definition: embedded tracks at cosine (+ popularity term),
    the others and seedless playlists at the popularity prior (many ties), seeds excluded."""
    from musig.retrieval import RetrievalConfig

    rng = np.random.default_rng(3)
    n, d = 400, 8
    emb = rng.standard_normal((n, d)).astype(np.float32)
    mask = rng.random(n) < 0.7
    pop = rng.integers(0, 4, n).astype(np.float64)  # few distinct counts: ties in the prior
    seed_lists = [rng.choice(n, rng.integers(0, 6), replace=False) for _ in range(30)]
    seed_lists[3] = np.flatnonzero(~mask)[:3]  # no embeddable seed
    r = Retriever(emb, mask, pop, config=RetrievalConfig(popularity_weight=weight))
    ids, scores = r.recommend_batch(seed_lists, k=120, batch_size=7)
    q, ok = r.query(seed_lists)
    for i, seeds in enumerate(seed_lists):
        ref = r.prior.copy()
        if ok[i]:
            ref[mask] = (r.unit[mask] @ q[i] + r.boost[mask]).astype(np.float32)
        ref[seeds] = -np.inf
        want = np.argsort(-ref, kind="stable")[:120]
        np.testing.assert_array_equal(ids[i], want)
        np.testing.assert_allclose(scores[i], ref[want], atol=1e-6)


def test_query_names_parse_and_print_back():
    from musig.retrieval import parse_query, query_name

    assert parse_query("cos") == RetrievalConfig()
    assert parse_query("foldin+0.01") == RetrievalConfig(popularity_weight=0.01, foldin=True)
    for text in ("cos", "cos+0.03", "foldin", "foldin+0.1"):
        assert query_name(parse_query(text)) == text
    for bad in ("dot", "cos+", "cos+-1", "cos+x"):
        with pytest.raises(ValueError, match="a query is cos or foldin"):
            parse_query(bad)

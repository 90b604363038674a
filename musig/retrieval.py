"""One query-and-scoring path for every method.

A playlist's query is the mean of its seeds' L2-normalised embeddings and candidates are scored by
cosine similarity: the mean of unit vectors is what every embedding method here was trained to make
close (co-occurring tracks end up with high cosine), it needs no per-method tuning, and it is how
the MUSIG paper queries embeddings. Seeds are never recommended. Tracks a method cannot embed, and
playlists with no embeddable seed (title-only playlists included), fall back to popularity order —
the same prior for every method, so the comparison is of representations, not of extras.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_FALLBACK = -3.0  # below any cosine: fallback candidates rank after every scored one
_SCORE_BUDGET = 1 << 25  # (playlist, track) scores held at once: the batch shrinks for big catalogs


@dataclass(frozen=True)
class RetrievalConfig:
    """How a method's embeddings are queried; chosen per method on validation (registry).

    The default is the shared rule of the module docstring. Both options are offered to every
    method alike; fold-in needs a factorisation's item factors (ALS).
    """

    # beta in  score = cos + beta * log(1 + popularity): a popularity prior inside the ranking,
    # which the RecSys'18 winners found pays on the MPD's long tail (0 = cosine only).
    popularity_weight: float = 0.0
    # Rendle et al.'s query for ALS: the playlist's vector solved from its seeds by the implicit
    # ALS normal equations, scores = item factors . that vector (instead of the mean cosine).
    foldin: bool = False
    foldin_regularization: float = 0.01  # lambda of the solve (ALS's own, set from its config)
    foldin_alpha: float = 5.0  # confidence of a seed, implicit's convention (ALS's own alpha)


def parse_query(text: str) -> RetrievalConfig:
    """``cos`` or ``foldin``, optionally ``+beta`` (the popularity weight): ``foldin+0.01``."""
    kind, plus, beta = text.partition("+")
    try:
        weight = float(beta) if plus else 0.0
    except ValueError:
        weight = -1.0
    if kind not in ("cos", "foldin") or weight < 0:
        raise ValueError(f"a query is cos or foldin, optionally +BETA >= 0; got {text!r}")
    return RetrievalConfig(popularity_weight=weight, foldin=kind == "foldin")


def query_name(config: RetrievalConfig) -> str:
    """The :func:`parse_query` text of ``config`` (``cos+0.03``)."""
    kind = "foldin" if config.foldin else "cos"
    return f"{kind}+{config.popularity_weight:g}" if config.popularity_weight else kind


class Retriever:
    """Top-k recommendation over one method's embeddings.

    Args:
        embeddings: float32 (N, D) or None for recommend-only methods (popularity).
        mask: bool (N,) rows that are real embeddings.
        popularity: float (N,) training playlist counts; the shared fallback order.
        ann: use a voyager HNSW index instead of exact search (large catalogs).
        config: the method's query settings (:class:`RetrievalConfig`).
    """

    def __init__(
        self,
        embeddings: np.ndarray | None,
        mask: np.ndarray,
        popularity: np.ndarray,
        *,
        ann: bool = False,
        random_state: int = 0,
        config: RetrievalConfig = RetrievalConfig(),
    ):
        n = len(popularity)
        self.num_tracks = n
        self.config = config
        self.mask = np.asarray(mask, bool) if embeddings is not None else np.zeros(n, bool)
        pop = np.asarray(popularity, np.float64)
        # Popularity prior mapped into [-3, -2]; ties broken by track index through a stable sort.
        self.prior = (_FALLBACK + pop / max(pop.max(), 1.0)).astype(np.float32)
        self.boost = (config.popularity_weight * np.log1p(pop)).astype(np.float32)
        self.factors = None
        if config.foldin and embeddings is not None:
            if ann:
                raise ValueError("fold-in scores every track: it cannot use the approximate index")
            self.factors = np.where(self.mask[:, None], embeddings, 0).astype(np.float32)
            self.gram = self.factors.T.astype(np.float64) @ self.factors  # (D, D) Y^T Y
        self.unit = None
        if embeddings is not None:
            norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
            self.unit = (embeddings / np.maximum(norms, 1e-12)).astype(np.float32)
            self.unit[~self.mask] = 0.0
        self._prior_order = None  # argsort of the prior, made on first use
        self.index = None
        if ann and self.unit is not None:
            from voyager import Index, Space

            self.index = Index(
                Space.Cosine, num_dimensions=self.unit.shape[1], random_seed=random_state
            )
            ids = np.flatnonzero(self.mask)
            self.index.add_items(self.unit[ids], ids=ids.tolist())

    def query(
        self, seed_lists: Sequence[np.ndarray], extra: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Query vectors of playlists.

        Args:
            seed_lists: per playlist, int64 ids of its catalog seeds.
            extra: float (P, D) optional embedding of one more seed per playlist that is not in
                the catalog (an uploaded track); averaged in like the others once normalised.

        Returns:
            q float32 (P, D) mean of normalised seed embeddings, scaled to unit length so that
            ``q @ unit.T`` is the cosine (as the ANN index computes it); zero where no seed is
            embeddable or the seeds cancel out;
            ok bool (P,) the playlist has an embeddable seed.
        """
        p = len(seed_lists)
        if self.unit is None:
            return np.zeros((p, 0), np.float32), np.zeros(p, bool)
        q = np.zeros((p, self.unit.shape[1]), np.float32)
        ok = np.zeros(p, bool)
        for i, seeds in enumerate(seed_lists):
            seeds = self._check_ids(seeds)
            rows = self.unit[seeds[self.mask[seeds]]]
            if extra is not None:
                vec = np.asarray(extra[i], np.float32)
                rows = np.vstack([rows, vec / max(float(np.linalg.norm(vec)), 1e-12)])
            if len(rows):
                q[i] = rows.mean(0)
                ok[i] = True
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        return q, ok

    def _check_ids(self, seeds) -> np.ndarray:
        """Seeds as int64; negative ids would silently index from the end, so refuse them."""
        seeds = np.asarray(seeds, np.int64).reshape(-1)
        if len(seeds) and (seeds.min() < 0 or seeds.max() >= self.num_tracks):
            bad = seeds[(seeds < 0) | (seeds >= self.num_tracks)][0]
            raise ValueError(
                f"seed track id {bad} is outside the track index 0..{self.num_tracks - 1}"
            )
        return seeds

    def recommend_batch(
        self,
        seed_lists: Sequence[np.ndarray],
        k: int = 500,
        *,
        extra: np.ndarray | None = None,
        batch_size: int = 256,
        pids: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Recommend for many playlists.

        Args:
            seed_lists: per playlist, int64 track ids of its seeds (may be empty).
            extra: float (P, D) optional out-of-catalog seed embedding per playlist (see query).
            pids: the playlists' ids, part of the rankers' shared interface: embeddings rank
                from the seeds alone and ignore them; the oracle's ranker
                (:class:`musig.oracle.OracleRanker`) reads nothing else.
            k: recommendations per playlist (capped at the number of non-seed tracks).
        Returns:
            ids int64 (P, k) best first, scores float32 (P, k). Fallback picks score -2 or less.
        """
        seed_lists = [self._check_ids(s) for s in seed_lists]
        q, ok = self.query(seed_lists, extra)
        # Fixed-width output: k is capped so that the playlist with most (distinct) seeds
        # still has k candidates; no row can then contain an excluded seed.
        most_seeds = max((len(np.unique(s)) for s in seed_lists), default=0)
        k = min(k, self.num_tracks - most_seeds)
        batch_size = max(1, min(batch_size, _SCORE_BUDGET // max(self.num_tracks, 1)))
        ids = np.zeros((len(seed_lists), k), np.int64)
        top = np.zeros((len(seed_lists), k), np.float32)
        for start in range(0, len(seed_lists), batch_size):
            stop = min(start + batch_size, len(seed_lists))
            rows = start + np.flatnonzero(ok[start:stop])
            if self.index is not None:
                for r in rows:
                    ids[r], top[r] = self._ann_row(q[r], seed_lists[r], k)
            elif len(rows):
                ids[rows], top[rows] = self._exact_rows(q[rows], [seed_lists[r] for r in rows], k)
        for r in np.flatnonzero(~ok):  # no embeddable seed: the shared popularity order
            ids[r] = self._by_prior(seed_lists[r], k)
            top[r] = self.prior[ids[r]]
        return ids, top

    def _exact_rows(self, q: np.ndarray, seed_lists: list, k: int) -> tuple[np.ndarray, ...]:
        """Exact top-k of playlists with an embeddable seed: every embedded track scored, the
        others at their popularity prior, the seeds excluded."""
        if self.factors is not None:
            scores = self._foldin(seed_lists)
        else:
            scores = q @ self.unit.T  # (P, N)
        if self.config.popularity_weight:
            scores += self.boost
        if not self.mask.all():
            np.copyto(scores, self.prior, where=~self.mask)
        for j, seeds in enumerate(seed_lists):
            scores[j, seeds] = -np.inf  # seeds are never recommended
        return top_k(scores, k)

    def _by_prior(self, exclude: np.ndarray, k: int) -> np.ndarray:
        """The first ``k`` tracks of the popularity order (ties: lower id) not in ``exclude``."""
        if self._prior_order is None:
            self._prior_order = np.argsort(-self.prior, kind="stable")
        head = self._prior_order[: k + len(exclude)]
        return head[~np.isin(head, exclude)][:k]

    def recommend(
        self, seeds: np.ndarray, k: int = 10, *, extra: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Recommend for one playlist: ids int64 (k,), scores float32 (k,).

        ``extra`` float (D,): an out-of-catalog seed's embedding (an upload), averaged in.
        """
        extra = None if extra is None else np.asarray(extra)[None, :]
        ids, scores = self.recommend_batch([np.asarray(seeds, np.int64)], k, extra=extra)
        return ids[0], scores[0]

    def similar(self, track: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Nearest tracks to one track in embedding space (cosine), itself excluded."""
        return self.recommend(np.array([track]), k)

    def _foldin(self, seed_lists: Sequence[np.ndarray]) -> np.ndarray:
        """float32 (P, N) scores of Rendle et al.'s ALS query, scaled into [-1, 1] per playlist.

        Per playlist u = (Y^T Y + (alpha - 1) Y_S^T Y_S + lambda I)^-1 alpha Y_S^T 1: implicit's
        ALS user update (its convention: an observed pair has confidence alpha, an unobserved one
        1) with the seeds S observed once each. Scaling by the largest |score| keeps the order and
        every score above the shared popularity fallback.
        """
        cfg, y = self.config, self.factors
        eye = cfg.foldin_regularization * np.eye(y.shape[1])
        u = np.zeros((len(seed_lists), y.shape[1]))
        for i, seeds in enumerate(seed_lists):
            ys = y[seeds[self.mask[seeds]]].astype(np.float64)  # (S, D)
            a = self.gram + (cfg.foldin_alpha - 1) * ys.T @ ys + eye
            u[i] = np.linalg.solve(a, cfg.foldin_alpha * ys.sum(0))
        s = (u.astype(np.float32) @ y.T).astype(np.float32)  # (P, N)
        return s / np.maximum(np.abs(s).max(axis=1, keepdims=True), 1e-12)

    def _ann_row(self, q: np.ndarray, seeds: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
        """Top-k of one playlist from the approximate index; below the candidates it finds,
        the popularity order."""
        want = min(k + len(seeds), len(self.index))
        # voyager's default search depth (ef=10, raised only to k) finds ~90 % of the true
        # top-50 on 32-d data; a deeper search costs little and gets ~99 %.
        found, dist = self.index.query(q, k=want, query_ef=max(4 * want, 200))
        found = np.asarray(found, np.int64)
        score = 1.0 - np.asarray(dist, np.float32) + self.boost[found]
        keep = ~np.isin(found, seeds)
        found, score = found[keep], score[keep]
        best = np.lexsort((found, -score))[:k]
        found, score = found[best], score[best]
        if len(found) < k:
            rest = self._by_prior(np.concatenate([seeds, found]), k - len(found))
            found, score = np.concatenate([found, rest]), np.concatenate([score, self.prior[rest]])
        return found, score


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k, best first, ties broken by the lower track id (which matters for the
    popularity fallback, where many tracks share a count) — the first k of a stable sort.

    torch's ``topk`` selects in linear time on every core; only the k selected are then sorted.
    Which of several tracks tied at the k-th score it keeps is unspecified, so it selects k + 1:
    rows whose (k+1)-th score equals the k-th (rare among cosines) are selected again by
    :func:`_top_k_ties`. A full sort of every
    row costs N log N per playlist: minutes for a 10,000-playlist challenge over the MPD's 2.26M
    tracks.
    """
    b, n = scores.shape
    if k >= n:
        ids = np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)
        return ids, np.take_along_axis(scores, ids, axis=1).astype(np.float32)
    import torch

    t = torch.from_numpy(np.ascontiguousarray(scores))
    values, cols = torch.topk(t, k + 1, dim=1)
    tied = (values[:, k] == values[:, k - 1]).numpy()
    ids, top = cols[:, :k].numpy(), values[:, :k].numpy()
    by_id = np.argsort(ids, axis=1)  # then stably by score: equal scores stay in id order
    ids, top = np.take_along_axis(ids, by_id, 1), np.take_along_axis(top, by_id, 1)
    order = np.argsort(-top, axis=1, kind="stable")
    ids, top = np.take_along_axis(ids, order, 1), np.take_along_axis(top, order, 1)
    if tied.any():
        ids[tied] = _top_k_ties(scores[tied], k)
        top[tied] = np.take_along_axis(scores[tied], ids[tied], axis=1)
    return ids.astype(np.int64), top.astype(np.float32)


def _top_k_ties(scores: np.ndarray, k: int) -> np.ndarray:
    """int64 (b, k) the first k ids of a stable sort by descending score, in linear time per row:
    the k-th best value by partition, every id above it, then the lowest-id ties."""
    b = len(scores)
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # (b, 1) k-th best value
    above = scores > kth
    tied = scores == kth
    need = k - above.sum(axis=1, keepdims=True)  # ties to take, lowest ids first
    take = above | (tied & (np.cumsum(tied, axis=1, dtype=np.int32) <= need))
    cols = np.nonzero(take)[1].reshape(b, k)  # ascending ids within each row
    order = np.argsort(-np.take_along_axis(scores, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1).astype(np.int64)

"""Skip-gram with negative sampling over sequences of track indices (item2vec, DeepWalk, node2vec).

Determinism: gensim's Word2Vec is reproducible only with ``workers=1`` and a fixed ``seed``. In
gensim 4 the initial vectors come from ``seed`` (not from ``hash(word)``), so ``PYTHONHASHSEED``
does not matter; we still pass a stable ``hashfxn`` so that nothing depends on Python's salted
string hash. More workers are faster but make the result depend on thread scheduling.
"""

from __future__ import annotations

import dataclasses
import time
import zlib
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from musig.fitting import FitLog


@dataclass(frozen=True)
class SkipGramParams:
    """The skip-gram settings shared by every sequence baseline."""

    vector_size: int
    window: int
    epochs: int
    negative: int
    ns_exponent: float
    sample: float
    alpha: float
    min_alpha: float
    shrink_windows: bool
    workers: int

    @classmethod
    def from_config(cls, cfg, **overrides) -> SkipGramParams:
        """The same-named fields of a method's config (item2vec, node2vec), with overrides."""
        values = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)}
        return cls(**{**values, **overrides})


def _stable_hash(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


class _ShuffledCorpus:
    """Re-iterable corpus that yields the sequences in a fresh seeded order on every pass.

    gensim does not shuffle between epochs; iterating once per epoch in a new order avoids the
    learning-rate schedule always reaching the same sequences last.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, tokens: list[str], seed: int):
        self.indptr = indptr
        self.indices = indices
        self.tokens = tokens
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __iter__(self):
        tokens, indptr, indices = self.tokens, self.indptr, self.indices
        for j in self.rng.permutation(len(self)):
            yield [tokens[i] for i in indices[indptr[j] : indptr[j + 1]].tolist()]


def train_skipgram(
    indptr: np.ndarray,
    indices: np.ndarray,
    num_tracks: int,
    params: SkipGramParams,
    *,
    seed: int,
    log: FitLog,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Fit skip-gram embeddings for the tracks that have at least one context in the sequences.

    Args:
        indptr: int64 (S+1,) CSR offsets of the S sequences (playlists or walks).
        indices: int64 (nnz,) track indices in [0, num_tracks), sequence by sequence.
        num_tracks: N, the size of the track index.
        params: skip-gram settings.
        seed: seed for gensim and for the per-epoch corpus order.
        progress: show a progress bar over epochs.
        log: the fit's log; one record per epoch is added (``loss`` is gensim's summed
            negative-sampling loss over that epoch).

    Returns:
        ``(embeddings, mask)``: float32 (N, vector_size) with zero rows for masked tracks, bool
        (N,) True for tracks in at least one sequence of length >= 2.
    """
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    # A track seen only in one-track sequences never gets a gradient: leave it out (masked).
    lengths = np.diff(indptr)
    counts = np.bincount(indices[np.repeat(lengths >= 2, lengths)], minlength=num_tracks)
    mask = counts > 0
    embeddings = np.zeros((num_tracks, params.vector_size), dtype=np.float32)
    if not mask.any():
        return embeddings, mask

    tokens = [str(i) for i in range(num_tracks)]
    rng = np.random.default_rng(seed)
    model = Word2Vec(
        vector_size=params.vector_size,
        window=params.window,
        min_count=1,
        sg=1,
        hs=0,
        negative=params.negative,
        ns_exponent=params.ns_exponent,
        sample=params.sample,
        alpha=params.alpha,
        min_alpha=params.min_alpha,
        shrink_windows=params.shrink_windows,
        workers=params.workers,
        seed=int(rng.integers(2**31 - 1)),
        hashfxn=_stable_hash,
    )
    # Vocabulary from counts in track-index order, so it does not depend on corpus order.
    model.build_vocab_from_freq(
        {tokens[i]: int(counts[i]) for i in np.flatnonzero(mask)}, corpus_count=len(indptr) - 1
    )
    corpus = _ShuffledCorpus(indptr, indices, tokens, seed=int(rng.integers(2**31 - 1)))

    bar = tqdm(total=params.epochs, disable=not progress, desc="skip-gram")

    class _EpochLog(CallbackAny2Vec):
        # gensim's loss is cumulative over the train() call; per-epoch loss is the difference.
        def __init__(self) -> None:
            self.prev_loss, self.epoch = 0.0, 0
            self.t0 = time.perf_counter()

        def on_epoch_end(self, m) -> None:
            total = float(m.get_latest_training_loss())
            now = time.perf_counter()
            self.epoch += 1
            record = {
                "epoch": self.epoch,
                "loss": total - self.prev_loss,
                "seconds": now - self.t0,
            }
            log.add(record)
            self.prev_loss, self.t0 = total, now
            bar.update(1)

    try:
        model.train(
            corpus,
            total_examples=len(corpus),
            epochs=params.epochs,
            compute_loss=True,
            callbacks=[_EpochLog()],
        )
    finally:
        bar.close()

    rows = np.fromiter((int(k) for k in model.wv.index_to_key), dtype=np.int64)
    embeddings[rows] = model.wv.vectors
    return embeddings, mask

"""Complete a playlist seeded with library files, from the catalog, the library or both.

The query is musig's one retrieval rule (:class:`musig.retrieval.Retriever`): the mean of the
L2-normalised seed embeddings, candidates ranked by cosine, seeds excluded. Catalog tracks the
run cannot embed are no candidates; nothing falls back to popularity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from musig.library.embed import LibraryEmbeddings, check_can_embed
from musig.library.playlists import EXPORT_COLUMNS
from musig.library.store import Library
from musig.retrieval import Retriever

SOURCES = ("catalog", "library", "both")


def complete(
    lib: Library,
    run,
    emb: LibraryEmbeddings,
    seeds: Sequence[str | Path],
    k: int = 20,
    source: str = "both",
) -> pd.DataFrame:
    """The ``k`` tracks that best continue a playlist of library files.

    Args:
        lib: the library; ``emb``: its embeddings in ``run`` (:func:`embed_library`).
        run: a loaded run that can embed audio (``run.can_embed_audio``).
        seeds: library files (absolute, relative to the working folder or to the library root).
        k: tracks to return (fewer when there are fewer candidates).
        source: candidates from the run's ``"catalog"``, the ``"library"`` or ``"both"``.

    Returns:
        DataFrame, best first, with :data:`musig.library.playlists.EXPORT_COLUMNS` and ``score``
        (cosine to the query); ``location`` is the absolute file path of a library track and
        the URI of a catalog track.

    Raises:
        ValueError: unknown source, no seeds, a seed not in the library, or a run that
            cannot embed library files.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if not seeds:
        raise ValueError("give at least one seed file")
    check_can_embed(run)
    seed_ids = len(run.track_uris) + np.unique([lib.locate(s) for s in seeds])
    return export_rows(lib, run, *complete_ids(run, emb, seed_ids, k, source))


def export_rows(lib: Library | None, run, ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """A completion as a table to export: :data:`~musig.library.playlists.EXPORT_COLUMNS` and
    ``score``, one row per joint id (see :func:`complete_ids`), in the given order."""
    n_cat = len(run.track_uris)
    out = pd.DataFrame([_row(lib, run, int(i), n_cat) for i in ids], columns=EXPORT_COLUMNS[1:])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["score"] = np.asarray(scores, np.float32)
    return out


def complete_ids(
    run,
    emb: LibraryEmbeddings | None,
    seeds: np.ndarray,
    k: int = 20,
    source: str = "both",
    extra: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Complete a playlist over a run's catalog and a library, tracks given by joint id.

    Joint ids number the run's N catalog tracks 0..N-1 and the library's M tracks N..N+M-1
    (rows of ``Library.tracks``, as ``emb`` is aligned). Catalog seeds and catalog candidates
    only is the run's own retrieval (:meth:`Retriever.recommend`, with its popularity fallback,
    as evaluated); anything that involves the library needs the run to embed library tracks,
    and nothing then falls back to popularity.

    Args:
        run: a loaded run; emb: the library in its space (None: no library, or a run that
            cannot embed it).
        seeds: int64 (S,) joint ids.
        k: tracks to return (fewer when there are fewer candidates).
        source: candidates from the ``"catalog"``, the ``"library"`` or ``"both"``.
        extra: float (D,) one more seed outside both (an upload's embedding in the run).
    Returns:
        ids int64 (<= k,) joint ids, best first (seeds excluded); scores float32 (<= k,).
    Raises:
        ValueError: unknown source, or the library is involved and the run cannot embed it.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    n_cat = len(run.track_uris)
    seeds = np.unique(np.asarray(seeds, np.int64))
    if source == "catalog" and (seeds < n_cat).all():
        return run.retriever.recommend(seeds, k, extra=extra)
    check_can_embed(run)
    if emb is None:
        raise ValueError("no library embeddings given for a completion that involves the library")
    n_lib = len(emb.Z)
    Z = np.vstack([np.asarray(run.embeddings, np.float32), emb.Z.reshape(n_lib, -1)])
    mask = np.zeros(n_cat + n_lib, bool)
    if source in ("catalog", "both"):
        mask[:n_cat] = run.mask
    if source in ("library", "both"):
        mask[n_cat:] = True
    mask[seeds] = True  # seeds make the query; Retriever never returns them
    retriever = Retriever(Z, mask, np.zeros(n_cat + n_lib, np.float32))
    ids, scores = retriever.recommend(seeds, k=n_cat + n_lib - len(seeds), extra=extra)
    keep = mask[ids] & (scores >= -1.0 - 1e-6)  # drop the (zero-popularity) fallback ranks
    return ids[keep][:k], scores[keep][:k].astype(np.float32)


def _row(lib: Library | None, run, i: int, n_cat: int) -> list:
    """``source, location, title, artist, album, genre, seconds`` of candidate ``i``."""
    if i >= n_cat:
        t = lib.tracks.iloc[i - n_cat]
        return ["library", str(lib.abspath(t["path"])), t["title"], t["artist"], t["album"],
                t["genre"], float(t["duration_s"])]  # fmt: skip
    t = run.tracks.iloc[i]
    ms = pd.to_numeric(t.get("duration_ms", ""), errors="coerce")
    return ["catalog", t["track_uri"], t.get("track_name", ""), t.get("artist_name", ""), "",
            t.get("genre", ""), float(ms) / 1000 if ms == ms else float("nan")]  # fmt: skip

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
    seed_rows = np.unique([lib.locate(s) for s in seeds])
    n_cat, n_lib = len(run.track_uris), len(lib.tracks)
    Z = np.vstack([np.asarray(run.embeddings, np.float32), emb.Z])  # (N + M, D)
    mask = np.zeros(n_cat + n_lib, bool)
    if source in ("catalog", "both"):
        mask[:n_cat] = run.mask
    if source in ("library", "both"):
        mask[n_cat:] = True
    mask[n_cat + seed_rows] = True  # seeds make the query; Retriever never returns them
    retriever = Retriever(Z, mask, np.zeros(n_cat + n_lib, np.float32))
    ids, scores = retriever.recommend(n_cat + seed_rows, k=n_cat + n_lib)
    keep = mask[ids] & (scores >= -1.0 - 1e-6)  # drop the (zero-popularity) fallback ranks
    ids, scores = ids[keep][:k], scores[keep][:k]
    out = pd.DataFrame([_row(lib, run, int(i), n_cat) for i in ids], columns=EXPORT_COLUMNS[1:])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["score"] = scores.astype(np.float32)
    return out


def _row(lib: Library, run, i: int, n_cat: int) -> list:
    """``source, location, title, artist, album, genre, seconds`` of candidate ``i``."""
    if i >= n_cat:
        t = lib.tracks.iloc[i - n_cat]
        return ["library", str(lib.abspath(t["path"])), t["title"], t["artist"], t["album"],
                t["genre"], float(t["duration_s"])]  # fmt: skip
    t = run.tracks.iloc[i]
    ms = pd.to_numeric(t.get("duration_ms", ""), errors="coerce")
    return ["catalog", t["track_uri"], t.get("track_name", ""), t.get("artist_name", ""), "",
            t.get("genre", ""), float(ms) / 1000 if ms == ms else float("nan")]  # fmt: skip

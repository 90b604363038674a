"""Playlist completion for a challenge set, written in the RecSys Challenge 2018 format."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from musig.utils import atomic_write_text


def complete_challenge(run, challenge, k: int = 500, *, warn: bool = True) -> dict[int, list[str]]:
    """Recommend ``k`` tracks per challenge playlist with one run.

    Seeds unknown to the run's catalog are ignored (counted in a warning); seeds that are catalog
    tracks in no training playlist are used where the method can embed them. A playlist with no
    usable seed (title only) gets the popularity fallback every method shares.

    Args:
        warn: warn about unknown seeds (evaluation, whose split ensures there are none, does not).

    Returns:
        pid -> list of ``k`` track URIs, seeds excluded, best first.
    """
    seed_lists, unknown = [], 0
    for pl in challenge:
        ids = run.indices(pl.seed_uris, strict=False)
        unknown += len(pl.seed_uris) - len(ids)
        seed_lists.append(ids)
    if unknown and warn:
        warnings.warn(
            f"{unknown} seed track(s) are not in the run's catalog and were ignored", stacklevel=2
        )
    pids = [pl.pid for pl in challenge]
    ids, _ = run.retriever.recommend_batch(seed_lists, k, pids=pids)
    uris = np.asarray(run.track_uris, dtype=object)
    return {pl.pid: uris[row].tolist() for pl, row in zip(challenge, ids, strict=True)}


def write_submission(
    run,
    challenge,
    out: str | Path,
    *,
    team: str,
    email: str,
    k: int = 500,
    recs: dict[int, list[str]] | None = None,
) -> int:
    """Write ``team_info,TEAM,EMAIL`` then ``pid, uri x k`` per playlist; returns the row count.

    Args:
        recs: the completions when already computed (e.g. split over processes); computed here
            otherwise. Rows follow ``challenge``'s order either way.
    """
    if "," in team or "," in email:
        raise ValueError("team name and email may not contain commas")
    recs = complete_challenge(run, challenge, k) if recs is None else recs
    buf = io.StringIO()
    buf.write(f"team_info,{team},{email}\n")
    for pl in challenge:
        buf.write(f"{pl.pid}, " + ", ".join(recs[pl.pid]) + "\n")
    atomic_write_text(out, buf.getvalue())
    return len(recs)

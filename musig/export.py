"""Export a run's embeddings: Parquet, or TSV for the TensorFlow Embedding Projector."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from musig.utils import atomic_dir, atomic_write_bytes


def embedding_frame(run) -> pd.DataFrame:
    """Track metadata plus one ``e<i>`` column per dimension, for the tracks the run embeds."""
    if run.embeddings is None:
        raise ValueError(f"method {run.method!r} has no embeddings to export")
    rows = np.flatnonzero(run.mask)
    meta = run.tracks.iloc[rows].reset_index(drop=True)
    vec = pd.DataFrame(
        run.embeddings[rows], columns=[f"e{i}" for i in range(run.embeddings.shape[1])]
    )
    return pd.concat([meta, vec], axis=1)


def export_run(run, out: str | Path, fmt: str) -> Path:
    """Write ``out`` (a .parquet file, or a folder with vectors.tsv + metadata.tsv)."""
    out = Path(out)
    frame = embedding_frame(run)
    vec_cols = [c for c in frame.columns if c.startswith("e") and c[1:].isdigit()]
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        atomic_write_bytes(out, buf.getvalue())
    elif fmt == "tsv":
        with atomic_dir(out) as tmp:
            np.savetxt(tmp / "vectors.tsv", frame[vec_cols].to_numpy(), delimiter="\t", fmt="%.6f")
            frame.drop(columns=vec_cols).to_csv(tmp / "metadata.tsv", sep="\t", index=False)
    else:
        raise ValueError(f"unknown export format {fmt!r}; choose parquet or tsv")
    return out

"""Export a run's embeddings: Parquet, or TSV for the TensorFlow Embedding Projector."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from musig.utils import atomic_dir, atomic_write_bytes, atomic_write_text

_TSV_FILES = {"vectors.tsv", "metadata.tsv"}


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
        if out.is_dir():
            raise ValueError(f"{out}: is a folder; give a .parquet file name")
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        atomic_write_bytes(out, buf.getvalue())
    elif fmt == "tsv":
        if out.is_file() or (out.is_dir() and {p.name for p in out.iterdir()} - _TSV_FILES):
            raise ValueError(f"{out}: exists and is not a TSV export; refusing to replace it")
        with atomic_dir(out) as tmp:
            np.savetxt(tmp / "vectors.tsv", frame[vec_cols].to_numpy(), delimiter="\t", fmt="%.6f")
            atomic_write_text(tmp / "metadata.tsv", _metadata_tsv(frame.drop(columns=vec_cols)))
    else:
        raise ValueError(f"unknown export format {fmt!r}; choose parquet or tsv")
    return out


def _metadata_tsv(meta: pd.DataFrame) -> str:
    """Header plus one line per vector. The Projector splits on tabs and newlines and does not
    unquote, so those characters become spaces instead of CSV quoting (which shifts rows)."""
    clean = meta.astype(str).replace(r"[\t\r\n]+", " ", regex=True)
    lines = ["\t".join(clean.columns)] + ["\t".join(row) for row in clean.itertuples(index=False)]
    return "\n".join(lines) + "\n"

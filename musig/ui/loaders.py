"""Cached loaders shared by the pages: the split, runs, track tables, features, audio, and your
music library with its embeddings in each run.

Heavy read-only objects (datasets, runs, libraries, feature matrices) live in
``st.cache_resource`` and are never mutated; frames in ``st.cache_data``.
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from musig import workspace as wsp
from musig.data import Dataset


@st.cache_resource(show_spinner="Loading the split…")
def split_dataset(path: str, mtime: float, _loaded: Dataset | None = None) -> Dataset:
    """The split at ``path``; ``_loaded`` is it already parsed (by the first start)."""
    from musig.data import load_dataset

    return _loaded if _loaded is not None else load_dataset(path)


def split_key(ws: wsp.Workspace) -> tuple[str, float]:
    path = ws.split_dir
    return str(path), (path / "challenge_truth.json").stat().st_mtime


def split(ws: wsp.Workspace) -> Dataset:
    return split_dataset(*split_key(ws))


def keep_split(ws: wsp.Workspace, ds: Dataset) -> None:
    """Cache ``ds``, the split of ``ws`` the first start has just loaded, as the pages' split."""
    split_dataset(*split_key(ws), ds)


@st.cache_resource(show_spinner="Loading run…", max_entries=16)
def load_run(path: str, mtime: float, _ds: Dataset):
    """A run checked against the split (ValueError for a run of another dataset)."""
    from musig.runs import load_run as _load

    return _load(path, _ds)


def run(info: wsp.RunSummary, ds: Dataset):
    return load_run(str(info.path), info.mtime, ds)


@st.cache_data(show_spinner=False, max_entries=4)
def track_frame(path: str, mtime: float, libdir: str = "", stamp: float = 0.0) -> pd.DataFrame:
    """Display table of the split's tracks (training popularity, cold = in no training playlist)
    followed by the library's (joint ids; see :func:`musig.workspace.views.joint_table`)."""
    mine = wsp.library_table(library_at(libdir, stamp)) if libdir else None
    return wsp.joint_table(wsp.track_table(split_dataset(path, mtime)), mine)


def library_key(lib) -> tuple[str, float]:
    return ("", 0.0) if lib is None else (str(lib.libdir), library_stamp(lib.libdir))


def tracks(ws: wsp.Workspace, lib=None) -> pd.DataFrame:
    """The track table: catalog tracks (ids 0..N-1), then ``lib``'s tracks if given."""
    return track_frame(*split_key(ws), *library_key(lib))


@st.cache_resource(show_spinner="Loading audio features…")
def features(path: str, _ds: Dataset):
    from musig.features import load_features

    return load_features(_ds)


@st.cache_resource(show_spinner=False)
def incidence(path: str, _ds: Dataset):
    return wsp.track_playlists(_ds)


def _warmup() -> None:
    import musig.inference  # noqa: F401  (torch and the encoder code: seconds on a cold start)
    from musig.audio import warmup

    warmup()


@st.cache_resource(show_spinner=False)
def warm_audio() -> threading.Thread:
    """Import torch and compile the audio extractor (numba) in the background, once per
    process, so the first upload answers in well under a second instead of several."""
    thread = threading.Thread(target=_warmup, daemon=True, name="musig-warmup")
    thread.start()
    return thread


@st.cache_data(show_spinner=False, max_entries=256)
def track_wav(root: str, track_uri: str, audio: str) -> bytes | None:
    """WAV bytes of a catalog track (re-rendered for synthetic worlds), or None."""
    import soundfile as sf

    got = wsp.track_audio(root, track_uri, audio)
    if got is None or isinstance(got, Path):
        return None if got is None else got.read_bytes()
    buf = io.BytesIO()
    sf.write(buf, got[0], got[1], format="WAV", subtype="PCM_16")
    return buf.getvalue()


def play(ds: Dataset, track: int, lib=None) -> None:
    """Audio player for track ``track`` (joint id: catalog, then ``lib``'s files)."""
    if track >= ds.num_tracks:
        path = lib.abspath(lib.tracks["path"].iloc[track - ds.num_tracks])
        st.audio(path.read_bytes(), format=f"audio/{path.suffix.lstrip('.')}")
        return
    row = ds.tracks.iloc[track]
    wav = track_wav(str(ds.root), row["track_uri"], row["audio"])
    if wav is None:
        st.caption("No audio for this track.")
    else:
        st.audio(wav, format="audio/wav")


@st.cache_data(show_spinner="Embedding the upload…", max_entries=32)
def embed_upload(data: bytes, filename: str, run_keys: tuple, _ds: Dataset) -> tuple[dict, list]:
    """Run name -> AudioEmbedding of an uploaded file, for runs given as (path, mtime) pairs,
    and the decoder's notes on it (truncated, clipped, ...: kept with the cached result).

    The features are extracted once and shared by every run. Raises ValueError for a bad file.
    """
    from musig.audio import AudioWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AudioWarning)
        raw = wsp.upload_features(data, filename)
    notes = [str(w.message) for w in caught if issubclass(w.category, AudioWarning)]
    embs = {
        Path(path).name: load_run(path, mtime, _ds).embed_features(raw[None, :])[0]
        for path, mtime in run_keys
    }
    return embs, notes


# --- your music library ----------------------------------------------------------------------


def library_stamp(libdir: str | Path) -> float:
    """Cache key of a library folder: changes with every scan."""
    file = Path(libdir) / "files.parquet"
    return file.stat().st_mtime if file.is_file() else 0.0


@st.cache_resource(show_spinner=False, max_entries=4)
def library_at(libdir: str, stamp: float):
    from musig.library import open_library

    return open_library(libdir)


def library(ws: wsp.Workspace):
    """The music library of this session (opened on the Library page, or the last one opened
    in this workspace), or None."""
    from musig.library import default_libdir

    root = st.session_state.get("library_root") or wsp.remembered_library(ws)
    if root is None:
        return None
    libdir = default_libdir(root)
    try:
        return library_at(str(libdir), library_stamp(libdir))
    except ValueError:
        return None  # not scanned (yet), or scanned by another extractor


@st.cache_resource(show_spinner="Placing your library in this run's space…", max_entries=16)
def _library_embeddings(libdir: str, stamp: float, path: str, mtime: float, _ds: Dataset):
    from musig.library import embed_library

    return embed_library(library_at(libdir, stamp), load_run(path, mtime, _ds), path)


def library_embeddings(lib, info: wsp.RunSummary, ds: Dataset):
    """``lib`` in the run's space (computed once per run, cached in the library), or None when
    there is no library or the run cannot embed files outside its catalog."""
    if lib is None or not info.embeds_uploads or not run(info, ds).can_embed_audio:
        return None
    return _library_embeddings(*library_key(lib), str(info.path), info.mtime, ds)


def joint_map(lib, info: wsp.RunSummary, ds: Dataset) -> np.ndarray | None:
    """float32 (N + M, 2) map positions of catalog and library tracks (None: no map)."""
    r = run(info, ds)
    if r.map2d is None:
        return None
    emb = library_embeddings(lib, info, ds)
    n_lib = 0 if lib is None else len(lib.tracks)
    return wsp.joint_map(r.map2d, None if emb is None else emb.map_xy, n_lib)


@st.cache_data(show_spinner="Looking into the encoder…", max_entries=64)
def explain(path: str, mtime: float, seeds: tuple[int, ...], candidate: int, _ds: Dataset):
    """(Neighbourhood, attribution, saved score) of one completion of a run with an encoder
    (:func:`musig.explain.explain_run`); ValueError for a run without one."""
    from musig.explain import explain_run

    run = load_run(path, mtime, _ds)
    nb, got = explain_run(run, np.asarray(seeds, np.int64), candidate)
    stored = float(run.retriever.unit[candidate] @ run.retriever.query([list(seeds)])[0][0])
    return nb, got, stored

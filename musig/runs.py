"""Run folders: a trained method as files — written atomically, versioned, loaded safely.

Layout of RUN/:
    run.json            format version, method, config, seed, resolved graph settings,
                        provenance, feature scaling, timings
    arrays.safetensors  embeddings (N, D), mask (N,), popularity (N,), map2d (N, 2) and, for
                        methods that embed audio, scaled catalog features and the graph
    model.safetensors   weights (MUSIG); never pickled
    tracks.csv          the track index (track_uri, track_name, artist_name, genre)
    log.jsonl           training log, one record per line
    metrics.json        held-out diagnostics and evaluation results
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from musig._version import __version__
from musig.retrieval import RetrievalConfig, Retriever
from musig.utils import atomic_dir, atomic_write_bytes, atomic_write_json, fingerprint

RUN_FORMAT = "musig-run"
TRACK_TABLE = "encoder.track_emb.weight"  # stored in float16 (see musig.pipeline.run_contents)
# 2: seed, resolved graph settings and the graph's store key beside the config; no graph arrays
RUN_FORMAT_VERSION = 2
_PACKAGES = (
    "musig",
    "torch",
    "torch-geometric",
    "numpy",
    "librosa",
    "implicit",
    "gensim",
    "umap-learn",
    "voyager",
)


def track_index_fingerprint(track_uris) -> str:
    return fingerprint(np.asarray(list(track_uris), dtype=str))


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    version = __version__
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        if sha.returncode == 0:
            version += f"+{sha.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return version


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@dataclass
class RunContents:
    """What a run folder holds before it is written: a fit plus what is needed to reuse it."""

    method: str
    config: dict  # the method's resolved config as plain values
    seed: int
    graph: dict | None  # resolved graph settings (relations + GraphConfig); None: no graph
    graph_key: str | None  # the graph in the dataset's graph store (musig.graph_store)
    tracks: pd.DataFrame  # track_uri, track_name, artist_name, genre — the track index
    dataset_fingerprint: str
    split: dict | None
    arrays: dict[str, np.ndarray]
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    features: dict = field(default_factory=dict)  # source, names, extractor_version, scaler
    log: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    dataset_root: str | None = None  # where the dataset was: the graph can be rebuilt from it


def save_run(path: str | Path, rec: RunContents) -> Path:
    """Write a run folder atomically (a crash leaves the old run or none, never half of one).

    An existing run at ``path`` is replaced; any other existing file or non-empty folder is
    refused, so a mistyped ``--out`` (the dataset folder, say) is never deleted.
    """
    path = Path(path)
    if path.is_file() or (
        path.is_dir() and not (path / "run.json").is_file() and any(path.iterdir())
    ):
        raise ValueError(f"{path}: exists and is not a musig run; refusing to replace it")
    meta = {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "method": rec.method,
        "config": rec.config,
        "seed": rec.seed,
        "graph": rec.graph,
        "graph_key": rec.graph_key,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "num_tracks": len(rec.tracks),
        "train_seconds": rec.train_seconds,
        "features": rec.features,
        "provenance": {
            "dataset_fingerprint": rec.dataset_fingerprint,
            "dataset_root": rec.dataset_root,
            "track_index_fingerprint": track_index_fingerprint(rec.tracks["track_uri"]),
            "split": rec.split,
            "code_version": code_version(),
            "packages": package_versions(),
        },
    }
    with atomic_dir(path) as tmp:
        (tmp / "arrays.safetensors").write_bytes(st_save(_contiguous(rec.arrays)))
        if rec.weights:
            (tmp / "model.safetensors").write_bytes(st_save(_contiguous(rec.weights)))
        rec.tracks.to_csv(tmp / "tracks.csv", index=False)
        (tmp / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rec.log))
        (tmp / "metrics.json").write_text(json.dumps(rec.metrics, indent=2) + "\n")
        (tmp / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def draw_map(path: str | Path) -> int:
    """Draw (or draw again) the 2-D map of a saved run, for runs trained with ``--no-map``:
    :func:`musig.maps.umap_2d` of its embeddings with the run's seed, written into its arrays
    atomically. Returns the number of tracks placed."""
    from musig.maps import umap_2d

    meta, arrays = read_run_meta(path), read_arrays(path)
    if "embeddings" not in arrays:
        raise ValueError(f"{path}: a {meta['method']} run has no embeddings to map")
    mask = arrays["mask"].astype(bool)
    arrays["map2d"] = umap_2d(arrays["embeddings"], mask, random_state=int(meta.get("seed", 0)))
    atomic_write_bytes(Path(path) / "arrays.safetensors", st_save(_contiguous(arrays)))
    return int(np.isfinite(arrays["map2d"]).all(axis=1).sum())


def _contiguous(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(v) for k, v in arrays.items()}


def read_run_meta(path: str | Path) -> dict:
    """run.json of a run folder, with its format checked."""
    path = Path(path)
    meta_path = path / "run.json"
    if not meta_path.is_file():
        raise ValueError(f"{path}: not a musig run (no run.json)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{meta_path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
        raise ValueError(f"{meta_path}: not a musig run file")
    if meta.get("format_version") != RUN_FORMAT_VERSION:
        raise ValueError(
            f"{path}: run format version {meta.get('format_version')} is not supported by this "
            f"musig (reads version {RUN_FORMAT_VERSION}); retrain with `python -m musig train`"
        )
    return meta


def read_arrays(path: str | Path, name: str = "arrays.safetensors") -> dict[str, np.ndarray]:
    """Load a safetensors file (no pickle is ever involved); a damaged one is a ValueError."""
    file = Path(path) / name
    if not file.is_file():
        return {}
    try:
        return st_load(file.read_bytes())
    except Exception as e:  # SafetensorError (not a ValueError) or a pickle's bytes
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{file}: not a readable safetensors file ({why})") from None


def _check_arrays(path: Path, arrays: dict[str, np.ndarray], n: int, weights: Path) -> None:
    """Refuse a run whose arrays do not fit its track index or hold NaN: every answer from it
    would be wrong without a word."""
    for key in ("mask", "popularity"):
        if key not in arrays:
            raise ValueError(f"{path / 'arrays.safetensors'}: no {key!r} array")
    for key, arr in arrays.items():
        if key in ("embeddings", "mask", "popularity", "map2d") and len(arr) != n:
            raise ValueError(
                f"{path / 'arrays.safetensors'}: {key} has {len(arr)} rows but the run has "
                f"{n} tracks (tracks.csv)"
            )
    emb = arrays.get("embeddings")
    if emb is not None and not np.isfinite(emb[arrays["mask"].astype(bool)]).all():
        raise ValueError(f"{path / 'arrays.safetensors'}: embeddings has NaN or infinite values")
    # The weights are read here as well as by the encoder: a model that would embed every
    # upload as NaN is refused when the run is opened, not on the first upload.
    for key, arr in read_arrays(path, weights.name).items():
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            raise ValueError(f"{weights}: {key} has NaN or infinite values")


def write_metrics(path: str | Path, metrics: dict) -> None:
    """Merge ``metrics`` into a run's metrics.json (evaluation results added after training)."""
    file = Path(path) / "metrics.json"
    current = json.loads(file.read_text()) if file.is_file() else {}
    current.update(metrics)
    atomic_write_json(file, current)


def read_log(path: str | Path) -> pd.DataFrame:
    file = Path(path) / "log.jsonl"
    if not file.is_file() or not file.stat().st_size:
        return pd.DataFrame()
    return pd.read_json(io.StringIO(file.read_text()), lines=True)


def check_compatible(meta: dict, dataset_fp: str, track_uris) -> None:
    """Refuse a run trained on another dataset or split, with a message saying which."""
    prov = meta["provenance"]
    if prov["track_index_fingerprint"] != track_index_fingerprint(track_uris):
        raise ValueError(
            "this run was trained on a different track index "
            f"(run {prov['track_index_fingerprint']}, dataset "
            f"{track_index_fingerprint(track_uris)}): train it on this dataset"
        )
    if prov["dataset_fingerprint"] != dataset_fp:
        raise ValueError(
            f"this run was trained on another dataset or split (fingerprint "
            f"{prov['dataset_fingerprint']}, this one is {dataset_fp}): train it on this dataset"
        )


class Run:
    """A trained method loaded from its run folder: embeddings, recommendations, uploads.

    Args:
        path: the run folder.
        ann: rank with an approximate (voyager HNSW) index instead of exact search; for large
            catalogs, where exact scoring of every track per query is what costs.
    """

    def __init__(
        self, path: str | Path, *, ann: bool = False, retrieval: RetrievalConfig | None = None
    ):
        self.path = Path(path)
        self.meta = read_run_meta(self.path)
        self.method: str = self.meta["method"]
        self.config: dict = self.meta["config"]
        self.seed: int = int(self.meta["seed"])
        self.ann = ann
        self._retrieval = retrieval
        try:
            self.tracks = pd.read_csv(self.path / "tracks.csv", dtype=str, keep_default_na=False)
        except (OSError, ValueError) as e:  # missing, empty or not CSV
            raise ValueError(
                f"{self.path / 'tracks.csv'}: cannot read the track index ({e})"
            ) from e
        if "track_uri" not in self.tracks.columns:
            raise ValueError(f"{self.path / 'tracks.csv'}: missing column 'track_uri'")
        self.track_uris: list[str] = self.tracks["track_uri"].tolist()
        self._uri_index = {u: i for i, u in enumerate(self.track_uris)}
        self.arrays = read_arrays(self.path)
        _check_arrays(self.path, self.arrays, len(self.tracks), self.path / "model.safetensors")
        self.mask: np.ndarray = self.arrays["mask"].astype(bool)
        self.popularity: np.ndarray = self.arrays["popularity"]
        self.embeddings: np.ndarray | None = self.arrays.get("embeddings")
        if self.embeddings is not None and self.embeddings.dtype != np.float32:
            self.embeddings = self.embeddings.astype(np.float32)  # shipped runs keep float16
        self.map2d: np.ndarray | None = self.arrays.get("map2d")
        # Where the data is: the oracle's ranker reads the world's hidden truth there.
        self.dataset_root: str | None = self.meta["provenance"].get("dataset_root")

    def __repr__(self) -> str:
        return f"Run({self.path.name!r}, method={self.method!r}, tracks={len(self.track_uris)})"

    @property
    def name(self) -> str:
        return self.path.name

    def check_dataset(self, dataset) -> None:
        """Raise ValueError if this run was trained on another dataset or split."""
        check_compatible(self.meta, dataset.fingerprint, dataset.tracks["track_uri"])

    @functools.cached_property
    def retriever(self) -> Retriever:
        """Queries this run's embeddings with its method's retrieval settings (registry), or
        the ones it was loaded with; a method with its own ranker (``oracle``) gets that."""
        from musig.methods import get

        method = get(self.method)
        if method.ranker:
            return importlib.import_module(method.ranker).ranker(self)
        cfg = method.retrieval_config(method.config(self.config), self._retrieval)
        return Retriever(
            self.embeddings,
            self.mask,
            self.popularity,
            ann=self.ann,
            random_state=self.seed,
            config=cfg,
        )

    def indices(self, uris, *, strict: bool = True) -> np.ndarray:
        """Track ids of URIs; unknown URIs raise (strict) or are dropped."""
        unknown = [u for u in uris if u not in self._uri_index]
        if unknown and strict:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise ValueError(f"{len(unknown)} track URI(s) not in this run's catalog: {shown}")
        return np.array([self._uri_index[u] for u in uris if u in self._uri_index], np.int64)

    def recommend(self, seed_track_uris, k: int = 10) -> tuple[list[str], np.ndarray]:
        """Complete a playlist: ``k`` track URIs (seeds excluded) and their scores (float32)."""
        ids, scores = self.retriever.recommend(self.indices(list(seed_track_uris)), k)
        return [self.track_uris[i] for i in ids], scores

    def similar(self, track_uri: str, k: int = 10) -> tuple[list[str], np.ndarray]:
        """Nearest tracks to one track in the run's embedding space (cosine)."""
        return self.recommend([track_uri], k)

    def read_weights(self) -> dict[str, np.ndarray]:
        """The model's weights (model.safetensors; empty for methods without a model)."""
        return read_arrays(self.path, "model.safetensors")

    # --- inductive embedding of new audio: musig.inference -----------------------------------
    @functools.cached_property
    def _encoder(self):
        from musig.inference import RunEncoder

        return RunEncoder(self)

    @property
    def can_embed_audio(self) -> bool:
        """Whether this run embeds new audio files (its method's registry entry says so, and
        the features of musig's audio extractor were saved with it)."""
        from musig.inference import can_embed_audio

        return can_embed_audio(self)

    def encoder_parts(self):
        """The trained encoder with its graph and inputs (:class:`musig.inference.EncoderParts`),
        or None for methods without one."""
        return self._encoder.parts()

    def embed_features(self, raw: np.ndarray, k: int = 10):
        """Embed tracks given their unscaled feature vectors float32 (M, F); see
        :meth:`musig.inference.RunEncoder.embed_features`."""
        return self._encoder.embed_features(raw, k)

    def embed_audio(self, path: str | Path, k: int = 10):
        """Embed an audio file not in the catalog, without retraining (inductive)."""
        return self._encoder.embed_audio(path, k)


def load_run(
    path: str | Path, dataset=None, *, ann: bool = False, retrieval: RetrievalConfig | None = None
) -> Run:
    """Load a run folder; with ``dataset``, refuse a run trained on another dataset or split.

    Args:
        ann: rank with an approximate index.
        retrieval: query settings instead of the method's (tuning them on validation).
    """
    run = Run(path, ann=ann, retrieval=retrieval)
    if dataset is not None:
        run.check_dataset(dataset)
        run.dataset_root = str(dataset.root)
    return run

"""A loaded run: embeddings, recommendations and inductive embedding of new audio."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from musig.audio import EXTRACTOR_VERSION, extract_file
from musig.features import FeatureScaler
from musig.graph import TrackGraph
from musig.inductive import (
    NodeInputs,
    attach_new_nodes,
    content_neighbors,
    embed_nodes,
    torch_threads,
)
from musig.maps import place_by_neighbors
from musig.methods import config_from_dict
from musig.retrieval import Retriever
from musig.runs import check_compatible, read_arrays, read_run_meta
from musig.train import MusigConfig, build_encoder


@dataclass(frozen=True)
class AudioEmbedding:
    """An uploaded track placed in a run's space.

    Attributes:
        embedding: float32 (D,) in the run's embedding space.
        neighbor_uris / scores: nearest catalog tracks (cosine), best first.
        map_xy: float32 (2,) position on the run's 2-D map (NaN without a map).
        acoustic_similarity: cosine of the closest catalog track in scaled audio-feature space.
        far_from_catalog: True when that similarity is below what 99 % of catalog tracks have to
            their own nearest neighbour — the upload sounds like nothing in the catalog.
    """

    embedding: np.ndarray
    neighbor_uris: list[str]
    scores: np.ndarray
    map_xy: np.ndarray
    acoustic_similarity: float
    far_from_catalog: bool


class Run:
    """A trained method loaded from its run folder (see :mod:`musig.runs`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.meta = read_run_meta(self.path)
        self.method: str = self.meta["method"]
        self.config: dict = self.meta["config"]
        self.tracks = pd.read_csv(self.path / "tracks.csv", dtype=str, keep_default_na=False)
        self.track_uris: list[str] = self.tracks["track_uri"].tolist()
        self._uri_index = {u: i for i, u in enumerate(self.track_uris)}
        arrays = read_arrays(self.path)
        self.arrays = arrays
        self.mask: np.ndarray = arrays["mask"].astype(bool)
        self.popularity: np.ndarray = arrays["popularity"]
        self.embeddings: np.ndarray | None = arrays.get("embeddings")
        self.map2d: np.ndarray | None = arrays.get("map2d")

    def __repr__(self) -> str:
        return f"Run({self.path.name!r}, method={self.method!r}, tracks={len(self.track_uris)})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def can_embed_audio(self) -> bool:
        """Audio-extractor features were saved and the method reads them (not a no-audio MUSIG)."""
        return (
            "features" in self.arrays
            and self.meta["features"].get("source") == "audio"
            and self.config.get("use_audio", True)
        )

    def check_dataset(self, dataset) -> None:
        """Raise ValueError if this run was trained on another dataset or split."""
        check_compatible(self.meta, dataset.fingerprint, dataset.tracks["track_uri"])

    @functools.cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.embeddings, self.mask, self.popularity)

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

    # --- inductive embedding of new audio -------------------------------------------------------
    def _require_audio(self) -> None:
        if self.meta["features"].get("source") == "table":
            raise ValueError(
                f"run {self.name!r} was trained on content features from a table "
                "(features.csv/parquet), not on musig's audio extractor: it cannot embed audio "
                "files"
            )
        if not self.can_embed_audio:
            raise ValueError(
                f"method {self.method!r} cannot embed new audio; use a musig, sage or content run"
            )
        version = self.meta["features"].get("extractor_version")
        if version != EXTRACTOR_VERSION:  # its scaler and weights read another feature space
            raise ValueError(
                f"run {self.name!r} was trained on audio features of extractor {version}; this "
                f"musig extracts {EXTRACTOR_VERSION}, so new audio would land in the wrong place: "
                "retrain the run"
            )

    @functools.cached_property
    def _scaler(self) -> FeatureScaler:
        return FeatureScaler.from_dict(self.meta["features"]["scaler"])

    @functools.cached_property
    def _inputs(self) -> NodeInputs:
        has_id = self.popularity > 0
        return NodeInputs(self.arrays["features"], self.arrays["feature_mask"].astype(bool), has_id)

    @functools.cached_property
    def _catalog_nn_floor(self) -> float:
        """1st percentile of catalog tracks' similarity to their nearest acoustic neighbour."""
        x, has_x = self._inputs.x, self._inputs.has_x
        rows = np.flatnonzero(has_x)
        sample = rows[:: max(1, len(rows) // 1000)]
        _, sim = content_neighbors(x, has_x, x[sample], 2)
        return float(np.percentile(sim[:, 1], 1))  # column 0 is the track itself

    @functools.cached_property
    def _encoder(self):
        cfg = config_from_dict(MusigConfig, self.config)
        model = build_encoder(
            cfg,
            self._inputs.x.shape[1],
            len(self.track_uris),
            tuple(r for r in cfg.relations if r in self._graph.relations),
        )
        weights = read_arrays(self.path, "model.safetensors")
        state = {
            k.removeprefix("encoder."): torch.from_numpy(v)
            for k, v in weights.items()
            if k.startswith("encoder.")
        }
        model.load_state_dict(state)
        model.eval()
        return model, cfg

    @functools.cached_property
    def _graph(self) -> TrackGraph:
        return TrackGraph.from_arrays(
            {k.removeprefix("graph."): v for k, v in self.arrays.items() if k.startswith("graph.")}
        )

    def embed_features(self, raw: np.ndarray, k: int = 10) -> list[AudioEmbedding]:
        """Embed tracks given their unscaled feature vectors float32 (M, F).

        Each track is attached to the graph on its own, so one upload's embedding does not
        depend on which others are embedded with it.
        """
        self._require_audio()
        x_new = self._scaler.transform(np.atleast_2d(raw).astype(np.float32))
        _, acoustic_sim = content_neighbors(self._inputs.x, self._inputs.has_x, x_new, 1)
        return [
            self._place(self._embed_one(x[None, :]), float(sim[0]), k)
            for x, sim in zip(x_new, acoustic_sim, strict=True)
        ]

    def _embed_one(self, x_new: np.ndarray) -> np.ndarray:
        """float32 (D,) embedding of one new track from its scaled features (1, F)."""
        if self.method == "content":
            return x_new[0]
        model, cfg = self._encoder
        graph, inputs, new_ids = attach_new_nodes(
            self._graph, self._inputs, x_new, cfg.graph.content_k
        )
        rel = {r: g for r, g in graph.relations.items() if r in cfg.relations}
        fanouts = {r: list(cfg.fanouts) for r in rel}
        with torch_threads(cfg.num_threads):
            return embed_nodes(model, rel, inputs, new_ids, fanouts, random_state=cfg.seed)[0]

    def _place(self, z: np.ndarray, acoustic_similarity: float, k: int) -> AudioEmbedding:
        """Nearest catalog tracks and map position of an embedding."""
        scores = self.retriever.unit @ (z / max(float(np.linalg.norm(z)), 1e-12))
        scores[~self.mask] = -np.inf
        top = np.argsort(-scores, kind="stable")[:k]
        xy = (
            place_by_neighbors(self.map2d, top, scores[top])
            if self.map2d is not None
            else np.full(2, np.nan, np.float32)
        )
        return AudioEmbedding(
            embedding=z.astype(np.float32),
            neighbor_uris=[self.track_uris[j] for j in top],
            scores=scores[top].astype(np.float32),
            map_xy=xy,
            acoustic_similarity=acoustic_similarity,
            far_from_catalog=acoustic_similarity < self._catalog_nn_floor,
        )

    def embed_audio(self, path: str | Path, k: int = 10) -> AudioEmbedding:
        """Embed an audio file not in the catalog, without retraining (inductive)."""
        self._require_audio()
        return self.embed_features(extract_file(path)[None, :], k)[0]


def load_run(path: str | Path, dataset=None) -> Run:
    """Load a run folder; with ``dataset``, refuse a run trained on another dataset or split."""
    run = Run(path)
    if dataset is not None:
        run.check_dataset(dataset)
    return run

"""New audio in a saved run's space, without retraining (inductive inference).

A run that embeds uploads keeps its scaled catalog features (and, for an encoder, the graph and
weights). A new track is attached to the graph by its acoustic nearest neighbours only — it has
no playlists — and embedded by the same forward as every catalog track. A run without encoder
weights (the content baseline) embeds a track as its scaled features.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from musig.audio import EXTRACTOR_VERSION, extract_file
from musig.data import artist_ids, load_dataset
from musig.features import FeatureScaler, load_features
from musig.fitting import config_from_dict
from musig.graph import GraphConfig, TrackGraph
from musig.graph_store import cached_graph, graph_dir, load_graph
from musig.inductive import (
    NodeInputs,
    attach_new_nodes,
    content_neighbors,
    embed_nodes,
    torch_threads,
)
from musig.maps import place_by_neighbors
from musig.methods import get
from musig.train import build_encoder

if TYPE_CHECKING:
    from musig.runs import Run


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


def can_embed_audio(run: Run) -> bool:
    """The run's method embeds uploads with this config, and it kept features of musig's audio
    extractor (not of a features table, which new audio cannot be turned into) — in the run, or
    to be rebuilt from its dataset (``features.in_run: false``, as shipped runs have it)."""
    method = get(run.method)
    kept = "features" in run.arrays or run.meta["features"].get("in_run") is False
    return (
        method.embeds_uploads(method.config(run.config))
        and kept
        and run.meta["features"].get("source") == "audio"
    )


@dataclass(frozen=True)
class EncoderParts:
    """What a run's encoder reads to embed its tracks (for explanations, :mod:`musig.explain`).

    Attributes:
        model: the trained encoder (eval mode; never trained further).
        relations: relation -> CSR the encoder aggregates over (the run's graph).
        inputs: per-track inputs (scaled features, which tracks have a learnable vector).
        fanouts: relation -> neighbours sampled per layer, as in training.
        num_threads: torch threads the run was trained with.
    """

    model: torch.nn.Module
    relations: dict
    inputs: NodeInputs
    fanouts: dict[str, list[int]]
    num_threads: int


class RunEncoder:
    """Embeds new tracks with one loaded run (see the module docstring)."""

    def __init__(self, run: Run):
        self.run = run

    def _require_audio(self) -> None:
        if self.run.meta["features"].get("source") == "table":
            raise ValueError(
                f"run {self.run.name!r} was trained on content features from a table "
                "(features.csv/parquet), not on musig's audio extractor: it cannot embed audio "
                "files"
            )
        if not can_embed_audio(self.run):
            raise ValueError(
                f"method {self.run.method!r} cannot embed new audio; use a run of a method that "
                "embeds uploads (musig, sage or content)"
            )
        version = self.run.meta["features"].get("extractor_version")
        if version != EXTRACTOR_VERSION:  # its scaler and weights read another feature space
            raise ValueError(
                f"run {self.run.name!r} was trained on audio features of extractor {version}; this "
                f"musig extracts {EXTRACTOR_VERSION}, so new audio would land in the wrong place: "
                "retrain the run"
            )

    @functools.cached_property
    def _scaler(self) -> FeatureScaler:
        return FeatureScaler.from_dict(self.run.meta["features"]["scaler"])

    @functools.cached_property
    def _inputs(self) -> NodeInputs:
        arrays = self.run.arrays
        has_id = self.run.popularity > 0
        cfg = get(self.run.method).config(self.run.config)
        use_artist = getattr(cfg, "use_artist", False)  # content runs have no artist table
        artist = artist_ids(self.run.tracks["artist_name"]) if use_artist else None
        if "features" in arrays:
            x, mask = arrays["features"], arrays["feature_mask"].astype(bool)
            return NodeInputs(x, mask, has_id, artist)
        # Not kept in the run: the dataset's features scaled with the run's own scaler, which
        # gives the very matrix training read (the scaler is the one fitted on it).
        feats = load_features(self._dataset)
        x = self._scaler.transform(feats.raw, feats.mask)
        return NodeInputs(x, feats.mask, has_id, artist)

    @functools.cached_property
    def _dataset(self):
        """The run's dataset, from where it was trained (``provenance.dataset_root``)."""
        root = self.run.meta["provenance"].get("dataset_root")
        if not root or not Path(root).is_dir():
            raise ValueError(
                f"run {self.run.name!r} embeds new audio through its dataset's graph and "
                f"features, and the dataset is not at {root!r}; put it back there"
            )
        dataset = load_dataset(root)
        self.run.check_dataset(dataset)
        return dataset

    @functools.cached_property
    def _catalog_nn_floor(self) -> float:
        """1st percentile of catalog tracks' similarity to their nearest acoustic neighbour."""
        x, has_x = self._inputs.x, self._inputs.has_x
        rows = np.flatnonzero(has_x)
        sample = rows[:: max(1, len(rows) // 1000)]
        _, sim = content_neighbors(x, has_x, x[sample], 2)
        return float(np.percentile(sim[:, 1], 1))  # column 0 is the track itself

    @functools.cached_property
    def _graph(self) -> TrackGraph:
        """The run's graph from its dataset's graph store, rebuilt from the dataset if the
        store lost it (the features are the run's own, so the key is the same)."""
        meta = self.run.meta
        prov, desc = meta["provenance"], dict(meta["graph"])
        folder = graph_dir(prov["dataset_fingerprint"], meta["graph_key"])
        if (folder / "graph.json").is_file():
            return load_graph(folder)
        relations = tuple(desc.pop("relations"))
        graph, _ = cached_graph(
            self._dataset, self._inputs.x, self._inputs.has_x, GraphConfig(**desc), relations
        )
        return graph

    @functools.cached_property
    def _encoder(self):
        """(model, config) rebuilt from the run's config and weights; None without weights."""
        weights = self.run.read_weights()
        if not weights:
            return None
        cfg = config_from_dict(get(self.run.method).config_class, self.run.config)
        artist = self._inputs.artist
        model = build_encoder(
            cfg,
            self._inputs.x.shape[1],
            len(self.run.track_uris),
            tuple(r for r in cfg.relations if r in self._graph.relations),
            0 if artist is None else int(artist.max(initial=-1)) + 1,
        )
        prefix = "encoder."
        state = {
            k.removeprefix(prefix): torch.from_numpy(v.astype(np.float32))
            for k, v in weights.items()
            if k.startswith(prefix)
        }
        model.load_state_dict(state)
        model.eval()
        return model, cfg

    def parts(self) -> EncoderParts | None:
        """The encoder with its graph and inputs; None for a run without encoder weights."""
        if self._encoder is None:
            return None
        model, cfg = self._encoder
        rel = {r: g for r, g in self._graph.relations.items() if r in cfg.relations}
        fanouts = {r: list(cfg.fanouts) for r in rel}
        return EncoderParts(model, rel, self._inputs, fanouts, cfg.num_threads)

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
        if self._encoder is None:
            return x_new[0]
        model, cfg = self._encoder
        graph, inputs, new_ids = attach_new_nodes(
            self._graph, self._inputs, x_new, cfg.graph.acoustic_k
        )
        rel = {r: g for r, g in graph.relations.items() if r in cfg.relations}
        fanouts = {r: list(cfg.fanouts) for r in rel}
        with torch_threads(cfg.num_threads):
            return embed_nodes(model, rel, inputs, new_ids, fanouts, random_state=self.run.seed)[0]

    def _place(self, z: np.ndarray, acoustic_similarity: float, k: int) -> AudioEmbedding:
        """Nearest catalog tracks and map position of an embedding."""
        run = self.run
        scores = run.retriever.unit @ (z / max(float(np.linalg.norm(z)), 1e-12))
        scores[~run.mask] = -np.inf
        top = np.argsort(-scores, kind="stable")[:k]
        xy = (
            place_by_neighbors(run.map2d, top, scores[top])
            if run.map2d is not None
            else np.full(2, np.nan, np.float32)
        )
        return AudioEmbedding(
            embedding=z.astype(np.float32),
            neighbor_uris=[run.track_uris[j] for j in top],
            scores=scores[top].astype(np.float32),
            map_xy=xy,
            acoustic_similarity=acoustic_similarity,
            far_from_catalog=acoustic_similarity < self._catalog_nn_floor,
        )

    def embed_audio(self, path: str | Path, k: int = 10) -> AudioEmbedding:
        """Embed an audio file not in the catalog, without retraining (inductive)."""
        self._require_audio()
        return self.embed_features(extract_file(path)[None, :], k)[0]

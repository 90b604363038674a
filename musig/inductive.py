"""Embedding tracks with a trained encoder, in mini-batches through the neighbour sampler.

The same path embeds catalog tracks, cold catalog tracks (no playlist edges) and uploaded audio
(attached to the graph by its acoustic nearest neighbours): nothing is retrained.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from musig.csr import CSR
from musig.graph import TrackGraph
from musig.model import MusigEncoder
from musig.sampling import Subgraph, cumulative_weights
from musig.seeded_sampling import sample_layered


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` intra-op threads, restoring the previous setting after.

    Mini-batches here are small sparse products: on 2 cores one thread is several times faster
    than two, and far faster when other processes compete for the cores.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class NodeInputs:
    """Per-track inputs of the encoder, aligned to the track index.

    Attributes:
        x: float32 (N, F) scaled content features (zeros where missing).
        has_x: bool (N,) content features present.
        has_id: bool (N,) track has playlist history, so its learnable vector is used.
        artist: int64 (N,) artist id (`musig.data.artist_ids`), -1 unknown; None: no artist input.
    """

    x: np.ndarray
    has_x: np.ndarray
    has_id: np.ndarray
    artist: np.ndarray | None = None

    @property
    def num_nodes(self) -> int:
        return len(self.has_x)


def encode_subgraph(
    model: MusigEncoder,
    inputs: NodeInputs,
    sub: Subgraph,
    drop_id: np.ndarray | None = None,
) -> torch.Tensor:
    """Run the encoder on a sampled subgraph and return the seeds' embeddings.

    Args:
        drop_id: bool (len(sub.n_id),) local nodes whose per-track vector is withheld.
    Returns:
        float (len(seeds), out_channels)
    """
    n_id = torch.from_numpy(sub.n_id)
    has_id = inputs.has_id[sub.n_id]
    # Tracks added after training (uploads) have ids past the table: they never use it.
    has_id = has_id & (sub.n_id < _table_size(model))
    if drop_id is not None:
        has_id = has_id & ~drop_id
    x = torch.from_numpy(inputs.x[sub.n_id])
    h = model.input(
        x,
        torch.from_numpy(inputs.has_x[sub.n_id]),
        n_id.clamp(max=max(_table_size(model) - 1, 0)),
        torch.from_numpy(has_id),
        None if inputs.artist is None else torch.from_numpy(inputs.artist[sub.n_id]),
    )
    edge_index = {r: torch.from_numpy(ei) for r, ei in sub.edge_index.items()}
    z = model(h, edge_index, sub.hop_ptr)  # rows: the unique seeds
    return z[torch.from_numpy(sub.seed_local)]


def _table_size(model: MusigEncoder) -> int:
    return model.track_emb.num_embeddings if model.track_emb is not None else 0


@torch.no_grad()
def embed_nodes(
    model: MusigEncoder,
    relations: dict[str, CSR],
    inputs: NodeInputs,
    nodes: np.ndarray,
    fanouts: dict[str, list[int]],
    *,
    batch_size: int = 2048,
    random_state: int = 0,
    cum_weights: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Embed ``nodes`` in mini-batches; memory grows with the batch and fan-outs, not the graph.

    Each node's neighbourhood is drawn from (``random_state``, node) alone
    (:func:`~musig.seeded_sampling.sample_layered`), so a node's embedding does not depend on the
    batch size, on the other nodes embedded with it, or on how ``nodes`` is split across
    processes (:mod:`musig.distributed`).

    Args:
        random_state: the run's seed (an int).
        cum_weights: :func:`~musig.sampling.cumulative_weights` of ``relations``, when the caller
            has them already (training embeds held-out nodes many times); computed otherwise.
    Returns:
        float32 (len(nodes), out_channels), L2-normalised rows.
    """
    cum = cum_weights
    if cum is None:
        cum = {r: cumulative_weights(relations[r]) for r in fanouts if r in relations}
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(nodes), batch_size):
        batch = np.asarray(nodes[start : start + batch_size], np.int64)
        sub = sample_layered(relations, batch, fanouts, int(random_state), cum_weights=cum)
        out.append(encode_subgraph(model, inputs, sub).numpy())
    model.train(was_training)
    if not out:
        return np.zeros((0, model.self_lins[-1].out_features), dtype=np.float32)
    return np.concatenate(out).astype(np.float32)


def content_neighbors(
    x_catalog: np.ndarray, has_x: np.ndarray, x_new: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine nearest catalog tracks of new feature vectors.

    Args:
        x_catalog: float32 (N, F) scaled catalog features; has_x: bool (N,).
        x_new: float32 (M, F) scaled features of the new tracks.
    Returns:
        idx int64 (M, k) catalog track ids, best first; sim float32 (M, k) cosine similarities.
    """
    cand = np.flatnonzero(has_x)
    a = x_catalog[cand] / np.maximum(np.linalg.norm(x_catalog[cand], axis=1, keepdims=True), 1e-8)
    b = x_new / np.maximum(np.linalg.norm(x_new, axis=1, keepdims=True), 1e-8)
    sim = b @ a.T  # (M, C)
    k = min(k, len(cand))
    top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return cand[top].astype(np.int64), np.take_along_axis(sim, top, axis=1).astype(np.float32)


def attach_new_nodes(
    graph: TrackGraph, inputs: NodeInputs, x_new: np.ndarray, k: int
) -> tuple[TrackGraph, NodeInputs, np.ndarray]:
    """Append tracks to the graph by their acoustic neighbours only (they have no playlists).

    Args:
        x_new: float32 (M, F) scaled features of the new tracks.
    Returns:
        the graph with M nodes appended (acoustic edges to their k nearest catalog tracks),
        inputs extended with their features, and their new ids int64 (M,).
    """
    n, m = inputs.num_nodes, len(x_new)
    nbr, sim = content_neighbors(inputs.x, inputs.has_x, x_new, k)
    new_ids = np.arange(n, n + m, dtype=np.int64)
    edges = {}
    if "acoustic" in graph.relations:
        src = np.repeat(new_ids, nbr.shape[1])
        edges["acoustic"] = (src, nbr.ravel(), np.clip(sim.ravel(), 0, None) + 1e-3)
    new_inputs = NodeInputs(
        x=np.concatenate([inputs.x, x_new.astype(np.float32)]),
        has_x=np.concatenate([inputs.has_x, np.ones(m, dtype=bool)]),
        has_id=np.concatenate([inputs.has_id, np.zeros(m, dtype=bool)]),
        # An upload's artist is unknown here.
        artist=None if inputs.artist is None else np.r_[inputs.artist, np.full(m, -1, np.int64)],
    )
    return graph.add_nodes(edges, m), new_inputs, new_ids

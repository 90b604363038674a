"""Why a track was recommended, one level into the model: the neighbourhood the encoder
aggregated for it and for the seeds, and what each of its sources adds to its score.

Both read the encoder as it embeds tracks: over a neighbourhood sampled with the run's fan-outs
(:func:`musig.sampling.sample_subgraph`), from a fixed seed. A candidate's score is the cosine
between its embedding and the playlist's query — the mean of the seeds' normalised embeddings,
held fixed at the run's saved ones — exactly the retrieval rule (:mod:`musig.retrieval`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from musig.csr import CSR
from musig.inductive import NodeInputs, encode_subgraph, torch_threads
from musig.sampling import Subgraph, sample_subgraph
from musig.utils import RandomState, as_rng

VECTOR = "vector"  # the per-track learnable input, next to the relation names
SOURCE_NAMES = {"cooc": "co-occurrence edges", "acoustic": "acoustic edges", VECTOR: "own vector"}


@dataclass(frozen=True)
class Neighbourhood:
    """The sampled neighbourhood of a candidate and the seeds, as the encoder reads it.

    Attributes:
        nodes: int64 (n,) track ids, the candidate first, then the seeds, then the rest.
        kind: (n,) "candidate", "seed" or "neighbour".
        hop: int64 (n,) hops from the nearest of the candidate and seeds (0 for them).
        edges: one row per sampled edge: src, dst (track ids; dst is the node whose
            neighbourhood was sampled), relation, weight (the graph's), draws (how often the
            sampler picked it: with replacement, a heavy edge is drawn several times).
    """

    nodes: np.ndarray
    kind: np.ndarray
    hop: np.ndarray
    edges: pd.DataFrame


def edge_weights(g: CSR, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """float32 (E,) weight of each edge dst -> src in ``g`` (0 when absent)."""
    out = np.zeros(len(src), np.float32)
    for i, (s, d) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)):
        lo, hi = g.indptr[d], g.indptr[d + 1]
        j = lo + int(np.searchsorted(g.indices[lo:hi], s))  # rows are sorted (musig.csr)
        if j < hi and g.indices[j] == s:
            out[i] = g.weights[j]
    return out


def neighbourhood(
    relations: dict[str, CSR],
    fanouts: dict[str, list[int]],
    candidate: int,
    seeds: np.ndarray,
    *,
    random_state: RandomState = 0,
) -> Neighbourhood:
    """The neighbourhood the encoder aggregates for ``candidate`` and ``seeds``, one draw.

    Args:
        relations / fanouts: the run's graph and fan-outs (:class:`~musig.inference.EncoderParts`).
        candidate: a track id; seeds: int64 (S,) track ids.
    """
    seeds = np.setdiff1d(np.asarray(seeds, np.int64), [candidate])
    roots = np.concatenate([[candidate], seeds]).astype(np.int64)
    sub = sample_subgraph(relations, roots, fanouts, random_state=random_state)
    hop = np.searchsorted(np.asarray(sub.hop_ptr), np.arange(len(sub.n_id)), side="right") - 1
    kind = np.full(len(sub.n_id), "neighbour", dtype=object)
    kind[np.isin(sub.n_id, seeds)] = "seed"
    kind[sub.n_id == candidate] = "candidate"
    frames = []
    for r, ei in sub.edge_index.items():
        src, dst = sub.n_id[ei[0]], sub.n_id[ei[1]]
        pairs = pd.DataFrame({"src": src, "dst": dst})
        counted = pairs.value_counts(sort=False).rename("draws").reset_index()
        counted.insert(2, "relation", r)
        w = edge_weights(relations[r], counted["src"].to_numpy(), counted["dst"].to_numpy())
        counted.insert(3, "weight", w)
        frames.append(counted)
    columns = ["src", "dst", "relation", "weight", "draws"]
    edges = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return Neighbourhood(sub.n_id, kind.astype(str), hop.astype(np.int64), edges[columns])


def _without(sub: Subgraph, relation: str, node: int = 0) -> Subgraph:
    """The subgraph without the ``relation`` edges into local node ``node``."""
    edge_index = dict(sub.edge_index)
    ei = edge_index[relation]
    edge_index[relation] = ei[:, ei[1] != node]
    return sub._replace(edge_index=edge_index)


@torch.no_grad()
def attribution(
    model: torch.nn.Module,
    relations: dict[str, CSR],
    inputs: NodeInputs,
    fanouts: dict[str, list[int]],
    candidate: int,
    query: np.ndarray,
    *,
    draws: int = 8,
    random_state: RandomState = 0,
    num_threads: int = 1,
) -> dict[str, float]:
    """What each source of the candidate adds to its score: the score with the encoder run as
    it is, minus the score with that source left out, averaged over ``draws`` neighbourhoods.

    Sources: each relation's edges into the candidate (its co-occurrence or acoustic
    neighbours: left out, they reach it through no layer), and its own learnable vector (its
    input without it, as for a cold track). Every draw samples one neighbourhood and encodes it
    with and without each source, so the differences come from the source alone. A source the
    candidate has none of (a track without acoustic edges, a cold track's vector) adds 0.

    Args:
        model: a trained :class:`~musig.model.MusigEncoder`; relations, inputs, fanouts: what
            it reads (:class:`~musig.inference.EncoderParts`).
        candidate: track id; query: float (D,) the playlist's query (unit length).
        draws: neighbourhoods sampled (from ``random_state``).
    Returns:
        ``{"score": mean cosine with every source, <relation>: ..., "vector": ...}``; a relation
        the encoder does not read, or a vector it does not have, is not listed.
    """
    rng = as_rng(random_state)
    q = torch.as_tensor(np.asarray(query, np.float32))
    own = {r: [] for r in relations if r in fanouts}
    has_table = getattr(model, "track_emb", None) is not None
    if has_table:
        own[VECTOR] = []
    scores = []
    was_training = model.training
    model.eval()
    with torch_threads(num_threads):
        for _ in range(draws):
            sub = sample_subgraph(relations, np.array([candidate]), fanouts, random_state=rng)
            full = float(encode_subgraph(model, inputs, sub)[0] @ q)
            scores.append(full)
            for r in own:
                if r == VECTOR:
                    drop = np.zeros(len(sub.n_id), bool)
                    drop[0] = True  # the candidate is local node 0
                    z = encode_subgraph(model, inputs, sub, drop_id=drop)
                else:
                    z = encode_subgraph(model, inputs, _without(sub, r))
                own[r].append(full - float(z[0] @ q))
    model.train(was_training)
    return {"score": float(np.mean(scores)), **{r: float(np.mean(v)) for r, v in own.items()}}


def query_vector(embeddings: np.ndarray, mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """float32 (D,) the retrieval query of a playlist: mean of the seeds' normalised embeddings,
    normalised (zeros when no seed is embedded)."""
    from musig.retrieval import Retriever

    q, _ = Retriever(embeddings, mask, np.zeros(len(mask))).query([np.asarray(seeds, np.int64)])
    return q[0]


def explain_run(run, seeds: np.ndarray, candidate: int, *, draws: int = 8, random_state: int = 0):
    """:func:`neighbourhood` and :func:`attribution` of a saved run's encoder for one
    completion, the seeds' embeddings held at the run's saved ones.

    Args:
        run: a loaded :class:`musig.runs.Run` of a method with an encoder (MUSIG, sage).
        seeds: int64 (S,) catalog track ids; candidate: a catalog track id.
    Returns:
        (Neighbourhood, attribution dict).
    Raises:
        ValueError: the run's method has no encoder to look into.
    """
    parts = run.encoder_parts()
    if parts is None:
        raise ValueError(f"{run.method} has no encoder to look into; pick a musig or sage run")
    seeds = np.asarray(seeds, np.int64)
    nb = neighbourhood(parts.relations, parts.fanouts, candidate, seeds, random_state=random_state)
    query = query_vector(run.embeddings, run.mask, seeds)
    parts_args = (parts.model, parts.relations, parts.inputs, parts.fanouts, candidate, query)
    got = attribution(
        *parts_args, draws=draws, random_state=random_state, num_threads=parts.num_threads
    )
    return nb, got

"""MUSIG training: one encoder, several tasks, a task sampled at every step.

Read top to bottom: config, held-out diagnostics, the loop, final embeddings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from musig.csr import CSR, has_edge
from musig.graph import GraphConfig, cooccurrence_matrix
from musig.inductive import NodeInputs, embed_nodes, encode_subgraph, torch_threads
from musig.methods import FitContext, MethodResult
from musig.model import GenreHead, MusigEncoder
from musig.sampling import cumulative_weights, sample_subgraph

TASKS = ("cooc", "content", "genre")


@dataclass(frozen=True)
class MusigConfig:
    """Everything MUSIG's training depends on; the defaults reproduce the README's results."""

    # Multi-task sampling: (task, probability) pairs; a task is drawn per step with these weights.
    # On validation, 0.8/0.1/0.1 kept warm NDCG at the single-task level and gave the best
    # cold-start recall; 0.6/0.2/0.2 cost warm NDCG.
    tasks: tuple[tuple[str, float], ...] = (("cooc", 0.8), ("content", 0.1), ("genre", 0.1))
    use_audio: bool = True  # scaled audio features as node input (the content source)
    use_track_vectors: bool = True  # learnable input for tracks with playlist history
    relations: tuple[str, ...] = ("cooc", "content")  # edge relations the encoder aggregates over
    hidden_channels: int = 128
    out_channels: int = 64
    num_layers: int = 2
    aggr: str = "mean"
    fanouts: tuple[int, ...] = (5, 3)  # neighbours sampled per layer and relation
    steps: int = 2400  # validation NDCG still rose from 1200 to 2400 steps
    batch_size: int = 256  # playlists / pairs / labelled tracks per step
    lr: float = 3e-3
    track_vector_lr_scale: float = 10.0  # learning-rate multiplier of the per-track vectors
    weight_decay: float = 1e-5
    dropout: float = 0.1
    temperature: float = 0.1  # in-batch softmax temperature of the link tasks
    # Co-occurrence task: the mean of this many tracks of a playlist must pick out another track
    # of it among the batch's — the query evaluation makes. 1 gives plain pair link prediction.
    cooc_context: int = 4
    # Subtract log sampling probability from in-batch logits (Yi et al. 2019): without it,
    # popular tracks, which appear as negatives most often, are pushed away from everything.
    logq_correction: bool = True
    cold_drop: float = 0.1  # share of batch tracks trained as if cold (no playlist edges/vector)
    holdout_fraction: float = 0.05  # edges / labels held out for the diagnostics
    eval_every: int = 200
    eval_size: int = 2000  # held-out pairs / labels per diagnostic
    num_threads: int = 1  # torch threads; more only pays off for much larger batches
    seed: int = 0
    graph: GraphConfig = field(default_factory=GraphConfig)

    def __post_init__(self):
        unknown = [t for t, _ in self.tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; choose from {TASKS}")
        if (
            not self.tasks
            or any(p < 0 for _, p in self.tasks)
            or sum(p for _, p in self.tasks) <= 0
        ):
            raise ValueError("task probabilities must be non-negative with a positive sum")
        positive = (
            "steps",
            "eval_every",
            "batch_size",
            "hidden_channels",
            "out_channels",
            "cooc_context",
            "num_threads",
        )
        bad = [f"{k}={getattr(self, k)}" for k in positive if getattr(self, k) < 1]
        if bad or self.temperature <= 0:
            raise ValueError(
                f"MusigConfig: need >= 1 for {', '.join(bad) or '-'}, "
                f"temperature > 0 (got {self.temperature})"
            )
        if self.aggr not in ("mean", "max", "sum"):
            raise ValueError(f"MusigConfig: aggr must be mean, max or sum, got {self.aggr!r}")
        unknown = sorted(set(self.relations) - {"cooc", "content"})
        if unknown:
            raise ValueError(f"MusigConfig: unknown relation(s) {unknown}; use cooc, content")
        if self.num_layers < 1 or len(self.fanouts) != self.num_layers:
            raise ValueError(
                f"need one fan-out per layer: num_layers={self.num_layers}, fanouts={self.fanouts}"
            )


def _holdout_edges(g: CSR, fraction: float, rng: np.random.Generator) -> tuple[CSR, np.ndarray]:
    """Remove a random share of undirected edges; returns the reduced graph and (2, H) pairs."""
    src = np.repeat(np.arange(g.num_nodes), np.diff(g.indptr))
    upper = src < g.indices
    u, v, w = src[upper], g.indices[upper], g.weights[upper]
    held = rng.random(len(u)) < fraction
    keep_u, keep_v, keep_w = u[~held], v[~held], w[~held]
    kept = CSR.from_edges(keep_u, keep_v, keep_w, g.num_nodes, symmetric=True)
    return kept, np.stack([u[held], v[held]])


def _holdout_playlists(
    dataset, graph_cfg: GraphConfig, fraction: float, rng: np.random.Generator
) -> tuple[tuple[np.ndarray, np.ndarray], CSR, np.ndarray]:
    """Hold out a share of playlists for the co-occurrence diagnostic.

    Returns:
        the training playlists as CSR (indptr int64 (P'+1,), tracks int64 (nnz,)), the
        co-occurrence graph of those playlists, and held-out pairs int64 (2, H): links that only
        the held-out playlists make.
    """
    indptr, tracks = dataset.playlist_indptr, dataset.playlist_tracks
    lengths = np.diff(indptr)
    held = rng.random(len(lengths)) < fraction
    held_entries = np.repeat(held, lengths)
    train = (np.concatenate([[0], np.cumsum(lengths[~held])]), tracks[~held_entries])
    n = dataset.num_tracks
    kw = {"window": graph_cfg.window, "min_weight": graph_cfg.min_cooccurrence}
    cooc_train = cooccurrence_matrix(*train, n, **kw)
    held_graph = cooccurrence_matrix(
        np.concatenate([[0], np.cumsum(lengths[held])]), tracks[held_entries], n, **kw
    )
    u = np.repeat(np.arange(n), held_graph.degree())
    v = held_graph.indices
    new = (u < v) & ~has_edge(cooc_train, u, v)
    pairs = np.stack([u[new], v[new]])
    return train, cooc_train, pairs[:, rng.permutation(pairs.shape[1])]


def _sample_contexts(
    indptr: np.ndarray, tracks: np.ndarray, batch: int, context: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per sampled playlist, one target track and ``context`` other entries of it.

    Returns:
        target int64 (B,), context int64 (B, C); positions drawn with replacement, never the
        target's own position.
    """
    lengths = np.diff(indptr)
    eligible = np.flatnonzero(lengths >= 2)
    p = eligible[rng.integers(0, len(eligible), batch)]
    length = lengths[p][:, None]
    t_pos = (rng.random((batch, 1)) * length).astype(np.int64)
    c_pos = (rng.random((batch, context)) * (length - 1)).astype(np.int64)
    c_pos += c_pos >= t_pos  # skip the target's position
    start = indptr[p][:, None]
    return tracks[start + t_pos][:, 0], tracks[start + c_pos]


def _log_target_prob(playlists: tuple[np.ndarray, np.ndarray], n: int) -> torch.Tensor:
    """log P(track is the target) under :func:`_sample_contexts`: uniform playlist, then entry."""
    indptr, tracks = playlists
    lengths = np.diff(indptr)
    eligible = lengths >= 2
    w = np.repeat(np.where(eligible, 1.0 / np.maximum(lengths, 1), 0.0), lengths)
    q = np.bincount(tracks, weights=w, minlength=n)
    return torch.from_numpy(np.log(np.maximum(q / max(q.sum(), 1e-12), 1e-12)).astype(np.float32))


def _sample_pairs(g: CSR, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Edges drawn with probability proportional to weight (shared playlists, similarity)."""
    cum = np.cumsum(g.weights, dtype=np.float64)
    e = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    src = np.searchsorted(g.indptr, e, side="right") - 1
    return src, g.indices[e]


def _log_sampling_prob(g: CSR) -> torch.Tensor:
    """log P(track is a pair endpoint) under :func:`_sample_pairs`: its weighted degree share."""
    strength = np.bincount(
        np.repeat(np.arange(g.num_nodes), np.diff(g.indptr)),
        weights=g.weights,
        minlength=g.num_nodes,
    )
    return torch.from_numpy(np.log(np.maximum(strength / strength.sum(), 1e-12)).astype(np.float32))


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a held-out positive outscores a random negative (ties count half)."""
    scores = np.concatenate([pos, neg])
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 1.0
    # Average ranks over ties so equal scores are not ordered by position.
    _, inv, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    n_pos, n_neg = len(pos), len(neg)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit(
    ctx: FitContext,
    cfg: MusigConfig,
    callback: Callable[[dict], None] | None = None,
) -> MethodResult:
    """Train MUSIG on ``ctx`` and embed every track.

    Args:
        callback: called with every log record (dict) — used by the CLI and the app for progress.
    Returns:
        MethodResult with float32 (N, out_channels) embeddings; mask False only for tracks that
        have neither audio features nor playlist history. ``extras`` holds the weights
        (``encoder.*``, ``genre_head.*``).
    """
    rng = np.random.default_rng(cfg.seed)
    graph = ctx.graph
    n = graph.num_nodes
    relations = {r: graph.relations[r] for r in cfg.relations if r in graph.relations}
    has_history = ctx.dataset.popularity > 0
    inputs = NodeInputs(
        x=ctx.features if cfg.use_audio else np.zeros((n, 0), np.float32),
        has_x=ctx.feature_mask if cfg.use_audio else np.zeros(n, bool),
        has_id=has_history if cfg.use_track_vectors else np.zeros(n, bool),
    )
    fanouts = {r: list(cfg.fanouts) for r in relations}
    tasks = [t for t, p in cfg.tasks if p > 0]
    probs = np.array([p for t, p in cfg.tasks if p > 0], dtype=np.float64)
    probs /= probs.sum()

    # Held-out diagnostics: playlists, edges and labels the encoder never trains on or aggregates
    # over. Co-occurrence holds out whole playlists; its held-out pairs are the links they add.
    train_rel, held_pairs, log_q = dict(relations), {}, {}
    playlists, cooc_train, held_pairs["cooc"] = _holdout_playlists(
        ctx.dataset, graph.config, cfg.holdout_fraction, rng
    )
    if "cooc" in train_rel:
        train_rel["cooc"] = cooc_train
    log_q["cooc"] = _log_target_prob(playlists, n)
    content_pairs = None
    if "content" in graph.relations and graph.relations["content"].indices.size:
        content_pairs, held_pairs["content"] = _holdout_edges(
            graph.relations["content"], cfg.holdout_fraction, rng
        )
        if "content" in train_rel:
            train_rel["content"] = content_pairs
        log_q["content"] = _log_sampling_prob(content_pairs)
    held_pairs = {t: p[:, : cfg.eval_size] for t, p in held_pairs.items()}
    labelled = np.flatnonzero(graph.genre >= 0)
    held_genre = rng.random(len(labelled)) < max(cfg.holdout_fraction, 0.1)
    genre_train, genre_held = labelled[~held_genre], labelled[held_genre][: cfg.eval_size]
    for t in tasks:
        if t == "genre" and not len(genre_train):
            raise ValueError("task 'genre' needs genre labels, and this dataset has none")
        if t == "content" and content_pairs is None:
            raise ValueError("task 'content' needs content edges; the graph has none (source off?)")
        if t == "cooc" and not len(playlists[1]):
            raise ValueError("task 'cooc' needs playlists with at least two tracks")

    with torch.random.fork_rng(), torch_threads(cfg.num_threads):
        torch.manual_seed(cfg.seed)
        model = build_encoder(cfg, inputs.x.shape[1], n, tuple(relations))
        head = GenreHead(cfg.out_channels, max(len(graph.genre_names), 1))
        # Each track vector is updated only when its track is in a batch: a larger step size lets
        # the table keep pace with the shared weights, which see every batch.
        table = [p for n, p in model.named_parameters() if n.startswith("track_emb")]
        shared = [p for n, p in model.named_parameters() if not n.startswith("track_emb")]
        opt = torch.optim.AdamW(
            [
                {"params": shared + list(head.parameters())},
                {"params": table, "lr": cfg.lr * cfg.track_vector_lr_scale, "weight_decay": 0.0},
            ],
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
        )
        # Linear warm-up over the first tenth, then cosine decay to zero.
        warmup = max(1, cfg.steps // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt,
            lambda i: min((i + 1) / warmup, 0.5 * (1 + np.cos(np.pi * min(i / cfg.steps, 1.0)))),
        )
        log: list[dict] = []

        def emit(record: dict) -> None:
            log.append(record)
            if callback is not None:
                callback(record)

        eval_rng = np.random.default_rng(cfg.seed + 1)
        eval_neg = {t: eval_rng.integers(0, n, size=p.shape) for t, p in held_pairs.items()}

        def held_out_aucs(embed: Callable[[np.ndarray], np.ndarray], prefix: str = "") -> dict:
            """AUC of held-out pairs against fixed random pairs, scored by embedding cosine."""
            out = {}
            for task, pairs in held_pairs.items():
                if pairs.shape[1]:
                    z = embed(np.concatenate([pairs.ravel(), eval_neg[task].ravel()]))
                    z = z.reshape(4, -1, z.shape[1])  # (pos u, pos v, neg u, neg v)
                    out[f"{prefix}{task}_auc"] = _auc((z[0] * z[1]).sum(1), (z[2] * z[3]).sum(1))
            return out

        cum_weights = {r: cumulative_weights(g) for r, g in train_rel.items()}

        def embed_model(nodes: np.ndarray) -> np.ndarray:
            return embed_nodes(
                model,
                train_rel,
                inputs,
                nodes,
                fanouts,
                random_state=cfg.seed,
                cum_weights=cum_weights,
            )

        def diagnostics(step: int) -> dict:
            record = {"step": step, "kind": "eval", **held_out_aucs(embed_model)}
            if len(genre_held):
                with torch.no_grad():
                    pred = head(torch.from_numpy(embed_model(genre_held))).argmax(1).numpy()
                record["genre_acc"] = float((pred == graph.genre[genre_held]).mean())
            return record

        # The same pairs scored by raw audio-feature cosine: the content baseline to beat.
        unit_x = ctx.features / np.maximum(
            np.linalg.norm(ctx.features, axis=1, keepdims=True), 1e-12
        )
        emit({"step": 0, "kind": "reference", **held_out_aucs(lambda i: unit_x[i], "content_")})

        start = time.perf_counter()
        bar = tqdm(range(cfg.steps), desc="musig", disable=not ctx.progress, leave=False)
        for step in bar:
            task = tasks[rng.choice(len(tasks), p=probs)]
            if task == "genre":
                seeds = rng.choice(
                    genre_train, size=min(cfg.batch_size, len(genre_train)), replace=False
                )
            elif task == "cooc":
                target, context = _sample_contexts(
                    *playlists, cfg.batch_size, cfg.cooc_context, rng
                )
                seeds = np.concatenate([target, context.ravel()])
            else:
                u, v = _sample_pairs(content_pairs, cfg.batch_size, rng)
                seeds = np.concatenate([u, v])
            sub = sample_subgraph(
                train_rel, seeds, fanouts, random_state=rng, cum_weights=cum_weights
            )
            # Train some tracks as if they were new (PinSage-style): without co-occurrence edges
            # or their own vector, the encoder must place them from audio and acoustic neighbours.
            cold = np.zeros(len(sub.n_id), bool)
            cold[sub.seed_local[rng.random(len(seeds)) < cfg.cold_drop]] = True
            if cold.any() and "cooc" in sub.edge_index:
                ei = sub.edge_index["cooc"]
                sub.edge_index["cooc"] = ei[:, ~(cold[ei[0]] | cold[ei[1]])]
            z = encode_subgraph(model, inputs, sub, drop_id=cold)
            if task == "genre":
                loss = F.cross_entropy(head(z), torch.from_numpy(graph.genre[seeds]))
            elif task == "cooc":
                b = len(target)
                query = F.normalize(z[b:].reshape(b, cfg.cooc_context, -1).mean(1), dim=-1)
                logits = query @ z[:b].T / cfg.temperature  # (B, B): in-batch negatives
                if cfg.logq_correction:
                    logits = logits - log_q["cooc"][target][None, :]
                loss = F.cross_entropy(logits, torch.arange(b))
            else:
                zu, zv = z[: len(u)], z[len(u) :]
                logits = zu @ zv.T / cfg.temperature
                logits_t = logits.T
                if cfg.logq_correction:
                    logits = logits - log_q["content"][v][None, :]
                    logits_t = logits_t - log_q["content"][u][None, :]
                target_ = torch.arange(len(u))
                loss = 0.5 * (F.cross_entropy(logits, target_) + F.cross_entropy(logits_t, target_))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            emit(
                {
                    "step": step + 1,
                    "kind": "train",
                    "task": task,
                    "loss": loss.item(),
                    "seconds": time.perf_counter() - start,
                }
            )
            if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
                record = diagnostics(step + 1)
                record["seconds"] = time.perf_counter() - start
                emit(record)
                bar.set_postfix(
                    {k: round(v, 3) for k, v in record.items() if k.endswith(("auc", "acc"))}
                )

        # Final embeddings use the whole graph: held-out edges are real training data too.
        embeddings = embed_nodes(
            model, relations, inputs, np.arange(n), fanouts, random_state=cfg.seed
        )
    mask = inputs.has_x | inputs.has_id
    embeddings[~mask] = 0.0
    extras = {f"encoder.{k}": v.detach().numpy() for k, v in model.state_dict().items()}
    extras.update({f"genre_head.{k}": v.detach().numpy() for k, v in head.state_dict().items()})
    return MethodResult(embeddings=embeddings, mask=mask, extras=extras, log=log)


def build_encoder(
    cfg: MusigConfig, in_channels: int, num_nodes: int, relations: tuple[str, ...]
) -> MusigEncoder:
    """Rebuild an untrained encoder with the shapes :func:`fit` used (to load saved weights)."""
    return MusigEncoder(
        in_channels=in_channels if cfg.use_audio else 0,
        hidden_channels=cfg.hidden_channels,
        out_channels=cfg.out_channels,
        num_layers=cfg.num_layers,
        relations=relations,
        num_nodes=num_nodes if cfg.use_track_vectors else 0,
        aggr=cfg.aggr,
        dropout=cfg.dropout,
    )

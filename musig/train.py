"""MUSIG training: one encoder, several tasks, a task sampled at every step.

Read top to bottom: config, optimizer, tasks, the loop, final embeddings. The tasks are in
:mod:`musig.tasks`, what is held out for the diagnostics in :mod:`musig.holdout`.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from tqdm.auto import tqdm

from musig.data import artist_ids
from musig.fitting import Callback, FitContext, FitLog, MethodResult, Replica
from musig.holdout import Diagnostics, Holdout, make_holdout
from musig.inductive import NodeInputs, embed_nodes, encode_subgraph, torch_threads
from musig.model import GenreHead, MusigEncoder
from musig.musig_config import MusigConfig
from musig.sampling import Subgraph, cumulative_weights, sample_subgraph
from musig.tasks import (
    AcousticTask,
    CoocTask,
    GenreTask,
    log_sampling_prob,
    log_target_prob,
)


class TrainStep(torch.nn.Module):
    """One step's forward: encode the seeds of the step's tasks in one pass and return the
    weighted sum of their losses (one task, weight 1, under multi-task sampling).

    Encoder and genre head in one module returning the loss, so that a wrapper of the step
    (``DistributedDataParallel``, :mod:`musig.distributed`) sees every parameter a loss reaches.
    """

    def __init__(self, model: MusigEncoder, head: GenreHead, tasks: dict, inputs: NodeInputs):
        super().__init__()
        self.model, self.head, self.tasks, self.inputs = model, head, tasks, inputs

    def forward(self, parts: list, sub: Subgraph, cold: np.ndarray) -> list[torch.Tensor]:
        """parts: (task name, number of its seeds, its target, weight) in seed order.
        Returns each part's weighted loss."""
        z = encode_subgraph(self.model, self.inputs, sub, drop_id=cold)  # (seeds, D)
        losses, start = [], 0
        for name, size, target, weight in parts:
            losses.append(weight * self.tasks[name].loss(z[start : start + size], target))
            start += size
        return losses


class LazyAdam(torch.optim.Optimizer):
    """``torch.optim.SparseAdam``'s update (same formula, equal to float rounding), done by row
    index: the moments and rows of the batch's tracks are gathered with ``index_select`` and
    written back with ``index_copy_``. SparseAdam builds sparse tensors and masks for the same
    work; on a 2M-row table this is about 1.4x faster (tests/test_train.py checks equality).
    Takes parameters whose gradients are sparse (``nn.Embedding(sparse=True)``)."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.coalesce()  # sorted unique rows: duplicates summed, faster gathers
                rows, g = grad.indices()[0], grad.values()
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                m = exp_avg.index_select(0, rows).lerp_(g, 1 - beta1)
                v = exp_avg_sq.index_select(0, rows).mul_(beta2).addcmul_(g, g, value=1 - beta2)
                exp_avg.index_copy_(0, rows, m)
                exp_avg_sq.index_copy_(0, rows, v)
                correction1 = 1 - beta1 ** state["step"]
                correction2 = 1 - beta2 ** state["step"]
                step_size = group["lr"] * correction2**0.5 / correction1
                denom = v.sqrt_().add_(group["eps"])
                p.index_copy_(0, rows, p.index_select(0, rows).addcdiv_(m, denom, value=-step_size))


class _Optimizer:
    """AdamW for the shared weights, lazy (sparse) Adam for the per-track vectors.

    A batch touches a few thousand tracks of a table that may hold millions: :class:`LazyAdam`
    updates only the rows in the batch, so a step costs what the batch touches, not what the
    catalog holds. Each row is updated only when its track is in a batch, so the table takes a
    larger step (``track_vector_lr_scale``) to keep pace with the shared weights, which see every
    batch; as before, the table has no weight decay. Both follow one schedule: linear warm-up
    over the first tenth of the steps, then cosine decay to zero.
    """

    def __init__(self, model: MusigEncoder, head: GenreHead, cfg: MusigConfig, replica: Replica):
        tables = ("track_emb", "artist_emb")
        self.table = table = [p for n, p in model.named_parameters() if n.startswith(tables)]
        self.replica = replica
        shared = [p for n, p in model.named_parameters() if not n.startswith(tables)]
        shared += list(head.parameters())
        self.optimizers = [torch.optim.AdamW(shared, lr=cfg.lr, weight_decay=cfg.weight_decay)]
        if table:
            lr = cfg.lr * cfg.track_vector_lr_scale
            self.optimizers.append(LazyAdam(table, lr=lr))
        warmup = max(1, cfg.steps // 10)

        def schedule(i: int) -> float:
            return min((i + 1) / warmup, 0.5 * (1 + np.cos(np.pi * min(i / cfg.steps, 1.0))))

        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(o, schedule) for o in self.optimizers]

    def step(self, loss: torch.Tensor) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        self.replica.average_sparse_grads(self.table)
        for opt, sched in zip(self.optimizers, self.schedulers, strict=True):
            opt.step()
            sched.step()


def _tasks(
    cfg: MusigConfig,
    held: Holdout,
    genre: np.ndarray,
    head: GenreHead,
    candidates,
    pool: np.ndarray,
) -> dict:
    """The task objects of the configured tasks with probability > 0 (ValueError without data).

    ``candidates``: the in-batch softmax's candidates (this batch, or every rank's); ``pool``:
    int64 (K,) tracks uniform negatives are drawn from.
    """
    n = len(genre)
    link = {"temperature": cfg.temperature, "logq": cfg.logq_correction, "candidates": candidates}
    out = {}
    for name, p in cfg.tasks:
        if p <= 0:
            continue
        if name == "cooc":
            if not len(held.playlists[1]):
                raise ValueError("task 'cooc' needs playlists with at least two tracks")
            log_q = log_target_prob(held.playlists, n)
            shape = {"shape": cfg.cooc_shape, "first_share": cfg.cooc_first_share}
            negatives = {"uniform": cfg.uniform_negatives, "pool": pool,
                         "mask_own": cfg.mask_own_tracks}  # fmt: skip
            out[name] = CoocTask(
                held.playlists, log_q, cfg.cooc_context, **link, **shape, **negatives
            )
        elif name == "acoustic":
            if held.acoustic_edges is None:
                raise ValueError("task 'acoustic' needs acoustic edges; the graph has none")
            log_q = log_sampling_prob(held.acoustic_edges)
            out[name] = AcousticTask(held.acoustic_edges, log_q, **link)
        else:
            if not len(held.genre_train):
                raise ValueError("task 'genre' needs genre labels, and this dataset has none")
            out[name] = GenreTask(held.genre_train, genre, head)
    return out


def _drop_cold(sub: Subgraph, num_seeds: int, share: float, rng: np.random.Generator):
    """Train a share of the seeds as if they were new tracks (PinSage-style): no co-occurrence
    edges, no own vector, so the encoder must place them from audio and acoustic neighbours.

    Returns bool (len(sub.n_id),) local nodes whose vector is withheld; edits ``sub`` in place.
    """
    cold = np.zeros(len(sub.n_id), bool)
    cold[sub.seed_local[rng.random(num_seeds) < share]] = True
    if cold.any() and "cooc" in sub.edge_index:
        ei = sub.edge_index["cooc"]
        sub.edge_index["cooc"] = ei[:, ~(cold[ei[0]] | cold[ei[1]])]
    return cold


def fit(ctx: FitContext, cfg: MusigConfig, callback: Callback = None) -> MethodResult:
    """Train MUSIG on ``ctx`` and embed every track.

    Args:
        callback: called with every log record (dict) — used by the CLI and the app for progress.
    Returns:
        MethodResult with float32 (N, out_channels) embeddings; mask False only for tracks that
        have neither audio features nor playlist history. ``extras`` holds the weights
        (``encoder.*``, ``genre_head.*``).
    """
    seed, graph, n = ctx.random_state, ctx.graph, ctx.graph.num_nodes
    replica = ctx.replica  # one process, or one rank of several (musig.distributed)
    rng = np.random.default_rng(seed)  # holdout and task draws: the same on every rank
    relations = {r: graph.relations[r] for r in cfg.relations if r in graph.relations}
    fanouts = {r: list(cfg.fanouts) for r in relations}
    inputs = NodeInputs(
        x=ctx.features if cfg.use_audio else np.zeros((n, 0), np.float32),
        has_x=ctx.feature_mask if cfg.use_audio else np.zeros(n, bool),
        has_id=(ctx.dataset.popularity > 0) if cfg.use_track_vectors else np.zeros(n, bool),
        artist=artist_ids(ctx.dataset.tracks["artist_name"]) if cfg.use_artist else None,
    )
    held = make_holdout(ctx.dataset, graph, relations, cfg.holdout_fraction, cfg.eval_size, rng)
    cum = {r: cumulative_weights(g) for r, g in held.relations.items()}
    log = FitLog(callback)
    with torch.random.fork_rng(), torch_threads(cfg.num_threads):
        torch.manual_seed(seed)
        num_artists = int(inputs.artist.max(initial=-1)) + 1 if cfg.use_artist else 0
        model = build_encoder(cfg, inputs.x.shape[1], n, tuple(relations), num_artists)
        head = GenreHead(cfg.out_channels, max(len(graph.genre_names), 1))
        # Uniform negatives come from tracks with playlist history only: a track in no training
        # playlist is never a positive, so as a negative it would only learn "unplayed = bad",
        # which is false of the new tracks that cold start asks about.
        pool = np.flatnonzero(ctx.dataset.popularity > 0)
        tasks = _tasks(cfg, held, graph.genre, head, replica.candidates, pool)
        names = list(tasks)
        weights = np.array([p for t, p in cfg.tasks if p > 0], np.float64)
        probs = weights / weights.sum()
        step_fn = replica.wrap(TrainStep(model, head, tasks, inputs))
        optimizer = _Optimizer(model, head, cfg, replica)
        batch_rng = replica.batch_rng(rng, seed)  # each rank its own batches
        batch_size = replica.share(cfg.batch_size)
        diagnostics = Diagnostics(held, graph.genre, n, seed + 1)

        def embed(nodes: np.ndarray) -> np.ndarray:
            return embed_nodes(
                model, held.relations, inputs, nodes, fanouts, random_state=seed, cum_weights=cum
            )

        if ctx.features.shape[1]:  # held-out pairs by raw feature cosine: the content baseline
            x = ctx.features
            unit_x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            log.add(
                {
                    "step": 0,
                    "kind": "reference",
                    **diagnostics.aucs(lambda i: unit_x[i], "content_"),
                }
            )

        start = time.perf_counter()
        bar = tqdm(range(cfg.steps), desc="musig", disable=not ctx.progress, leave=False)
        for step in bar:
            if cfg.task_mix == "sample":
                drawn = [(names[rng.choice(len(names), p=probs)], 1.0)]
            else:
                drawn = list(zip(names, weights.tolist(), strict=True))
            parts, seeds = [], []
            for name, weight in drawn:
                s, target = tasks[name].sample(batch_rng, batch_size)
                parts.append((name, len(s), target, weight))
                seeds.append(s)
            seeds = np.concatenate(seeds)
            sub = sample_subgraph(
                held.relations, seeds, fanouts, random_state=batch_rng, cum_weights=cum
            )
            cold = _drop_cold(sub, len(seeds), cfg.cold_drop, batch_rng)
            losses = step_fn(parts, sub, cold)
            loss = sum(losses)
            optimizer.step(loss)  # under DDP: gradients averaged over the ranks
            record = {"step": step + 1, "kind": "train", "task": "+".join(n for n, _ in drawn)}
            record["loss"] = loss.item()
            if len(drawn) > 1:
                each = zip(drawn, losses, strict=True)
                record.update({f"loss_{n}": x.item() for (n, _), x in each})
            log.add({**record, "seconds": time.perf_counter() - start})
            if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
                record = {"step": step + 1, "kind": "eval", **diagnostics(embed, head)}
                log.add({**record, "seconds": time.perf_counter() - start})
                bar.set_postfix(
                    {k: round(v, 3) for k, v in record.items() if k.endswith(("auc", "acc"))}
                )

        # Final embeddings use the whole graph: held-out edges are real training data too.
        start = time.perf_counter()
        embeddings = replica.embed_all(  # each rank its share of the tracks
            lambda nodes: embed_nodes(model, relations, inputs, nodes, fanouts, random_state=seed),
            n,
        )
        log.add({"step": "embedded", "kind": "embed", "seconds": time.perf_counter() - start})
    mask = inputs.has_x | inputs.has_id
    embeddings[~mask] = 0.0
    extras = {f"encoder.{k}": v.detach().numpy() for k, v in model.state_dict().items()}
    extras.update({f"genre_head.{k}": v.detach().numpy() for k, v in head.state_dict().items()})
    return MethodResult(embeddings=embeddings, mask=mask, extras=extras, log=log)


def build_encoder(
    cfg: MusigConfig,
    in_channels: int,
    num_nodes: int,
    relations: tuple[str, ...],
    num_artists: int = 0,
) -> MusigEncoder:
    """Rebuild an untrained encoder with the shapes :func:`fit` used (to load saved weights)."""
    return MusigEncoder(
        in_channels=in_channels if cfg.use_audio else 0,
        hidden_channels=cfg.hidden_channels,
        out_channels=cfg.out_channels,
        num_layers=cfg.num_layers,
        relations=relations,
        num_nodes=num_nodes if cfg.use_track_vectors else 0,
        num_artists=num_artists if cfg.use_artist else 0,
        aggr=cfg.aggr,
        dropout=cfg.dropout,
    )

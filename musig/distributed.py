"""Training and batch inference on several processes with torch.distributed (gloo, CPU).

``python -m musig train --nproc N`` starts N processes (``torch.multiprocessing``, spawn); under
``torchrun`` (``RANK`` and ``WORLD_SIZE`` set) each process is one rank and nothing is spawned.
Every rank loads the dataset and its graph (memory-mapped from the graph store), draws the same
holdout and the same task at each step, but its own batches (``cfg.batch_size / N`` examples from
its own seed stream); ``DistributedDataParallel`` averages the dense gradients and
:meth:`DDPReplica.average_sparse_grads` the per-track vectors' sparse ones (all-gathered rows and
values, on the main thread after backward), so every rank takes the same optimizer step
and the model stays replicated. The per-track table is replicated as well. After training each
rank embeds its share of the tracks (a track's neighbourhood is drawn from (seed, track) alone:
:mod:`musig.seeded_sampling`), the shares are gathered, and rank 0 alone writes the run folder.

On GPUs the same code takes the ``nccl`` backend with one device per rank (model and batches
moved to ``cuda:rank``); nccl all-reduces dense tensors only, so the sparse table's gradients
would go through gloo or the table would take dense gradients. This module is not run on GPUs.
"""

from __future__ import annotations

import faulthandler
import os
import socket
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from musig.fitting import Replica
from musig.utils import spawn_without_main

BACKEND = "gloo"


class DDPReplica(Replica):
    """One rank of a torch.distributed fit (see the module docstring)."""

    def __init__(self, rank: int, world_size: int):
        self.rank, self.world_size = rank, world_size
        # The softmax candidates' collectives on a group of their own: their order never
        # interleaves with DDP's gradient all-reduces.
        self.group = dist.new_group(backend=BACKEND)

    def candidates(self, rows: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Every rank's rows (equal counts: :meth:`share`), gradients flowing back to their
        rank, and where this rank's start."""
        return _GatherRows.apply(rows, self.world_size, self.group), self.rank * len(rows)

    def wrap(self, module):
        from torch.nn.parallel import DistributedDataParallel

        # The per-row tables' sparse gradients are left to average_sparse_grads: gloo's sparse
        # all-reduce, run by DDP on gloo's threads during backward, corrupted the heap of a
        # rank now and then ("malloc(): unaligned tcache chunk detected" in a full test run).
        tables = [
            f"{name}.weight"
            for name, m in module.named_modules()
            if isinstance(m, torch.nn.Embedding) and m.sparse
        ]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(module, tables)
        # A step runs one task; the genre head, say, is unused in the others.
        return DistributedDataParallel(module, find_unused_parameters=True)

    def average_sparse_grads(self, params: list) -> None:
        """Each table's gradient rows and values from every rank (dense all-gathers, padded to
        the longest), summed and divided by the ranks: what DDP does to dense gradients."""
        for p in params:
            g = p.grad.coalesce() if p.grad is not None else None
            rows = g.indices()[0] if g is not None else torch.zeros(0, dtype=torch.long)
            vals = g.values() if g is not None else p.new_zeros((0, *p.shape[1:]))
            counts = [torch.zeros(1, dtype=torch.long) for _ in range(self.world_size)]
            dist.all_gather(counts, torch.tensor([len(rows)]), group=self.group)
            counts = [int(c) for c in counts]
            if max(counts) == 0:
                continue  # no rank's batch reached this table
            rows = torch.cat(_gather_padded(rows, counts, self.group))
            vals = torch.cat(_gather_padded(vals, counts, self.group))
            # Rows from other processes are checked against the table (cheap next to the
            # step): a bad row raises here instead of corrupting memory in the optimizer.
            p.grad = torch.sparse_coo_tensor(
                rows[None], vals / self.world_size, p.shape, check_invariants=True
            )

    def batch_rng(self, rng: np.random.Generator, seed: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(self.rank,)))

    def share(self, batch_size: int) -> int:
        if batch_size % self.world_size:
            raise ValueError(
                f"batch_size={batch_size} does not split over {self.world_size} processes; "
                "choose a multiple"
            )
        return batch_size // self.world_size

    def embed_all(self, embed, n: int) -> np.ndarray:
        """Each rank embeds its contiguous share of 0..n-1; every rank gets all (n, D)."""
        mine = embed(np.array_split(np.arange(n), self.world_size)[self.rank])
        return np.concatenate(gather_rows(mine, n, self.world_size))


class _GatherRows(torch.autograd.Function):
    """All-gather along rows whose backward sums every rank's gradient for this rank's rows.

    With DDP's averaging of parameter gradients this gives the gradient of the mean loss over
    all ranks' examples, each scored against all ranks' candidates: one process's softmax.
    """

    @staticmethod
    def forward(
        ctx, rows: torch.Tensor, world: int, group
    ) -> torch.Tensor:  # (B, ...) -> (W B, ...)
        parts = [torch.empty_like(rows) for _ in range(world)]
        dist.all_gather(parts, rows.contiguous(), group=group)
        ctx.rank, ctx.size, ctx.group = dist.get_rank(group), len(rows), group
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)  # every rank's loss reads these rows
        return grad[ctx.rank * ctx.size : (ctx.rank + 1) * ctx.size], None, None


def gather_rows(rows: np.ndarray, n: int, world_size: int) -> list[np.ndarray]:
    """All ranks' float32 (share, D) arrays, in rank order (shares of ``np.array_split``)."""
    sizes = [len(p) for p in np.array_split(np.arange(n), world_size)]
    return [part.numpy() for part in _gather_padded(torch.from_numpy(rows), sizes)]


def _gather_padded(t: torch.Tensor, counts: list[int], group=None) -> list[torch.Tensor]:
    """Every rank's ``t`` (``counts[r]`` rows on rank r), in rank order: gloo's all-gather takes
    equal shapes, so each is padded to the longest and trimmed after."""
    padded = t.new_zeros((max(counts), *t.shape[1:]))
    padded[: len(t)] = t
    parts = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(parts, padded, group=group)
    return [part[:c] for part, c in zip(parts, counts, strict=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launched_by_torchrun() -> bool:
    """Whether this process is one rank of a torchrun job."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def launch(fn, nproc: int, *args) -> None:
    """Run ``fn(replica, *args)`` on ``nproc`` ranks: spawned here, or this process's rank under
    torchrun. ``fn`` and ``args`` must be picklable (a module-level function, plain values)."""
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    if launched_by_torchrun():
        world = int(os.environ["WORLD_SIZE"])
        _rank(int(os.environ["RANK"]), world, "env://", fn, args)
        return
    init = f"tcp://127.0.0.1:{_free_port()}"
    with spawn_without_main():  # ranks never re-run the caller's script (an app page, say)
        mp.spawn(_rank, args=(nproc, init, fn, args), nprocs=nproc, join=True)


def _rank(rank: int, world: int, init: str, fn, args) -> None:
    # A rank that dies in native code (gloo, say) prints its Python stack, not just "SIGSEGV".
    faulthandler.enable()
    dist.init_process_group(BACKEND, init_method=init, rank=rank, world_size=world)
    try:
        fn(DDPReplica(rank, world), *args)
    finally:
        dist.destroy_process_group()


def _train(replica: DDPReplica, kwargs: dict) -> None:
    from musig.pipeline import train_run

    mine = dict(kwargs)
    if not replica.writes:  # one rank reports progress
        mine.update(progress=False, callback=None, say=lambda line: None)
    train_run(**mine, replica=replica)


def train_distributed(nproc: int, data, name: str, out, **kwargs) -> Path:
    """:func:`musig.pipeline.train_run` on ``nproc`` processes (under torchrun: its
    ``WORLD_SIZE``); rank 0 writes ``out``.

    Args:
        kwargs: train_run's keyword arguments; ``callback`` and ``say`` must be picklable.
    """
    from musig.methods import get, resolve_config

    if nproc > 1 and not get(name).distributed:
        raise ValueError(f"{name} trains in one process; drop --nproc")
    if launched_by_torchrun():
        nproc = int(os.environ["WORLD_SIZE"])
    cfg = resolve_config(name, kwargs.get("overrides"))
    if cfg.batch_size % nproc:
        raise ValueError(f"batch_size={cfg.batch_size} does not split over {nproc} processes")
    launch(_train, nproc, {"data": data, "name": name, "out": out, **kwargs})
    return Path(out)


def _recommend(replica: DDPReplica, run_path, data, out, k: int, team: str, email: str) -> None:
    from musig.data import load_dataset
    from musig.runs import load_run
    from musig.submission import complete_challenge, write_submission

    dataset = load_dataset(data)
    run = load_run(run_path, dataset)
    challenge = dataset.challenge or []
    share = np.array_split(np.arange(len(challenge)), replica.world_size)[replica.rank]
    mine = complete_challenge(run, [challenge[i] for i in share], k)
    parts = [None] * replica.world_size
    dist.all_gather_object(parts, mine)
    if replica.writes:
        recs = {pid: uris for part in parts for pid, uris in part.items()}
        write_submission(run, challenge, out, team=team, email=email, k=k, recs=recs)


def recommend_distributed(
    nproc: int, run, data, out, *, k: int = 500, team: str = "musig", email: str = "musig@x"
) -> None:
    """Complete the dataset's challenge set with a run, its playlists split over ``nproc``
    processes; rank 0 writes the submission (identical to the single-process one)."""
    launch(_recommend, nproc, str(run), str(data), str(out), k, team, email)

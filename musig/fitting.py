"""The contract of every method: what it is fitted on, what it returns, how its config travels.

A method is ``fit(ctx: FitContext, cfg, callback=None) -> MethodResult``; the registry of methods
is :mod:`musig.methods`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from musig.data import Dataset
    from musig.graph import TrackGraph


# Called with every log record of a fit as it happens (progress in the CLI and the app).
Callback = Callable[[dict], None] | None


class FitLog(list):
    """A fit's log records (plain dicts); each one also goes to ``callback`` as it is added."""

    def __init__(self, callback: Callback = None):
        super().__init__()
        self.callback = callback

    def add(self, record: dict) -> None:
        self.append(record)
        if self.callback is not None:
            self.callback(record)


class Replica:
    """How a fit is spread over processes: this one is a single process, doing all the work.

    :class:`musig.distributed.DDPReplica` is the same interface for one rank of several
    (torch.distributed); a training loop calls these hooks and never checks ranks itself.
    """

    rank, world_size = 0, 1

    @property
    def writes(self) -> bool:
        """Whether this process writes the run folder (rank 0 alone)."""
        return self.rank == 0

    def wrap(self, module):
        """The module a training step calls (here the module itself)."""
        return module

    def batch_rng(self, rng: np.random.Generator, seed: int) -> np.random.Generator:
        """The stream batches are drawn from (here the fit's one stream, ``rng``)."""
        return rng

    def share(self, batch_size: int) -> int:
        """Examples this process draws per step for a step of ``batch_size`` examples."""
        return batch_size

    def embed_all(self, embed: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
        """``embed(nodes)`` of every node 0..n-1 as float32 (n, D) (here in one call)."""
        return embed(np.arange(n))

    def candidates(self, rows):
        """(every process's ``rows`` (B_all, ...), offset of this process's rows in them): the
        candidates of an in-batch softmax (here this batch, offset 0)."""
        return rows, 0

    def average_sparse_grads(self, params: list) -> None:
        """Average the sparse gradients of ``params`` (per-row tables) over the processes, after
        ``backward`` and before the optimizer step (here one process: nothing to do)."""


@dataclass(frozen=True)
class FitContext:
    """Everything a method may learn from: the training dataset and what is derived from it.

    Attributes:
        dataset: training dataset (test playlists already removed by the split).
        features: float32 (N, F) scaled content features aligned to the track index; (N, 0) for
            a method that reads no content.
        feature_mask: bool (N,) True where content features exist (all False without content).
        graph: the relations the method reads (only those: see ``Method.relations``), built from
            ``dataset`` and ``features``; None for a method that reads no graph.
        random_state: the one seed of the fit; every random step of every method derives from it.
        progress: show progress bars.
        replica: how the fit is spread over processes (one process unless ``--nproc``).
    """

    dataset: Dataset
    features: np.ndarray
    feature_mask: np.ndarray
    graph: TrackGraph | None
    random_state: int = 0
    progress: bool = False
    replica: Replica = field(default_factory=Replica)


@dataclass
class MethodResult:
    """A fitted method, reduced to what retrieval and evaluation need.

    Attributes:
        embeddings: float32 (N, D) aligned to the dataset's track index, or None for
            recommend-only methods (popularity).
        mask: bool (N,) False for tracks the method cannot embed (e.g. no playlist history).
        extras: named arrays a method wants persisted with its run (weights, scores).
        log: per-step training records (dicts of plain values) for the training log.
    """

    embeddings: np.ndarray | None
    mask: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)


def config_to_dict(cfg) -> dict:
    """A config dataclass as plain JSON values (tuples become lists)."""
    return dataclasses.asdict(cfg)


def config_from_dict(cls, values: dict):
    """Rebuild a frozen config dataclass from plain values (JSON, CLI overrides).

    Lists become tuples where the default is a tuple, nested config dataclasses are rebuilt, and
    unknown keys are refused with the list of known ones.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(fields)}")
    defaults = cls()
    kwargs = {}
    for name, value in values.items():
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            value = config_from_dict(type(default), value)
        elif isinstance(default, tuple):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        elif isinstance(default, bool):
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        elif isinstance(default, int | float | str):
            value = type(default)(value)
        kwargs[name] = value
    return cls(**kwargs)

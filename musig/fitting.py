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
    """

    dataset: Dataset
    features: np.ndarray
    feature_mask: np.ndarray
    graph: TrackGraph | None
    random_state: int = 0
    progress: bool = False


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

"""The one artefact every method produces, and what every method is fitted on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from musig.data import Dataset
    from musig.graph import TrackGraph


@dataclass(frozen=True)
class FitContext:
    """Everything a method may learn from: the training dataset and what is derived from it.

    Attributes:
        dataset: training dataset (test playlists already removed by the split).
        features: float32 (N, F) scaled content features aligned to the track index.
        feature_mask: bool (N,) True where content features exist.
        graph: the track graph built from ``dataset`` and ``features``.
        random_state: seed for every random step of the fit.
        progress: show progress bars.
    """

    dataset: Dataset
    features: np.ndarray
    feature_mask: np.ndarray
    graph: TrackGraph
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

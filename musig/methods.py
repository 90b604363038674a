"""The registry of methods: the one place that names them and says what each one needs.

Adding a method: write its module (a frozen config dataclass and ``fit(ctx, cfg, callback=None)
-> MethodResult``, see :mod:`musig.fitting`) and add one :class:`Method` entry to ``REGISTRY``.
The pipeline, evaluation, the command line and the app read everything else from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from musig.baselines.als import ALSConfig
from musig.baselines.content import ContentConfig
from musig.baselines.deepwalk import DeepWalkConfig
from musig.baselines.item2vec import Item2VecConfig
from musig.baselines.node2vec import Node2VecConfig
from musig.baselines.popularity import PopularityConfig
from musig.fitting import Callback, FitContext, MethodResult, config_from_dict, config_to_dict
from musig.graph import GraphConfig
from musig.musig_config import MusigConfig
from musig.oracle import OracleConfig
from musig.retrieval import RetrievalConfig


def _none(cfg) -> tuple[str, ...]:
    return ()


def _never(cfg) -> bool:
    return False


def _always(cfg) -> bool:
    return True


@dataclass(frozen=True)
class Method:
    """One registered method.

    Attributes:
        name: what the command line, run folders and tables call it.
        default: its default config (an instance of its frozen config dataclass).
        module: the module defining ``fit(ctx, cfg, callback=None)``; imported only when the
            method is fitted, so reading the registry stays cheap (no torch).
        cost_rank: training cost on the sample world, 0 = slowest; ``evaluate`` starts the slow
            runs first and the app's first start trains the cheap ones first.
        relations: cfg -> the graph relations the method reads; only those are built (a method
            reads a graph when its config has a ``graph`` field).
        reads_content: cfg -> whether it reads content features (audio or a features table);
            without them the method refuses to train, and others never load them.
        embeds_uploads: cfg -> whether a run can embed a new audio file (inductive).
        baseline: compared with MUSIG in evaluation's paired tables.
        recommend_only: ranks tracks without embedding them (no map, no neighbours).
        without_content: (cfg, has_genre) -> (cfg without content, what is left), for methods
            that can train on playlists only when asked to (``--no-content``); None otherwise.
        retrieval: how its embeddings are queried (popularity term, ALS fold-in), chosen on
            validation (``benchmarks/tune.py``).
        distributed: trains on several processes (``--nproc``, :mod:`musig.distributed`).
        ceiling: ranks by a synthetic world's hidden truth (``oracle``): not in ``METHODS``
            (so never a baseline, never tuned, never trained by the app); ``evaluate`` adds it
            on synthetic worlds as the ceiling row.
        ranker: module whose ``ranker(run)`` ranks for this method instead of the shared
            embedding :class:`~musig.retrieval.Retriever` (the oracle's reads pids, not seeds).
    """

    name: str
    default: Any
    module: str
    cost_rank: int
    relations: Callable[[Any], tuple[str, ...]] = _none
    reads_content: Callable[[Any], bool] = _never
    embeds_uploads: Callable[[Any], bool] = _never
    baseline: bool = True
    recommend_only: bool = False
    without_content: Callable[[Any, bool], tuple[Any, str]] | None = None
    retrieval: RetrievalConfig = RetrievalConfig()
    distributed: bool = False
    ceiling: bool = False
    ranker: str | None = None

    def fit(self, ctx: FitContext, cfg, callback: Callback = None) -> MethodResult:
        """Fit the method; every method takes the same arguments."""
        return importlib.import_module(self.module).fit(ctx, cfg, callback)

    @property
    def config_class(self) -> type:
        return type(self.default)

    def retrieval_config(self, cfg, override: RetrievalConfig | None = None) -> RetrievalConfig:
        """The query settings of a run with config ``cfg`` (fold-in uses the run's own ALS
        regularisation and confidence)."""
        r = override or self.retrieval
        if r.foldin:
            r = replace(r, foldin_regularization=cfg.regularization, foldin_alpha=cfg.alpha)
        return r

    def config(self, overrides: dict | None = None):
        """The default config with ``overrides`` (plain values, e.g. from ``--set``) applied."""
        values = {**config_to_dict(self.default), **(overrides or {})}
        return config_from_dict(self.config_class, values)

    def graph_config(self, cfg) -> GraphConfig | None:
        """How this method's graph is built: its config's ``graph`` (None: it reads no graph)."""
        return getattr(cfg, "graph", None)

    def describe_graph(self, cfg) -> dict | None:
        """The resolved graph settings as plain values, recorded in runs and cache keys."""
        graph_cfg = self.graph_config(cfg)
        if graph_cfg is None:
            return None
        return {"relations": list(self.relations(cfg)), **config_to_dict(graph_cfg)}


def _cooc_only(cfg) -> tuple[str, ...]:
    return ("cooc",)


_MUSIG = {
    "module": "musig.train",
    "relations": MusigConfig.graph_relations,
    "reads_content": MusigConfig.reads_content,
    "embeds_uploads": lambda cfg: cfg.use_audio,
    "without_content": MusigConfig.without_content,
    "distributed": True,
}

# MUSIG's final configuration. "sage" is it with the co-occurrence task alone (the paper's
# single-task graph embedding): same inputs, relations, negatives, query shaping and steps, so
# the task mix is the only difference (tests/test_methods.py holds this).
FINAL = MusigConfig()

# In the order of the result tables.
REGISTRY: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "popularity",
            PopularityConfig(),
            "musig.baselines.popularity",
            cost_rank=7,
            recommend_only=True,
        ),
        Method("als", ALSConfig(), "musig.baselines.als", cost_rank=5),
        Method("item2vec", Item2VecConfig(), "musig.baselines.item2vec", cost_rank=3),
        Method("deepwalk", DeepWalkConfig(), "musig.baselines.deepwalk", 2, relations=_cooc_only),
        Method("node2vec", Node2VecConfig(), "musig.baselines.node2vec", 4, relations=_cooc_only),
        Method(
            "content",
            ContentConfig(),
            "musig.baselines.content",
            cost_rank=6,
            reads_content=_always,
            embeds_uploads=_always,
        ),
        Method("sage", replace(FINAL, tasks=(("cooc", 1.0),)), cost_rank=1, **_MUSIG),
        Method("musig", FINAL, cost_rank=0, baseline=False, **_MUSIG),
        Method(
            "oracle",
            OracleConfig(),
            "musig.oracle",
            cost_rank=8,
            baseline=False,
            recommend_only=True,
            ceiling=True,
            ranker="musig.oracle",
        ),
    )
}
METHODS = tuple(m for m in REGISTRY if not REGISTRY[m].ceiling)  # what is trained and compared
CEILING = "oracle"  # the generator's own ranking, scored on synthetic worlds only
BASELINES = tuple(m for m in METHODS if REGISTRY[m].baseline)
PRIMARY = "musig"  # the method the others are compared with

# What the app picks when the user has not: runs to compare, and runs to embed an upload with.
COMPARE_DEFAULT = ("musig", "als", "content")
UPLOAD_DEFAULT = ("musig", "content")

# MUSIG ablations: name -> (registered method, config overrides). Each removes one source or task,
# or keeps a single task, so the contribution of every part is visible next to the full model.
ABLATIONS: dict[str, tuple[str, dict]] = {
    "musig-no-audio": (
        PRIMARY,
        {"use_audio": False, "relations": ["cooc"], "tasks": [["cooc", 0.9], ["genre", 0.1]]},
    ),
    "musig-no-genre": (PRIMARY, {"tasks": [["cooc", 0.9], ["acoustic", 0.1]]}),
    "musig-no-artist": (PRIMARY, {"use_artist": False}),
    # The paper's multi-task sampling: one task drawn per step instead of every loss each step.
    "musig-task-sampling": (PRIMARY, {"task_mix": "sample"}),
    "musig-content-task": (PRIMARY, {"tasks": [["acoustic", 1.0]]}),
    "musig-genre-task": (PRIMARY, {"tasks": [["genre", 1.0]]}),
    "musig-no-track-vectors": (PRIMARY, {"use_track_vectors": False}),
    "musig-track-vectors-only": (
        PRIMARY,
        {"use_audio": False, "relations": [], "tasks": [["cooc", 1.0]]},
    ),
}


def get(name: str) -> Method:
    """The registered method ``name`` (ValueError naming the known ones otherwise)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; choose from {list(METHODS)}")
    return REGISTRY[name]


def spec(name: str) -> tuple[Method, dict]:
    """(method, overrides) of a registered method or an ablation name."""
    base, overrides = ABLATIONS.get(name, (name, {}))
    return get(base), overrides


def resolve_config(name: str, overrides: dict | None = None):
    """Config of a method or ablation with ``overrides`` on top (ValueError on a bad setting)."""
    method, own = spec(name)
    return method.config({**own, **(overrides or {})})


def by_cost(names) -> list[str]:
    """Method or ablation names, slowest to train first."""
    return sorted(names, key=lambda n: spec(n)[0].cost_rank)

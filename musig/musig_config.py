"""MUSIG's config: everything its training depends on, importable without torch.

The registry (:mod:`musig.methods`), the app's pages and the command line read it to list,
validate and record settings; only :mod:`musig.train` needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from musig.graph import RELATIONS, GraphConfig

# Organizational, content and stylistic supervision: co-occurrence, acoustic similarity, genre.
TASKS = ("cooc", "acoustic", "genre")


@dataclass(frozen=True)
class MusigConfig:
    """Everything MUSIG's training depends on; the defaults reproduce the README's results."""

    # Multi-task sampling: (task, probability) pairs; a task is drawn per step with these weights.
    # On validation, 0.8/0.1/0.1 kept warm NDCG at the single-task level and gave the best
    # cold-start recall; 0.6/0.2/0.2 cost warm NDCG.
    tasks: tuple[tuple[str, float], ...] = (("cooc", 0.8), ("acoustic", 0.1), ("genre", 0.1))
    # "sample": one task per step, drawn with the weights above (the paper's multi-task
    # sampling: auxiliary steps are taken away from co-occurrence). "sum": every task at every
    # step on one shared subgraph, loss = sum of weight x task loss (auxiliary losses added).
    # "sum" is the default: on validation it beat "sample" on both worlds (sample world 0.4999
    # vs 0.4950 NDCG, long-tail world 0.1668 vs 0.1580, with the artist input), and it is the
    # first mix to beat single-task `sage` there; the ablation "musig-task-sampling" keeps the
    # paper's mix in the tables (benchmarks/results/musig_validation.md).
    task_mix: str = "sum"
    use_audio: bool = True  # scaled audio features as node input (the content source)
    use_track_vectors: bool = True  # learnable input for tracks with playlist history
    # Learnable input per artist (tracks.csv / the MPD's artist_name), kept when a track is
    # trained as cold: rare and new tracks borrow from their artist's other tracks. Side
    # information the paper's model does not use (every top RecSys'18 system did); on
    # validation it raised NDCG on both worlds and cold recall@500 16x on the long-tail one.
    use_artist: bool = True
    relations: tuple[str, ...] = RELATIONS  # edge relations the encoder aggregates over
    hidden_channels: int = 128
    out_channels: int = 64
    num_layers: int = 2
    aggr: str = "mean"
    fanouts: tuple[int, ...] = (5, 3)  # neighbours sampled per layer and relation
    # Twice the batch for half the steps (2400 x 256 before): a step's subgraph covers most of a
    # small catalog whatever the batch, so a step of 512 costs about 1.1x one of 256 and training
    # takes about a third of the time; with the mixed negatives below, validation NDCG rose
    # (benchmarks/results/musig_validation.md).
    steps: int = 1200
    batch_size: int = 512  # playlists / pairs / labelled tracks per step
    lr: float = 4.5e-3  # x1.5 for the doubled batch
    track_vector_lr_scale: float = 10.0  # learning-rate multiplier of the per-track vectors
    weight_decay: float = 1e-5
    dropout: float = 0.1
    temperature: float = 0.1  # in-batch softmax temperature of the link tasks
    # Co-occurrence task: the mean of this many tracks of a playlist must pick out another track
    # of it among the batch's — the query evaluation makes. 1 gives plain pair link prediction.
    cooc_context: int = 4
    # Or contexts shaped like the challenge's seeds: sizes drawn from this tuple (first k or random
    # k tracks, see musig.tasks.sample_shaped_contexts); () keeps cooc_context random tracks.
    cooc_shape: tuple[int, ...] = ()
    cooc_first_share: float = 0.8  # share of "first k" contexts (8 of the 10 RecSys'18 scenarios)
    # Subtract log sampling probability from in-batch logits (Yi et al. 2019): without it,
    # popular tracks, which appear as negatives most often, are pushed away from everything.
    logq_correction: bool = True
    # Mixed negative sampling (Yang et al. 2020): this many tracks drawn uniformly from those
    # with playlist history join the in-batch negatives of the co-occurrence task, so tail
    # tracks, rarely anyone's target, are negatives too.
    uniform_negatives: int = 512
    mask_own_tracks: bool = True  # a candidate in the row's own playlist is no negative
    cold_drop: float = 0.1  # share of batch tracks trained as if cold (no playlist edges/vector)
    holdout_fraction: float = 0.05  # edges / labels held out for the diagnostics
    eval_every: int = 200
    eval_size: int = 2000  # held-out pairs / labels per diagnostic
    num_threads: int = 1  # torch threads; more only pays off for much larger batches
    graph: GraphConfig = field(default_factory=GraphConfig)

    def __post_init__(self):
        names = [t for t, _ in self.tasks]
        unknown = [t for t in names if t not in TASKS]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; choose from {TASKS}")
        if len(set(names)) != len(names):
            raise ValueError(f"each task may appear once in tasks, got {names}")
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
        if self.task_mix not in ("sample", "sum"):
            raise ValueError(f"MusigConfig: task_mix must be sample or sum, got {self.task_mix!r}")
        if self.uniform_negatives < 0:
            raise ValueError(f"MusigConfig: uniform_negatives {self.uniform_negatives} < 0")
        if self.aggr not in ("mean", "max", "sum"):
            raise ValueError(f"MusigConfig: aggr must be mean, max or sum, got {self.aggr!r}")
        unknown = sorted(set(self.relations) - set(RELATIONS))
        if unknown:
            raise ValueError(f"MusigConfig: unknown relation(s) {unknown}; use {list(RELATIONS)}")
        if self.num_layers < 1 or len(self.fanouts) != self.num_layers:
            raise ValueError(
                f"need one fan-out per layer: num_layers={self.num_layers}, fanouts={self.fanouts}"
            )

    def graph_relations(self) -> tuple[str, ...]:
        """Relations training reads: those aggregated over, and the acoustic one for its task
        (the co-occurrence task samples playlists, not the relation)."""
        acoustic_task = any(t == "acoustic" and p > 0 for t, p in self.tasks)
        return tuple(
            r for r in RELATIONS if r in self.relations or (r == "acoustic" and acoustic_task)
        )

    def without_content(self, has_genre: bool) -> tuple[MusigConfig, str]:
        """This config with every content source removed (no audio input, no acoustic relation
        or task), for playlists-only data, and a line saying what is left."""
        keep = [(t, p) for t, p in self.tasks if t == "cooc" or (t == "genre" and has_genre)]
        if not keep:
            raise ValueError("without content and genre labels no task of this config is left")
        cfg = replace(
            self, use_audio=False, relations=("cooc",) if "cooc" in self.relations else (),
            tasks=tuple(keep),
        )  # fmt: skip
        what = ", ".join(f"{t} {p:g}" for t, p in keep)
        line = f"without content: sources co-occurrence{' + genre' * has_genre}; tasks {what}"
        if [t for t, _ in keep] == ["cooc"]:
            line += " (no audio and no genre: this is single-task `sage` without audio)"
        return cfg, line

    def reads_content(self) -> bool:
        """Whether training reads content features (audio input or the acoustic relation)."""
        return self.use_audio or "acoustic" in self.graph_relations()

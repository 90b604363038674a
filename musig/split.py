"""Evaluation splits following the RecSys Challenge 2018 protocol, written as dataset folders.

A split folder is a dataset folder of its own (readable with :func:`musig.data.load_dataset`):

- ``tracks.csv``: the source's whole track index, same rows in the same order, so embeddings of
  every run line up. Tracks the source knew only from playlists become rows with blank
  genre/audio (and therefore ``in_catalog`` True when the split is loaded).
- ``playlists/``: the training playlists, i.e. every non-test playlist with the cold-start tracks
  removed; those left with fewer than 2 distinct tracks are dropped.
- ``challenge_set.json`` / ``challenge_truth.json``: the test playlists' seeds and held-out tracks.
- ``cold_tracks.txt``: the cold-start tracks, one URI a line. They appear in no training playlist
  and in no seed, only among held-out tracks, so only content can place them.
- ``split.json``: config, scenarios used with their pids, counts and the source fingerprint.
- copies of the source's ``features.csv``/``features.parquet``, ``world.json``, ``audio/``,
  ``cache/``, ``truth/`` and the audio files ``tracks.csv`` points to, so content features (and
  an MPD-profile world's generator side) stay available.
- ``validation/`` (when ``num_val_playlists > 0``): a split of the training playlists, for tuning.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from musig.data import Dataset, load_dataset
from musig.utils import as_rng, atomic_dir
from musig.writer import write_dataset


@dataclass(frozen=True)
class Scenario:
    """One challenge category: which seeds a test playlist shows."""

    name: str
    num_samples: int  # seed tracks shown
    shuffled: bool  # random seeds instead of the first ones
    with_title: bool  # the playlist name is shown


# The ten RecSys Challenge 2018 categories.
RECSYS18_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("title_only", 0, False, True),
    Scenario("title_first1", 1, False, True),
    Scenario("title_first5", 5, False, True),
    Scenario("first5", 5, False, False),
    Scenario("title_first10", 10, False, True),
    Scenario("first10", 10, False, False),
    Scenario("title_first25", 25, False, True),
    Scenario("title_random25", 25, True, True),
    Scenario("title_first100", 100, False, True),
    Scenario("title_random100", 100, True, True),
)


@dataclass(frozen=True)
class SplitConfig:
    """How to draw a split. Counts given as a float in (0, 1) are fractions of the playlists."""

    seed: int = 0  # every random choice of the split derives from it
    num_test_playlists: int | float = 1000  # challenge playlists (capped by what scenarios allow)
    num_val_playlists: int | float = 0  # > 0 also writes OUT/validation from the training part
    cold_fraction: float = 0.02  # of tracks in playlists, made cold-start (held-out only)
    min_holdouts: int = 5  # a playlist supports a scenario if it has num_samples + this many tracks
    scenarios: tuple[Scenario, ...] = field(default=RECSYS18_SCENARIOS)

    def __post_init__(self) -> None:
        scenarios = tuple(s if isinstance(s, Scenario) else Scenario(*s) for s in self.scenarios)
        object.__setattr__(self, "scenarios", scenarios)
        if not scenarios:
            raise ValueError("SplitConfig: scenarios is empty")
        names = [s.name for s in scenarios]
        if len(set(names)) != len(names):
            raise ValueError(f"SplitConfig: duplicate scenario names in {names}")
        for s in scenarios:
            if s.num_samples < 0 or (s.num_samples == 0 and not s.with_title):
                raise ValueError(f"SplitConfig: scenario {s.name!r} shows nothing")
        if not 0 <= self.cold_fraction < 1:
            raise ValueError(
                f"SplitConfig: cold_fraction must be in [0, 1), got {self.cold_fraction}"
            )
        if self.min_holdouts < 1:
            raise ValueError(f"SplitConfig: min_holdouts must be >= 1, got {self.min_holdouts}")
        for name in ("num_test_playlists", "num_val_playlists"):
            v = getattr(self, name)
            if v < 0 or (isinstance(v, float) and v >= 1):
                raise ValueError(f"SplitConfig: {name} must be an int >= 0 or a float in [0, 1)")


def _resolve_count(value: int | float, total: int) -> int:
    return int(round(value * total)) if isinstance(value, float) else int(value)


def _distinct_counts(ds: Dataset, cold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int64 (P,) distinct tracks per playlist, and distinct non-cold tracks per playlist."""
    rows = np.repeat(np.arange(ds.num_playlists), np.diff(ds.playlist_indptr))
    pairs = np.sort(rows * ds.num_tracks + ds.playlist_tracks)
    # Sort + diff rather than np.unique: far faster on tens of millions of int64 keys.
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
    row, track = pairs // ds.num_tracks, pairs % ds.num_tracks
    n_all = np.bincount(row, minlength=ds.num_playlists)
    n_warm = np.bincount(row[~cold[track]], minlength=ds.num_playlists)
    return n_all, n_warm


def _assign_scenarios(support: np.ndarray, n_test: int, rank: np.ndarray) -> np.ndarray:
    """Balanced assignment of playlists to scenarios.

    Each scenario gets an equal share of ``n_test``. Scenarios are served from the fewest
    supporting playlists up; one that too few playlists support takes what it can, splitting them
    with the not-yet-served scenarios of identical support (e.g. first vs random 100), and its
    shortfall is spread over the scenarios served after it.

    Args:
        support: bool (S, P), playlist p can serve scenario s.
        n_test: playlists wanted in total.
        rank: int (P,) random priority; lower is picked first.

    Returns:
        int64 (P,): scenario of each playlist, -1 if not a test playlist.
    """
    n_sc, n_pl = support.shape
    assigned = np.full(n_pl, -1, np.int64)
    order = sorted(range(n_sc), key=lambda s: (int(support[s].sum()), s))
    remaining = n_test
    for j, s in enumerate(order):
        free = support[s] & (assigned < 0)
        cand = np.flatnonzero(free)
        cand = cand[np.argsort(rank[cand], kind="stable")]
        twins = sum(np.array_equal(support[t] & (assigned < 0), free) for t in order[j:])
        quota = min(-(-remaining // (n_sc - j)), -(-len(cand) // twins))
        assigned[cand[:quota]] = s
        remaining -= len(cand[:quota])
    return assigned


def _seeds_and_holdouts(
    tracks: np.ndarray, cold: np.ndarray, sc: Scenario, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Seed and held-out track indices (int64, playlist order, distinct) of one test playlist."""
    _, first = np.unique(tracks, return_index=True)
    distinct = tracks[np.sort(first)]
    # Splits never leak: seeds are drawn among non-cold tracks only, so a cold track is only ever
    # a held-out track and never reaches the model through a seed or a training playlist.
    warm_pos = np.flatnonzero(~cold[distinct])
    if sc.shuffled:
        seed_pos = np.sort(rng.choice(warm_pos, size=sc.num_samples, replace=False))
    else:
        seed_pos = warm_pos[: sc.num_samples]
    is_seed = np.zeros(len(distinct), bool)
    is_seed[seed_pos] = True
    return distinct[is_seed], distinct[~is_seed]


def _extra_files(root: Path, audio_paths: list[str]) -> list[Path]:
    """Source files (relative paths) that carry content features: tables, world, audio, caches."""
    rels: set[Path] = set()
    for name in ("features.csv", "features.parquet", "world.json"):
        if (root / name).is_file():
            rels.add(Path(name))
    for folder in ("audio", "cache", "truth"):  # truth/: an MPD-profile world's generator side
        if (root / folder).is_dir():
            rels.update(p.relative_to(root) for p in (root / folder).rglob("*") if p.is_file())
    for a in audio_paths:
        rel = Path(a)
        if a and not rel.is_absolute() and ".." not in rel.parts and (root / rel).is_file():
            rels.add(rel)
    return sorted(rels)


def make_split(dataset: Dataset, out: str | Path, cfg: SplitConfig = SplitConfig()) -> dict:
    """Draw an evaluation split of ``dataset`` and write it as the dataset folder ``out``.

    Steps (all random choices from ``cfg.seed``):

    1. Cold-start tracks: ``round(cold_fraction * K)`` of the K tracks that appear in playlists
       and come from the source's tracks.csv (``in_catalog``), uniformly.
    2. Scenario support: playlist p supports scenario s if it has at least
       ``s.num_samples + cfg.min_holdouts`` distinct tracks, at least ``s.num_samples`` of them
       non-cold, and (when ``s.with_title``) a non-empty name. Scenarios no playlist supports are
       not used.
    3. Test playlists: balanced over the supported scenarios (see :func:`_assign_scenarios`),
       uniformly at random among the playlists that support each.
    4. Per test playlist: seeds = the first (or, if shuffled, random) ``num_samples`` distinct
       non-cold tracks, held-out = its other distinct tracks, cold ones included.
    5. Training playlists: all others with cold tracks removed; dropped if fewer than 2 distinct
       tracks remain.

    Args:
        dataset: the source dataset (its own challenge set, if any, is ignored).
        out: folder to write; replaced as a whole if it exists.
        cfg: split settings.

    Returns:
        The content of ``split.json``.

    Raises:
        ValueError: no playlist supports any scenario, or the test set would take every playlist.
    """
    out = Path(out)
    with atomic_dir(out) as tmp:
        info = _write_split(dataset, tmp, cfg, kind="test", source=str(dataset.root))
        if _resolve_count(cfg.num_val_playlists, info["num_train_playlists"]) > 0:
            # The validation split is drawn from the training part only: the test holdouts are not
            # in it, so tuning never sees them.
            _write_validation(load_dataset(tmp), tmp / "validation", cfg)
    return info


def validation_split(
    split_dataset: Dataset, out: str | Path, cfg: SplitConfig = SplitConfig()
) -> dict:
    """Carve a validation split out of the training playlists of a split, for tuning.

    ``split_dataset`` is a split folder loaded with ``load_dataset``: its playlists are the
    training playlists only, so no test held-out track can leak into validation. Uses seed
    ``cfg.seed + 1`` and ``cfg.num_val_playlists`` challenge playlists; new cold tracks are drawn
    from the training tracks with the same ``cold_fraction``.

    Returns:
        The content of the validation folder's ``split.json``.
    """
    if _resolve_count(cfg.num_val_playlists, split_dataset.num_playlists) < 1:
        raise ValueError("validation_split: cfg.num_val_playlists must be > 0")
    out = Path(out)
    with atomic_dir(out) as tmp:
        return _write_validation(split_dataset, tmp, cfg)


def _write_validation(split_dataset: Dataset, out: Path, cfg: SplitConfig) -> dict:
    val_cfg = replace(
        cfg, seed=cfg.seed + 1, num_test_playlists=cfg.num_val_playlists, num_val_playlists=0
    )
    return _write_split(split_dataset, out, val_cfg, kind="validation", source="..")


def _write_split(ds: Dataset, out: Path, cfg: SplitConfig, *, kind: str, source: str) -> dict:
    rng = as_rng(cfg.seed)
    n_tracks, n_pl = ds.num_tracks, ds.num_playlists
    uris = ds.tracks["track_uri"].to_numpy(dtype=object)

    in_catalog = ds.tracks["in_catalog"].to_numpy(dtype=bool)
    candidates = np.flatnonzero((ds.popularity > 0) & in_catalog)
    n_cold = int(round(cfg.cold_fraction * len(candidates)))
    cold = np.zeros(n_tracks, bool)
    cold[rng.choice(candidates, size=n_cold, replace=False)] = True

    n_all, n_warm = _distinct_counts(ds, cold)
    has_name = np.array([bool(name.strip()) for name in ds.playlist_names], dtype=bool)
    support = np.stack(
        [
            (n_all >= s.num_samples + cfg.min_holdouts)
            & (n_warm >= s.num_samples)
            & (has_name | (not s.with_title))
            for s in cfg.scenarios
        ]
    )  # (S, P)
    n_test = _resolve_count(cfg.num_test_playlists, n_pl)
    if not support.any():
        raise ValueError(
            f"{ds.root}: no playlist supports any scenario (need a name or at least "
            f"{min(s.num_samples for s in cfg.scenarios) + cfg.min_holdouts} distinct tracks)"
        )
    assigned = _assign_scenarios(support, n_test, rng.permutation(n_pl))
    is_test = assigned >= 0
    if is_test.sum() < n_test:
        warnings.warn(
            f"{ds.root}: only {int(is_test.sum())} of {n_test} requested {kind} playlists are "
            "long enough for a scenario; using those",
            stacklevel=3,
        )
    if is_test.all():
        raise ValueError(f"{ds.root}: the {kind} set would take every playlist; ask for fewer")

    challenge, truth = [], {}
    for i in np.flatnonzero(is_test):
        sc = cfg.scenarios[assigned[i]]
        seeds, holdouts = _seeds_and_holdouts(ds.playlist(i), cold, sc, rng)
        pid = int(ds.pids[i])
        entry = {"pid": pid}
        if sc.with_title:
            entry["name"] = ds.playlist_names[i]
        entry.update(
            num_holdouts=len(holdouts),
            num_samples=len(seeds),
            num_tracks=len(seeds) + len(holdouts),
            tracks=uris[seeds].tolist(),
        )
        challenge.append(entry)
        truth[pid] = uris[holdouts].tolist()

    # Splits never leak: test playlists are left out of training entirely and cold tracks are cut
    # from every training playlist, so no held-out cold track reaches a training edge.
    train = np.flatnonzero(~is_test & (n_warm >= 2))

    def training_playlists():  # drawn as the writer asks: at MPD size the list would not fit
        for i in train:
            tracks = ds.playlist(i)
            uris_i = uris[tracks[~cold[tracks]]].tolist()
            yield {"pid": int(ds.pids[i]), "name": ds.playlist_names[i], "tracks": uris_i}

    used = [
        {**asdict(s), "num_playlists": int(np.sum(assigned == j)), "pids": ds.pids[assigned == j]}
        for j, s in enumerate(cfg.scenarios)
    ]
    info = {
        "kind": kind,
        "config": asdict(cfg),
        "source": {
            "root": source,
            "fingerprint": ds.fingerprint,
            "num_tracks": n_tracks,
            "num_playlists": n_pl,
        },
        "scenarios": [{**u, "pids": u["pids"].tolist()} for u in used if u["num_playlists"] > 0],
        "unused_scenarios": [u["name"] for u in used if u["num_playlists"] == 0],
        "num_test_playlists": int(is_test.sum()),
        "num_train_playlists": len(train),
        "num_dropped_playlists": int(n_pl - is_test.sum() - len(train)),
        "num_cold_tracks": n_cold,
    }
    extra = {
        "split.json": (json.dumps(info, indent=2) + "\n").encode("utf-8"),
        "cold_tracks.txt": "".join(f"{u}\n" for u in uris[cold]).encode("utf-8"),
    }
    # All rows go to tracks.csv (in_catalog dropped) so the split's track index equals the source's.
    write_dataset(
        out,
        ds.tracks.drop(columns=["in_catalog"]),
        training_playlists(),
        challenge=challenge,
        truth=truth,
        extra_files=extra,
        compresslevel=1,  # written once per workspace and read back at once: speed over size
    )
    for rel in _extra_files(ds.root, ds.tracks["audio"].tolist()):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ds.root / rel, out / rel)
    return info


def read_scenarios(root: str | Path) -> dict[str, list[int]]:
    """Scenario name -> challenge pids, from a split folder's ``split.json``, in the canonical
    scenario order (empty for a folder without one, e.g. a dataset with its own challenge)."""
    file = Path(root) / "split.json"
    if not file.is_file():
        return {}
    info = json.loads(file.read_text())
    return {s["name"]: [int(p) for p in s["pids"]] for s in info.get("scenarios", [])}


def read_cold_tracks(root: str | Path) -> set[str]:
    """URIs of the split's cold tracks (in no training playlist, held out only)."""
    file = Path(root) / "cold_tracks.txt"
    return set(file.read_text().split()) if file.is_file() else set()

"""``python -m musig``: every job the app does, from the command line.

Bad input exits with status 2 and a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from musig.cli_library import add_library_parser
from musig.cli_runs import ANN_HELP, add_run_parsers


def parse_overrides(pairs: list[str]) -> dict:
    """``key=value`` pairs; values are parsed as JSON when they can be (numbers, lists, bools)."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        if "." in key:  # nested config, e.g. graph.min_cooccurrence=2
            head, tail = key.split(".", 1)
            out.setdefault(head, {})[tail] = out.pop(key)
    return out


def cmd_generate(a) -> None:
    if a.profile == "mpd":
        from musig.synth import MpdConfig, generate_mpd_world

        if a.tracks is not None:
            raise ValueError("--tracks: the MPD profile's catalog grows with --playlists")
        if a.audio != "examples":
            raise ValueError("--audio: the MPD profile writes example clips only")
        given = {"num_playlists": a.playlists, "num_genres": a.genres}
        cfg = MpdConfig(seed=a.seed, **{k: v for k, v in given.items() if v is not None})
        generate_mpd_world(a.out, cfg, workers=a.workers, progress=not a.quiet)
        counts = json.loads((a.out / "world.json").read_text())["counts"]
        print(
            f"wrote {a.out}: {counts['tracks']} tracks ({counts['cold_tracks']} cold), "
            f"{counts['playlists']} playlists, {counts['entries']} entries, {cfg.num_genres} genres"
        )
        return
    from musig.synth import WorldConfig, generate_world

    tracks, playlists = a.tracks or 5000, a.playlists or 10000
    genres = a.genres or 10
    cfg = WorldConfig(num_tracks=tracks, num_playlists=playlists, num_genres=genres, seed=a.seed)
    generate_world(a.out, cfg, audio_files=a.audio, progress=not a.quiet)
    print(f"wrote {a.out}: {tracks} tracks, {playlists} playlists, {genres} genres")


def cmd_features(a) -> None:
    from musig.data import load_dataset
    from musig.features import load_features

    ds = load_dataset(a.data)
    feats = load_features(ds, cache_dir=a.cache_dir, n_jobs=a.jobs, progress=not a.quiet)
    print(
        f"{int(feats.mask.sum())}/{ds.num_tracks} tracks have {len(feats.names)} "
        f"{feats.source} features"
    )


def cmd_train(a) -> None:
    callbacks = [] if a.quiet else [_print_eval]
    if a.progress_file is not None:
        callbacks.append(_ProgressWriter(a.progress_file))
    kwargs = {
        "overrides": parse_overrides(a.set),
        "seed": a.seed,
        "compute_map": not a.no_map,
        "progress": not a.quiet,
        "callback": _Callbacks(callbacks) if callbacks else None,
        "no_content": a.no_content,
        "graph": a.graph,
    }
    if a.nproc > 1 or ("RANK" in os.environ and "WORLD_SIZE" in os.environ):  # or torchrun
        from musig.distributed import train_distributed

        path = train_distributed(a.nproc, a.data, a.method, a.out, **kwargs)
    else:
        from musig.pipeline import train_run
        from musig.utils import writing

        # Held for the whole training, so a second `train --out` the same folder is refused at
        # once instead of replacing this run when it finishes.
        with writing(a.out):
            path = train_run(a.data, a.method, a.out, **kwargs)
    meta = json.loads((path / "run.json").read_text())
    print(f"saved {a.method} run to {path} ({meta['train_seconds']:.1f} s)")


class _Callbacks:
    """Every training record to each of several callbacks (picklable for ``--nproc``)."""

    def __init__(self, fns: list):
        self.fns = fns

    def __call__(self, record: dict) -> None:
        for fn in self.fns:
            fn(record)


def cmd_graph(a) -> None:
    from musig.data import load_dataset
    from musig.features import load_features
    from musig.methods import get, resolve_config
    from musig.parquet_graph import build_parquet_graph
    from musig.pipeline import check_features

    ds = load_dataset(a.data)
    method, cfg = get(a.method), resolve_config(a.method, parse_overrides(a.set))
    graph_cfg, relations = method.graph_config(cfg), method.relations(cfg)
    if graph_cfg is None or not relations:
        raise ValueError(f"{a.method} reads no graph; nothing to build")
    x = mask = None
    if "acoustic" in relations:  # the scaled features a run of this method trains on
        features = load_features(ds, progress=not a.quiet)
        check_features(method, features, ds.root)
        x, mask = features.scaled, features.mask
    spark = None
    if a.engine == "spark":
        from musig.spark_graph import session

        spark = session(a.spark_master, a.spark_memory)
    try:
        meta = build_parquet_graph(
            ds, x, mask, graph_cfg, relations, a.out, engine=a.engine, spark=spark
        )
    finally:
        if spark is not None:
            spark.stop()
    edges = ", ".join(f"{r} {n:,} edges" for r, n in meta["edges"].items())
    print(f"wrote {a.out} ({a.engine}, {meta['seconds']:.1f} s): {edges}")


class _ProgressWriter:
    """Append each training record as a JSON line, flushed, so another process can follow it."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def __call__(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def _print_eval(record: dict) -> None:
    if record.get("kind") == "eval":
        shown = {k: round(v, 4) for k, v in record.items() if k.endswith(("_auc", "_acc"))}
        print(f"step {record['step']}: {shown}", file=sys.stderr)


def cmd_split(a) -> None:
    from musig.data import load_dataset
    from musig.split import SplitConfig, make_split

    given = {
        "num_test_playlists": a.test,
        "num_val_playlists": a.val,
        "cold_fraction": a.cold_fraction,
    }
    cfg = SplitConfig(seed=a.seed, **{k: v for k, v in given.items() if v is not None})
    make_split(load_dataset(a.data), a.out, cfg)
    print(f"wrote split {a.out}")


def cmd_evaluate(a) -> None:
    from musig.evaluation import EvalConfig, evaluate
    from musig.methods import METHODS
    from musig.retrieval import parse_query

    pairs: dict[str, list[str]] = {}
    for item in a.set:
        method, sep, pair = item.partition(":")
        if not sep:
            raise ValueError(f"evaluate --set expects METHOD:KEY=VALUE, got {item!r}")
        pairs.setdefault(method, []).append(pair)
    queries = {}
    for item in a.query:
        method, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"evaluate --query expects METHOD=QUERY, got {item!r}")
        queries[method] = parse_query(text)
    cfg = EvalConfig(
        methods=tuple(a.methods or METHODS),
        ablations=a.ablations,
        seeds=tuple(a.seeds),
        ann=a.ann,
        overrides={method: parse_overrides(p) for method, p in pairs.items()},
        queries=queries,
    )
    evaluate(a.data, a.out, cfg, runs_dir=a.runs, jobs=a.jobs, progress=not a.quiet)
    print((a.out / "results.md").read_text())


def build_parser() -> argparse.ArgumentParser:
    from musig.methods import METHODS, PRIMARY

    p = argparse.ArgumentParser(prog="python -m musig", description=__doc__.splitlines()[0])
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic world (dataset folder with audio)")
    g.add_argument("--out", required=True, type=Path)
    g.add_argument(
        "--profile",
        choices=("default", "mpd"),
        default="default",
        help="default: the sample world's generator; mpd: Million Playlist Dataset shape and long "
        "tail at any size (gzipped slices in data/, a features table, a few clips)",
    )
    g.add_argument("--tracks", type=int, help="default profile: catalog size (default 5000)")
    g.add_argument("--playlists", type=int, help="default 10000 (mpd profile: 50000)")
    g.add_argument("--genres", type=int, help="default 10")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--audio",
        choices=("examples", "all", "none"),
        default="examples",
        help="which audio files to write (others are re-rendered on demand)",
    )
    g.add_argument("--workers", type=int, help="mpd profile: processes (default: all cores)")
    g.set_defaults(fn=cmd_generate)

    f = sub.add_parser("features", help="extract and cache content features of a dataset")
    f.add_argument("--data", required=True, type=Path)
    f.add_argument("--cache-dir", type=Path, help="where the cache goes if DATA is read-only")
    f.add_argument("--jobs", type=int, default=1)
    f.set_defaults(fn=cmd_features)

    t = sub.add_parser("train", help="train a method on a dataset folder into a run folder")
    t.add_argument("--data", required=True, type=Path)
    t.add_argument("--method", default=PRIMARY, help=f"one of {', '.join(METHODS)}")
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, e.g. steps=600 or graph.min_cooccurrence=2",
    )
    t.add_argument("--no-map", action="store_true", help="skip the 2-D UMAP map")
    t.add_argument(
        "--no-content",
        action="store_true",
        help="musig/sage on playlists only (no audio, no features table): prints what is left",
    )
    t.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="train on N processes with torch.distributed (gloo); batch_size is split over them",
    )
    t.add_argument(
        "--graph",
        type=Path,
        help="train on this Parquet graph (python -m musig graph) instead of building one",
    )
    t.add_argument(
        "--progress-file",
        type=Path,
        help="append training records as JSON lines (for the app's progress view)",
    )
    t.set_defaults(fn=cmd_train)

    gr = sub.add_parser("graph", help="build a method's track graph as Parquet edge lists")
    gr.add_argument("--data", required=True, type=Path)
    gr.add_argument("--out", required=True, type=Path)
    gr.add_argument("--engine", choices=("local", "spark"), default="local")
    gr.add_argument("--method", default=PRIMARY, help="whose relations and graph settings")
    gr.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override as for train, e.g. graph.min_cooccurrence=2",
    )
    gr.add_argument("--spark-master", default="local[2]", help="when not under spark-submit")
    gr.add_argument("--spark-memory", default="2g", help="driver memory of a local Spark")
    gr.set_defaults(fn=cmd_graph)

    add_run_parsers(sub)  # embed, recommend, export, map

    s = sub.add_parser("split", help="write an evaluation split (RecSys'18 scenarios)")
    s.add_argument("--data", required=True, type=Path)
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--test", type=int, help="number of test playlists (default 1000)")
    s.add_argument("--val", type=int, help="also write SPLIT/validation with this many playlists")
    s.add_argument("--cold-fraction", type=float, help="share of tracks made cold (default 0.02)")
    s.set_defaults(fn=cmd_split)

    v = sub.add_parser("evaluate", help="train/reuse and score methods on a split")
    v.add_argument("--data", required=True, type=Path, help="a split folder (musig split)")
    v.add_argument("--out", required=True, type=Path)
    v.add_argument("--methods", nargs="+", help="default: every baseline and musig")
    v.add_argument("--ablations", action="store_true", help="also the MUSIG ablations")
    v.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds")
    v.add_argument("--runs", type=Path, help="run cache folder (default OUT/runs)")
    v.add_argument("--ann", action="store_true", help=ANN_HELP)
    v.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="METHOD:KEY=VALUE",
        help="a method's setting for this evaluation, e.g. deepwalk:epochs=5 (recorded in the "
        "results; the run cache keys on it)",
    )
    v.add_argument(
        "--query",
        action="extend",
        nargs="+",
        default=[],
        metavar="METHOD=QUERY",
        help="a method's query, chosen on validation: cos or foldin, optionally +BETA for "
        "cos + BETA*log(1 + popularity), e.g. als=cos+0.03 (recorded in the results)",
    )
    v.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="runs trained at once, one core each (default: 2 where there are 2 cores)",
    )
    v.set_defaults(fn=cmd_evaluate)

    add_library_parser(sub)
    return p


def _one_line_warnings(command: str):
    """``warnings.showwarning`` printing ``musig CMD: warning: ...`` (no source line)."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message).splitlines()[0] if str(message) else category.__name__
        print(f"musig {command}: warning: {text}", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # file names that are not UTF-8 print escaped
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        # Python's default filters on purpose: musig's own warnings (ignored seeds, unreadable
        # audio) show, library deprecation notices (torch.jit) do not bury the one-line reason.
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(args.command)
            args.fn(args)
    except (ValueError, OSError) as e:  # OSError: missing files, folders given as files, ...
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"musig {args.command}: error: {reason}", file=sys.stderr)
        return 2
    return 0

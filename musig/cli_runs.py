"""``python -m musig`` commands that use a saved run: embed, recommend, export, map."""

from __future__ import annotations

from pathlib import Path

ANN_HELP = "rank with an approximate index (voyager HNSW) instead of exact search: large catalogs"


def cmd_embed(a) -> None:
    from musig.runs import load_run

    run = load_run(a.run)
    for file in a.files:
        emb = run.embed_audio(file, a.k)
        print(f"{file}: nearest tracks in {run.name} ({run.method})")
        if emb.far_from_catalog:
            print(
                f"  note: far from every catalog track (acoustic similarity "
                f"{emb.acoustic_similarity:.2f}); neighbours are only the least distant"
            )
        meta = run.tracks.set_index("track_uri")
        for rank, (uri, score) in enumerate(zip(emb.neighbor_uris, emb.scores, strict=True)):
            row = meta.loc[uri]
            print(
                f"  {rank + 1:2d}. {score:.3f}  {row.track_name} — {row.artist_name} "
                f"[{row.genre or '?'}]  {uri}"
            )


def cmd_recommend(a) -> None:
    from musig.data import load_dataset
    from musig.runs import load_run
    from musig.submission import write_submission

    if a.data is None and a.challenge is None:
        raise ValueError("recommend needs --data DIR (its challenge_set.json) or --challenge FILE")
    # Without --data the dataset is not loaded (minutes at MPD size): seeds are matched to the
    # run's catalog by URI and unknown ones are counted in a warning.
    ds = load_dataset(a.data) if a.data is not None else None
    run = load_run(a.run, ds, ann=a.ann)
    challenge = _challenge(a, ds)
    if a.nproc > 1:
        from musig.distributed import recommend_distributed

        if a.challenge is not None or a.ann:
            raise ValueError("--nproc completes DATA/challenge_set.json by exact search only")
        kw = {"k": a.k, "team": a.team, "email": a.email}
        recommend_distributed(a.nproc, a.run, a.data, a.out, **kw)
        n = len(challenge)
    else:
        n = write_submission(run, challenge, a.out, team=a.team, email=a.email, k=a.k)
    print(f"wrote {n} playlists x {a.k} tracks to {a.out}")


def _challenge(a, ds):
    from musig.mpd import read_challenge

    if a.challenge is None:
        if ds.challenge is None:
            raise ValueError(f"{a.data} has no challenge_set.json; pass --challenge FILE")
        return ds.challenge
    return read_challenge(a.challenge)


def cmd_export(a) -> None:
    from musig.export import export_run
    from musig.runs import load_run

    out = export_run(load_run(a.run), a.out, a.format)
    print(f"wrote {out}")


def cmd_map(a) -> None:
    from musig.runs import draw_map

    print(f"placed {draw_map(a.run):,} tracks on the 2-D map of {a.run}")


def add_run_parsers(sub) -> None:
    e = sub.add_parser("embed", help="embed audio files with a run; print nearest tracks")
    e.add_argument("--run", required=True, type=Path)
    e.add_argument("files", nargs="+", type=Path)
    e.add_argument("-k", type=int, default=10)
    e.set_defaults(fn=cmd_embed)

    r = sub.add_parser("recommend", help="complete challenge playlists (RecSys'18 submission)")
    r.add_argument("--run", required=True, type=Path)
    r.add_argument(
        "--data", type=Path, help="the dataset the run was trained on (checked); its challenge set"
    )
    r.add_argument("--challenge", type=Path, help="default: DATA/challenge_set.json")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("-k", type=int, default=500)
    r.add_argument("--team", default="musig")
    r.add_argument("--email", default="musig@example.org")
    r.add_argument("--ann", action="store_true", help=ANN_HELP)
    r.add_argument("--nproc", type=int, default=1, help="split the playlists over N processes")
    r.set_defaults(fn=cmd_recommend)

    x = sub.add_parser("export", help="export a run's embeddings")
    x.add_argument("--run", required=True, type=Path)
    x.add_argument("--format", choices=("parquet", "tsv"), default="parquet")
    x.add_argument(
        "--out",
        required=True,
        type=Path,
        help="parquet file, or a folder for TSV (vectors.tsv + metadata.tsv)",
    )
    x.set_defaults(fn=cmd_export)

    m = sub.add_parser("map", help="draw a run's 2-D map (runs trained with --no-map)")
    m.add_argument("--run", required=True, type=Path)
    m.set_defaults(fn=cmd_map)

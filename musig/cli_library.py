"""``python -m musig library add|playlist``: the music library's commands (see musig.library)."""

from __future__ import annotations

import sys
from pathlib import Path

_MAX_LISTED = 50  # skipped files, warnings and playlist misses printed one by one


def _listed(title: str, lines: list[str], more_at: str) -> None:
    if not lines:
        return
    print(f"{title}:")
    for line in lines[:_MAX_LISTED]:
        print(f"  {line}")
    if len(lines) > _MAX_LISTED:
        print(f"  ... and {len(lines) - _MAX_LISTED} more (all in {more_at})")


def cmd_library_add(a) -> None:
    from musig.library import ScanConfig, check_can_embed, embed_library, open_library, scan_library
    from musig.runs import load_run

    run = None if a.run is None else load_run(a.run)
    if run is not None:
        check_can_embed(run)  # before the scan: ALS, popularity, ... cannot place library files
    cfg = ScanConfig(n_jobs=a.jobs, progress=not a.quiet)
    try:
        res = scan_library(a.dir, a.library, cfg)
    except KeyboardInterrupt:
        print("musig library: interrupted; files done so far are cached, run again to resume",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(130) from None
    usable = int((res.files["status"] == "ok").sum())
    print(
        f"library {res.libdir} of {res.root}: {len(res.files)} audio files ({usable} usable, "
        f"{len(res.files) - usable} skipped), {len(res.playlists)} playlists; {res.reused} from "
        f"the cache, {res.extracted} decoded ({res.seconds:.1f} s)"
    )
    table = res.libdir / "files.parquet"
    _listed("skipped", [f"{p}: {r}" for p, r in res.skipped.itertuples(index=False)], table)
    _listed("warnings", [f"{p}: {w}" for p, w in res.warnings.itertuples(index=False)], table)
    lines = []
    for m in res.playlists:
        found = sum(f is not None for f in m.files)
        lines.append(f"{m.path.relative_to(res.root)}: {found}/{len(m.files)} entries matched")
        lines += [f"  unmatched {loc!r}: {why}" for loc, why in m.unmatched]
    _listed("playlists", lines, res.libdir / "playlists.json")
    if run is None:
        return
    emb = embed_library(open_library(res.libdir), run, a.run, progress=not a.quiet)
    print(
        f"embedded {len(emb.Z)} files with run {run.name} ({run.method}); "
        f"{int(emb.far.sum())} sound like nothing in its catalog"
    )


def cmd_library_playlist(a) -> None:
    from musig.library import (
        check_can_embed,
        complete,
        embed_library,
        open_library,
        write_csv,
        write_m3u8,
    )
    from musig.runs import load_run

    run = load_run(a.run)
    check_can_embed(run)  # before any work: ALS, popularity, ... cannot place library files
    lib = open_library(a.library)
    emb = embed_library(lib, run, a.run, progress=not a.quiet)
    rows = complete(lib, run, emb, a.seeds, k=a.k, source=a.source)
    for r in rows.itertuples(index=False):
        name = " - ".join(x for x in (r.artist, r.title) if x)
        print(f"{r.rank:3d}. {r.score:.3f}  [{r.source}] {name}  {r.location}")
    if a.out.suffix.lower() == ".csv":
        write_csv(rows, a.out)
    else:
        write_m3u8(rows, a.out, root=lib.root)
    print(f"wrote {len(rows)} tracks to {a.out}")
    if a.csv is not None:
        write_csv(rows, a.csv)
        print(f"wrote {a.csv}")


def add_library_parser(sub) -> None:
    lib = sub.add_parser("library", help="your own music: scan a folder, embed it, make playlists")
    lsub = lib.add_subparsers(dest="library_command", required=True)
    add = lsub.add_parser(
        "add", help="scan a folder of audio files (cached: a re-scan decodes only new files)"
    )
    add.add_argument("dir", type=Path, help="folder tree of wav/flac/ogg/opus/mp3 files")
    add.add_argument("--run", type=Path, help="also embed every file with this run")
    add.add_argument(
        "--library",
        type=Path,
        help="library folder (default DIR/.musig-library; ~/.cache/musig/library/<hash> if DIR "
        "is read-only)",
    )
    add.add_argument("--jobs", type=int, default=1, help="worker processes, one core each")
    add.set_defaults(fn=cmd_library_add)

    pl = lsub.add_parser("playlist", help="complete a playlist seeded with library files")
    pl.add_argument("--run", required=True, type=Path)
    pl.add_argument(
        "--library", required=True, type=Path, help="library folder, or the scanned folder"
    )
    pl.add_argument("--seeds", required=True, nargs="+", metavar="FILE")
    pl.add_argument("--out", required=True, type=Path, help=".m3u8 (or .csv) file to write")
    pl.add_argument("--csv", type=Path, help="also write the completion as CSV")
    pl.add_argument("-k", type=int, default=20)
    pl.add_argument(
        "--from",
        dest="source",
        choices=("catalog", "library", "both"),
        default="both",
        help="where candidates come from (default both)",
    )
    pl.set_defaults(fn=cmd_library_playlist)

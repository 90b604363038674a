"""Your own music library: scan a folder of audio files, embed it with a run, make playlists.

    from musig.library import scan_library, open_library, embed_library, complete, write_m3u8

    result = scan_library("~/Music", cfg=ScanConfig(n_jobs=2))  # tags, features, playlists
    lib = open_library(result.libdir)
    run = musig.load_run("runs/musig")
    emb = embed_library(lib, run, "runs/musig")                  # (M, D), cached per run
    rows = complete(lib, run, emb, ["~/Music/a.flac"], k=20, source="both")
    write_m3u8(rows, "~/Music/more.m3u8", root=lib.root)

No module here imports streamlit; nothing runs at import time.
"""

from musig.library.complete import SOURCES, complete, complete_ids, export_rows
from musig.library.embed import LibraryEmbeddings, check_can_embed, embed_library
from musig.library.playlists import (
    Playlist,
    PlaylistMatch,
    match_playlist,
    read_playlist,
    write_csv,
    write_m3u8,
)
from musig.library.scan import ScanConfig, ScanResult, scan_library
from musig.library.store import Library, default_libdir, open_library

__all__ = [
    "SOURCES",
    "Library",
    "LibraryEmbeddings",
    "Playlist",
    "PlaylistMatch",
    "ScanConfig",
    "ScanResult",
    "check_can_embed",
    "complete",
    "complete_ids",
    "export_rows",
    "default_libdir",
    "embed_library",
    "match_playlist",
    "open_library",
    "read_playlist",
    "scan_library",
    "write_csv",
    "write_m3u8",
]

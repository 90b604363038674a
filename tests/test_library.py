"""musig.library end to end on a small folder of rendered clips: scan, cache, resume, embed,
complete, export, the CLI, and the same song in every format landing in the same place."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musig.library import (
    ScanConfig,
    embed_library,
    match_playlist,
    open_library,
    read_playlist,
    scan_library,
    write_m3u8,
)
from musig.library import scan as scan_mod
from musig.library.complete import complete
from musig.library.formats import ENCODINGS, write_encoded
from musig.library.tags import read_info

QUIET = ScanConfig(progress=False)
# name, track of the world, encoding, tags: (title, artist, album, genre, tracknumber)
FILES = [
    ("Ana/First/01 Rain.flac", 3, "flac", ("Rain", "Ana", "First", "Pop", "1/9")),
    ("Ana/First/02 Sun.mp3", 5, "mp3-192", ("Sun", "Ana", "First", "Pop", "2")),
    ("Bo/Live/03 Wind.ogg", 8, "vorbis-192", ("Wind", "Bo", "Live", "Rock", "3")),
    ("Bo/Live/04 Snow.wav", 13, "wav", ("Snow", "Bo", "Live", "Rock", "4")),
    ("Rain copy.wav", 3, "wav", None),  # the same song as 01 Rain.flac, untagged
    ("low.mp3", 21, "mp3-32", None),
]
BAD = {
    "empty.flac": "empty file",
    "notes.mp3": "not an audio file (looks like a text file)",
    "cover.wav": "looks like a PNG image",
    "silent.wav": "silent",
    "album.m4a": "needs ffmpeg",
}


def _tag(path: Path, tags) -> None:
    import mutagen
    from mutagen.id3 import TALB, TCON, TIT2, TPE1, TRCK

    title, artist, album, genre, number = tags
    if path.suffix == ".wav":  # ID3 in WAV: mutagen has no "easy" view
        f = mutagen.File(path)
        f.add_tags()
        for frame, text in zip(
            (TIT2, TPE1, TALB, TCON, TRCK), tags, strict=True
        ):  # fmt: skip
            f.tags.add(frame(encoding=3, text=text))
    else:
        f = mutagen.File(path, easy=True)
        if f.tags is None:
            f.add_tags()
        f.update(title=title, artist=artist, album=album, genre=genre, tracknumber=number)
    f.save()


def make_folder(root: Path, world: Path) -> Path:
    """The FILES above rendered from a world at 44.1 kHz (5 s), tagged, plus the BAD files."""
    import soundfile as sf

    from musig.synth import render_track, world_config

    cfg = replace(world_config(world / "world.json"), sr=44100, clip_seconds=5.0)
    for rel, track, enc, tags in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        y, sr = render_track(cfg, f"synth:track:{track:05d}")
        path = write_encoded(root / rel, y, sr, ENCODINGS[enc])
        if tags:
            _tag(path, tags)
    (root / "empty.flac").write_bytes(b"")
    (root / "notes.mp3").write_text("not music\n")
    (root / "cover.wav").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    sf.write(root / "silent.wav", np.zeros(22050, np.float32), 22050)
    (root / "album.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(200))
    (root / "cover.jpg").write_bytes(b"\xff\xd8\xff" + bytes(50))
    return root


@pytest.fixture(scope="module")
def music(tiny_world, tmp_path_factory) -> Path:
    """A scanned music folder (read-only for tests: copy it before changing files)."""
    root = make_folder(tmp_path_factory.mktemp("music"), tiny_world)
    scan_library(root, cfg=QUIET)
    return root


@pytest.fixture(scope="module")
def musig_run(tiny_world, tmp_path_factory) -> Path:
    from musig.pipeline import train_run

    out = tmp_path_factory.mktemp("runs") / "musig"
    return train_run(tiny_world, "musig", out, overrides={"steps": 40}, compute_map=False)


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst, copy_function=shutil.copy2)  # keeps mtimes: the cache stays valid
    return dst


def test_tags_come_from_the_files(music):
    info = read_info(music / "Ana/First/01 Rain.flac")
    assert (info.title, info.artist, info.album, info.genre) == ("Rain", "Ana", "First", "Pop")
    assert info.tracknumber == 1 and info.lossless and info.warning == ""
    assert info.duration_s == pytest.approx(5.0, abs=0.01)
    for rel, *_, tags in FILES[1:4]:
        got = read_info(music / rel)
        assert (got.title, got.artist, got.tracknumber) == (tags[0], tags[1], int(tags[4]))
    assert read_info(music / "Rain copy.wav").title == "Rain copy"  # untagged: the file name
    mp3 = read_info(music / "Ana/First/02 Sun.mp3")
    assert not mp3.lossless and mp3.bitrate_kbps == pytest.approx(192, abs=1)


def test_scan_lists_bad_files_with_reasons_and_keeps_the_rest(music):
    lib = open_library(music)
    assert lib.libdir == music / ".musig-library"
    assert sorted(lib.tracks["path"]) == sorted(rel for rel, *_ in FILES)
    assert lib.X.shape == (len(FILES), 94) and np.isfinite(lib.X).all()
    skipped = lib.files[lib.files["status"] == "skipped"].set_index("path")["reason"]
    assert sorted(skipped.index) == sorted(BAD)
    for name, reason in BAD.items():
        assert reason in skipped[name], (name, skipped[name])
    warned = lib.files[lib.files["warning"] != ""]
    assert list(warned["path"]) == ["low.mp3"] and "32 kb/s" in warned["warning"].iloc[0]


def test_rescan_extracts_only_new_and_changed_files(music, tmp_path, monkeypatch):
    root = _copy(music, tmp_path / "m")
    before = open_library(root)
    calls = []
    real = scan_mod._process_file
    monkeypatch.setattr(scan_mod, "_process_file", lambda *a: calls.append(a[1]) or real(*a))
    res = scan_library(root, cfg=QUIET)
    assert calls == [] and res.extracted == 0 and res.reused == len(FILES) + len(BAD)

    st = (root / "Bo/Live/04 Snow.wav").stat()
    os.utime(root / "Bo/Live/04 Snow.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    (root / "low.mp3").unlink()
    (root / "Ana/First/02 Sun.mp3").rename(root / "Sun again.mp3")
    res = scan_library(root, cfg=QUIET)
    assert sorted(calls) == ["Bo/Live/04 Snow.wav", "Sun again.mp3"] and res.extracted == 2
    after = open_library(root)
    assert "low.mp3" not in set(after.files["path"])  # removed files leave the library
    row = dict(zip(before.tracks["path"], before.X, strict=True))
    for path, x in zip(after.tracks["path"], after.X, strict=True):
        np.testing.assert_array_equal(x, row.get(path, row["Ana/First/02 Sun.mp3"]))


def test_interrupted_scan_resumes_where_it_stopped(music, tmp_path, monkeypatch):
    root = _copy(music, tmp_path / "m")
    (root / ".musig-library").rename(tmp_path / "done")  # a fresh scan of the same files
    calls = []
    real = scan_mod._process_file

    def crash_on_fourth(*args):
        calls.append(args[1])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(scan_mod, "_process_file", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        scan_library(root, cfg=replace(QUIET, checkpoint_every=2))
    first = list(calls)
    calls.clear()
    monkeypatch.setattr(scan_mod, "_process_file", lambda *a: calls.append(a[1]) or real(*a))
    res = scan_library(root, cfg=QUIET)
    assert res.reused == 3 and sorted(first[:3] + calls) == sorted(res.files["path"])
    assert first[3] in calls  # the file being read at the crash is read again
    lib, done = open_library(root), open_library(music)
    np.testing.assert_array_equal(lib.X, done.X)


def test_scan_in_two_processes_gives_the_same_features(music, tmp_path):
    root = _copy(music, tmp_path / "m")
    res = scan_library(root, tmp_path / "lib2", cfg=replace(QUIET, n_jobs=2))
    assert res.extracted == len(FILES) + len(BAD)
    np.testing.assert_array_equal(open_library(tmp_path / "lib2").X, open_library(music).X)


def test_playlists_in_the_folder_are_matched(music, tmp_path):
    root = _copy(music, tmp_path / "m")
    (root / "Ana/mix.m3u8").write_text(
        "#EXTM3U\n#EXTINF:5,Ana - Rain\nFirst/01 Rain.flac\n"  # relative to the playlist
        f"{root}/Bo/Live/04 Snow.wav\n"  # absolute
        "D:\\Music\\Bo\\Live\\03 Wind.ogg\n"  # another machine's Windows path
        "http://radio.example/stream\n../gone.mp3\n../notes.mp3\n"
    )
    (root / "old.pls").write_text(
        "[playlist]\nFile1=file://" + str(root / "Ana/First/02%20Sun.mp3") + "\nTitle1=Sun\n"
        "File2=Rain copy.wav\nNumberOfEntries=2\n"
    )
    res = scan_library(root, cfg=QUIET)
    by_name = {m.path.name: m for m in res.playlists}
    mix = by_name["mix.m3u8"]
    assert mix.files == (
        "Ana/First/01 Rain.flac", "Bo/Live/04 Snow.wav", "Bo/Live/03 Wind.ogg", None, None, None,
    )  # fmt: skip
    reasons = dict(mix.unmatched)
    assert reasons["http://radio.example/stream"] == "a URI, not a local file"
    assert "no library file named 'gone.mp3'" in reasons["../gone.mp3"]
    assert reasons["../notes.mp3"].startswith("file skipped by the scan: not an audio file")
    assert by_name["old.pls"].files == ("Ana/First/02 Sun.mp3", "Rain copy.wav")
    assert open_library(root).playlists == tuple(res.playlists)


@pytest.fixture(scope="module")
def embedded(music, musig_run):
    import musig

    lib, run = open_library(music), musig.load_run(musig_run)
    return lib, run, embed_library(lib, run, musig_run)


def test_completion_is_the_retrieval_rule_and_finds_the_same_song(embedded):
    lib, run, emb = embedded
    rows = complete(lib, run, emb, ["Rain copy.wav"], k=50, source="library")
    assert rows["source"].eq("library").all() and len(rows) == len(FILES) - 1  # seed excluded
    assert rows["location"].iloc[0] == str(lib.root / "Ana/First/01 Rain.flac")  # same song
    assert rows["score"].iloc[0] > 0.99 and rows["score"].is_monotonic_decreasing
    unit = emb.Z / np.linalg.norm(emb.Z, axis=1, keepdims=True)
    seed = lib.locate("Rain copy.wav")
    want = np.delete(unit @ unit[seed], seed)
    np.testing.assert_allclose(np.sort(rows["score"])[::-1], np.sort(want)[::-1], atol=1e-5)

    both = complete(lib, run, emb, [lib.root / "Rain copy.wav", "Bo/Live/04 Snow.wav"], k=8)
    cat = complete(lib, run, emb, ["Rain copy.wav", "Bo/Live/04 Snow.wav"], k=8, source="catalog")
    assert set(both["source"]) == {"library", "catalog"} and cat["source"].eq("catalog").all()
    assert set(cat["location"]) <= set(run.track_uris)
    seeds = {str(lib.root / "Rain copy.wav"), str(lib.root / "Bo/Live/04 Snow.wav")}
    assert not seeds & set(both["location"])
    with pytest.raises(ValueError, match="skipped by the library scan"):
        complete(lib, run, emb, ["notes.mp3"])
    with pytest.raises(ValueError, match="not in the library"):
        complete(lib, run, emb, ["elsewhere.wav"])


def test_m3u8_export_reads_back_as_the_same_tracks(embedded, tmp_path):
    lib, run, emb = embedded
    rows = complete(lib, run, emb, ["Rain copy.wav"], k=10, source="both")
    inside = write_m3u8(rows, lib.root / "lists" / "more.m3u8", root=lib.root)
    outside = write_m3u8(rows, tmp_path / "more.m3u8", root=lib.root)
    text = inside.read_text()
    assert text.startswith("#EXTM3U\n") and "\n../Ana/First/01 Rain.flac\n" in text
    assert f"\n{lib.root}/Ana/First/01 Rain.flac\n" in outside.read_text()
    assert "#EXTINF:5,Ana - Rain\n" in text and "#EXTINF:-1," in text  # catalog: unknown length
    for path in (inside, outside):
        pl = read_playlist(path)
        assert [e.location for e in pl.entries if ":" in e.location[:6]] == [
            u for u in rows["location"] if u.startswith("synth:")
        ]
        m = match_playlist(pl, lib.root, list(lib.files["path"]))
        lib_rows = rows["source"] == "library"
        got = [f for f, is_lib in zip(m.files, lib_rows, strict=True) if is_lib]
        assert [str(lib.root / f) for f in got] == list(rows.loc[lib_rows, "location"])
    (lib.root / "lists" / "more.m3u8").unlink()
    (lib.root / "lists").rmdir()


def test_embeddings_are_cached_per_run(embedded, musig_run, monkeypatch, tmp_path):
    import shutil

    import musig

    lib, run, emb = embedded
    calls = []
    real = type(run).embed_features
    monkeypatch.setattr(
        type(run), "embed_features", lambda self, X, *a: calls.append(len(X)) or real(self, X, *a)
    )
    again = embed_library(lib, run, musig_run)
    assert calls == [] and np.array_equal(again.Z, emb.Z)
    changed = shutil.copytree(musig_run, tmp_path / "musig")  # same name, a different run.json
    (changed / "run.json").write_text((changed / "run.json").read_text().replace("}", " }", 1))
    moved = embed_library(lib, musig.load_run(changed), changed)
    assert calls == [len(FILES)] and np.allclose(moved.Z, emb.Z, atol=1e-6)
    assert len(list((lib.libdir / "embeddings").glob("musig-*.npz"))) == 1  # stale one removed


def test_a_method_without_audio_input_refuses_clearly(music, make_run):
    pop = make_run(None, np.arange(5, dtype=float), method="popularity")
    lib = open_library(music)
    with pytest.raises(ValueError, match="cannot embed library tracks.*no popularity fallback"):
        embed_library(lib, pop, pop.path)


def _cli(*args) -> tuple[int, str, str]:
    from musig.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["-q", *map(str, args)])
    return rc, out.getvalue(), err.getvalue()


def test_cli_add_and_playlist(music, musig_run, make_run, tmp_path):
    root = _copy(music, tmp_path / "m")
    rc, out, err = _cli("library", "add", root, "--run", musig_run)
    assert rc == 0, err
    assert f"{len(FILES) + len(BAD)} audio files ({len(FILES)} usable, {len(BAD)} skipped)" in out
    assert "album.m4a: m4a (AAC) needs ffmpeg to decode; not installed" in out
    assert "low.mp3: low bitrate (32 kb/s" in out and f"embedded {len(FILES)} files" in out
    rc, out, err = _cli(
        "library", "playlist", "--run", musig_run, "--library", root, "--seeds",
        root / "Bo/Live/04 Snow.wav", "--out", tmp_path / "x.m3u8", "--csv", tmp_path / "x.csv",
        "-k", 4, "--from", "library",
    )  # fmt: skip
    assert rc == 0, err
    m3u = read_playlist(tmp_path / "x.m3u8")
    assert len(m3u.entries) == 4 and all(Path(e.location).is_file() for e in m3u.entries)
    assert (tmp_path / "x.csv").read_text().startswith("rank,source,location,title,artist")
    pop = make_run(None, np.arange(5, dtype=float), method="popularity")
    rc, out, err = _cli(
        "library", "playlist", "--run", pop.path, "--library", root, "--seeds", "low.mp3",
        "--out", tmp_path / "y.m3u8",
    )  # fmt: skip
    assert rc == 2 and err.startswith("musig library: error: run ") and "popularity" in err
    assert not (tmp_path / "y.m3u8").exists()


def test_every_format_at_128_kbps_and_up_lands_where_the_lossless_copy_does(
    tiny_world, musig_run, tmp_path
):
    import musig
    from musig.audio import extract_file
    from musig.synth import render_track, world_config

    run = musig.load_run(musig_run)
    cfg = replace(world_config(tiny_world / "world.json"), sr=44100, clip_seconds=8.0)
    good = [name for name, enc in ENCODINGS.items() if enc.lossless or enc.kbps >= 128]
    assert {"flac", "mp3-128", "vorbis-128", "opus-128"} <= set(good)
    for track in (0, 1, 2):
        y, sr = render_track(cfg, f"synth:track:{track:05d}")
        paths = [write_encoded(tmp_path / f"{track}-{n}", y, sr, ENCODINGS[n]) for n in good]
        for name, path in zip(good, paths, strict=True):  # the encoders hit their bitrates
            if not ENCODINGS[name].lossless:
                kbps = read_info(path).bitrate_kbps
                assert kbps == pytest.approx(ENCODINGS[name].kbps, rel=0.05), (name, kbps)
        X = np.stack([extract_file(p) for p in paths])
        Z = np.stack([e.embedding for e in run.embed_features(X)])
        Z /= np.linalg.norm(Z, axis=1, keepdims=True)
        cos = dict(zip(good, Z @ Z[good.index("wav")], strict=True))
        assert min(cos.values()) >= 0.95, (track, cos)

"""The bad-input corpus: small files that are broken, odd or hostile, each with what musig must say.

Every entry is made at test time into a temporary folder (nothing binary is committed) and
carries its verdict: rejected with a one-line error containing ``expect``, or accepted — with a
warning containing ``expect`` where the result means little, silently when ``expect`` is "".
``tests/test_corpus.py`` feeds each entry to every entry point that takes its kind.

``python -m tests.corpus.corpus OUT`` writes the whole corpus to OUT to look at by hand.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SR = 16000
SECONDS = 2.0


@dataclass(frozen=True)
class Entry:
    """One corpus entry.

    Attributes:
        name: unique, used as the file or folder name where it can be.
        kind: which entry points take it: "audio" (a file to embed or scan), "slice",
            "catalog", "features" or "challenge" (a dataset folder with one file changed),
            "run" (a run folder) or "run_name" (a name asked for in the app).
        make: writes the entry under a folder and returns its path (the name for "run_name").
        expect: fragment of the error (rejected) or of the warning (accepted); "" none.
        accepted: valid input; False: every entry point must refuse it.
        unreadable: reading the file raises PermissionError (injected: tests run as root).
        exceptions: entry point -> "accepted", or the fragment of its refusal, where one entry
            point rightly differs from the verdict (export needs no dataset to check a run
            against; a library stores only UTF-8 names).
    """

    name: str
    kind: str
    make: Callable[[Path], Path | str]
    expect: str
    accepted: bool = False
    unreadable: bool = False
    exceptions: dict[str, str] = field(default_factory=dict)


# --- audio -------------------------------------------------------------------------------------


def _music(seconds: float = SECONDS, sr: int = SR, channels: int = 1) -> np.ndarray:
    """A few chords with a pulse and a little noise: float32 (n, channels), peak about 0.5."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(0)
    tone = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6, 440.0)) / 4
    pulse = 0.5 + 0.5 * (np.sin(2 * np.pi * 2.0 * t) > 0)
    y = 0.5 * tone * pulse + 0.02 * rng.standard_normal(len(t))
    cols = [np.roll(y, 37 * c) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def _wav(y: np.ndarray, sr: int = SR, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _file(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path

    return make


def _float_wav_with_nan() -> bytes:
    y = _music()
    y[::97] = np.nan
    y[5::101] = np.inf
    return _wav(y, subtype="FLOAT")


def _truncated_wav() -> bytes:
    data = _wav(_music(4.0))
    return data[: len(data) // 2]


def _truncated_flac() -> bytes:
    data = _wav(_music(4.0), subtype="PCM_16", fmt="FLAC")
    return data[: len(data) // 2]


def _ten_hours(folder: Path) -> Path:
    """A WAV whose header declares 10 hours (1.15 GB of 16-bit samples) over 2 s of them."""
    data = bytearray(_wav(_music()))
    declared = 10 * 3600 * SR * 2
    data[4:8] = struct.pack("<I", declared + 36)
    data[40:44] = struct.pack("<I", declared)
    path = folder / "ten-hours.wav"
    path.write_bytes(bytes(data))
    return path


def _square() -> bytes:
    t = np.arange(int(SECONDS * SR)) / SR
    return _wav(np.sign(np.sin(2 * np.pi * 110 * t)).astype(np.float32))  # full scale: clipped


def _directory(folder: Path) -> Path:
    path = folder / "folder.wav"
    path.mkdir()
    return path


def _symlink_loop(folder: Path) -> Path:
    path = folder / "loop.wav"
    os.symlink(path.name, path)
    return path


def _non_utf8_name(folder: Path) -> Path:
    name = os.fsdecode(b"caf\xe9 \xff.wav")  # Latin-1 bytes: not UTF-8
    path = folder / name
    path.write_bytes(_wav(_music()))
    return path


AUDIO = [
    Entry("text.wav", "audio", _file("text.wav", b"a shopping list, not a song\n" * 40),
          "not an audio file"),
    Entry("text.mp3", "audio", _file("text.mp3", b"<html>404 not found</html>\n" * 40),
          "not an audio file"),
    Entry("empty.wav", "audio", _file("empty.wav", b""), "empty file"),
    Entry("header-only.wav", "audio", _file("header-only.wav", lambda: _wav(_music())[:44]),
          "no audio samples"),
    Entry("truncated.wav", "audio", _file("truncated.wav", _truncated_wav), "truncated",
          accepted=True),
    Entry("truncated.flac", "audio", _file("truncated.flac", _truncated_flac), "corrupt"),
    Entry("random.wav", "audio", _file("random.wav", np.random.default_rng(3).bytes(40_000)),
          "not an audio file"),
    Entry("random.mp3", "audio", _file("random.mp3", np.random.default_rng(2).bytes(40_000)),
          "not an audio file"),
    Entry("silent.wav", "audio", _file("silent.wav", lambda: _wav(np.zeros((SR * 2, 1)))),
          "silent"),
    Entry("one-sample.wav", "audio", _file("one-sample.wav", lambda: _wav(np.full((1, 1), .5))),
          "too short"),
    Entry("dc-only.wav", "audio", _file("dc-only.wav", lambda: _wav(np.full((SR * 2, 1), .3))),
          "constant", accepted=True),
    Entry("square.wav", "audio", _file("square.wav", _square), "clipped", accepted=True),
    Entry("nan-inf.wav", "audio", _file("nan-inf.wav", _float_wav_with_nan), "NaN or infinite"),
    Entry("8-bit.wav", "audio", _file("8-bit.wav", lambda: _wav(_music(), subtype="PCM_U8")),
          "", accepted=True),
    Entry("96k.wav", "audio", _file("96k.wav", lambda: _wav(_music(sr=96000), 96000)), "",
          accepted=True),
    Entry("6-channels.wav", "audio", _file("6-channels.wav", lambda: _wav(_music(channels=6))),
          "", accepted=True),
    Entry("ten-hours.wav", "audio", _ten_hours, "truncated", accepted=True),
    Entry("folder.wav", "audio", _directory, "is a folder"),
    Entry("loop.wav", "audio", _symlink_loop, "symlink loop"),
    Entry("unreadable.wav", "audio", _file("unreadable.wav", lambda: _wav(_music())),
          "permission denied", unreadable=True),
    Entry("non-utf8-name", "audio", _non_utf8_name, "", accepted=True,
          exceptions=dict.fromkeys(("library scan", "cli library add"), "not valid UTF-8")),
]  # fmt: skip


# --- dataset folders ---------------------------------------------------------------------------

NUM_TRACKS, NUM_PLAYLISTS = 24, 14


def _uri(i: int) -> str:
    return f"corpus:track:{i:02d}"


def _playlist(pid: int) -> dict:
    rng = np.random.default_rng(pid)
    ids = rng.choice(NUM_TRACKS, size=int(rng.integers(9, 14)), replace=False)
    tracks = [
        {"pos": p, "track_uri": _uri(int(i)), "track_name": f"song {i}", "artist_name": "band"}
        for p, i in enumerate(ids)
    ]
    return {"name": f"mix {pid}", "pid": pid, "num_tracks": len(tracks), "tracks": tracks}


def base_dataset(root: Path) -> Path:
    """A valid dataset folder: tracks.csv, two slices, features.csv, a challenge set."""
    (root / "playlists").mkdir(parents=True)
    lines = ["track_uri,track_name,artist_name,duration_ms,genre,audio"]
    lines += [f"{_uri(i)},song {i},band,{1000 * (i + 60)},{'ab'[i % 2]}," for i in range(20)]
    (root / "tracks.csv").write_text("\n".join(lines) + "\n")
    half = NUM_PLAYLISTS // 2
    for a, b in ((0, half - 1), (half, NUM_PLAYLISTS - 1)):
        doc = {"info": {"slice": f"{a}-{b}"}, "playlists": [_playlist(p) for p in range(a, b + 1)]}
        (root / "playlists" / f"mpd.slice.{a}-{b}.json").write_text(json.dumps(doc))
    rng = np.random.default_rng(0)
    feats = ["track_uri,f0,f1,f2"]
    feats += [f"{_uri(i)},{','.join(f'{v:.3f}' for v in rng.normal(size=3))}" for i in range(24)]
    (root / "features.csv").write_text("\n".join(feats) + "\n")
    seeds = [{"pos": 0, "track_uri": _uri(1)}, {"pos": 1, "track_uri": _uri(2)}]
    challenge = {"playlists": [{"pid": 1000, "num_samples": 2, "num_holdouts": 3, "tracks": seeds}]}
    (root / "challenge_set.json").write_text(json.dumps(challenge))
    return root


_SLICE = "playlists/mpd.slice.0-6.json"
_SLICE2 = "playlists/mpd.slice.7-13.json"


def _edit_json(rel: str, edit: Callable[[dict], None]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        root = base_dataset(folder / "data")
        doc = json.loads((root / rel).read_text())
        edit(doc)
        (root / rel).write_text(json.dumps(doc))
        return root

    return make


def _edit_bytes(rel: str, edit: Callable[[bytes], bytes], new_rel: str | None = None):
    def make(folder: Path) -> Path:
        root = base_dataset(folder / "data")
        data = (root / rel).read_bytes()
        (root / rel).unlink()
        (root / (new_rel or rel)).write_bytes(edit(data))
        return root

    return make


def _first_track(doc: dict) -> dict:
    return doc["playlists"][0]["tracks"][0]


def _dup_pid(doc: dict) -> None:
    doc["playlists"][0]["pid"] = 10


def _empty_playlist(doc: dict) -> None:
    doc["playlists"][1].update(tracks=[], num_tracks=0)


def _unknown_fields(doc: dict) -> None:
    doc["playlists"][0].update(mood="rainy", num_followers=3, extra={"a": [1, 2]})
    _first_track(doc).update(bpm=120, explicit=True)


def _collaborative_strings(doc: dict) -> None:
    for i, pl in enumerate(doc["playlists"]):
        pl["collaborative"] = ["false", "true"][i % 2]


SLICES = [
    Entry("slice-malformed", "slice", _edit_bytes(_SLICE, lambda b: b.replace(b":", b";", 3)),
          "malformed JSON"),
    Entry("slice-truncated", "slice", _edit_bytes(_SLICE, lambda b: b[: len(b) // 2]),
          "malformed JSON"),
    Entry("slice-truncated-gzip", "slice",
          _edit_bytes(_SLICE, lambda b: gzip.compress(b, mtime=0)[:300], _SLICE + ".gz"),
          "unreadable file"),
    Entry("slice-bom", "slice", _edit_bytes(_SLICE, lambda b: b"\xef\xbb\xbf" + b), "",
          accepted=True),
    Entry("slice-duplicate-pid", "slice", _edit_json(_SLICE2, _dup_pid), "duplicate pid 10"),
    Entry("slice-empty-playlist", "slice", _edit_json(_SLICE, _empty_playlist), "",
          accepted=True),
    Entry("slice-no-track-uri", "slice",
          _edit_json(_SLICE, lambda d: _first_track(d).pop("track_uri")), "pos 0: track entry"),
    Entry("slice-uri-not-string", "slice",
          _edit_json(_SLICE, lambda d: _first_track(d).update(track_uri=12345)),
          "track_uri 12345 is not a string"),
    Entry("slice-num-tracks-mismatch", "slice",
          _edit_json(_SLICE, lambda d: d["playlists"][2].update(num_tracks=99)),
          "num_tracks 99"),
    Entry("slice-unknown-fields", "slice", _edit_json(_SLICE, _unknown_fields), "",
          accepted=True),
    Entry("slice-collaborative-strings", "slice", _edit_json(_SLICE, _collaborative_strings), "",
          accepted=True),
]  # fmt: skip


def _edit_text(rel: str, edit: Callable[[str], str]) -> Callable[[Path], Path]:
    return _edit_bytes(rel, lambda b: edit(b.decode()).encode())


def _drop_column(text: str, col: int) -> str:
    return "\n".join(",".join(c for j, c in enumerate(ln.split(",")) if j != col)
                     for ln in text.splitlines()) + "\n"  # fmt: skip


def _replace_line(text: str, row: int, new: Callable[[str], str]) -> str:
    lines = text.splitlines()
    lines[row] = new(lines[row])
    return "\n".join(lines) + "\n"


def _add_column(text: str) -> str:
    lines = text.splitlines()
    return "\n".join([lines[0] + ",label"] + [ln + ",x" for ln in lines[1:]]) + "\n"


CATALOGS = [
    Entry("tracks-missing-column", "catalog",
          _edit_text("tracks.csv", lambda t: _drop_column(t, 2)),
          "missing required column 'artist_name'"),
    Entry("tracks-duplicate-uri", "catalog",
          _edit_text("tracks.csv", lambda t: _replace_line(t, 5, lambda _: t.splitlines()[2])),
          "data row 5: duplicate track_uri"),
    Entry("tracks-bad-duration", "catalog",
          _edit_text("tracks.csv", lambda t: _replace_line(t, 3, lambda _: f"{_uri(2)},song,band,"
                                                           "three minutes,a,")),
          "data row 3: duration_ms 'three minutes'"),
    Entry("tracks-extra-column", "catalog", _edit_text("tracks.csv", _add_column), "",
          accepted=True),
    Entry("tracks-empty", "catalog", _edit_text("tracks.csv", lambda t: ""), "cannot parse CSV"),
    Entry("tracks-header-only", "catalog", _edit_text("tracks.csv", lambda t: t.splitlines()[0]),
          "", accepted=True),
]  # fmt: skip

FEATURES = [
    Entry("features-missing-uri", "features",
          _edit_text("features.csv", lambda t: _drop_column(t, 0)),
          "missing required column 'track_uri'"),
    Entry("features-duplicate-uri", "features",
          _edit_text("features.csv", lambda t: _replace_line(t, 4, lambda _: t.splitlines()[1])),
          "data row 4: duplicate track_uri"),
    Entry("features-non-numeric", "features",
          _edit_text("features.csv", lambda t: _replace_line(t, 2, lambda ln: ln[: ln.rindex(",")]
                                                             + ",loud")),
          "data row 2: column 'f2' holds 'loud', not a number"),
    Entry("features-inf", "features",
          _edit_text("features.csv", lambda t: _replace_line(t, 2, lambda ln: ln[: ln.rindex(",")]
                                                             + ",inf")),
          "column 'f2' has infinite values"),
    Entry("features-nan", "features",
          _edit_text("features.csv", lambda t: _replace_line(t, 2, lambda ln: ln[: ln.rindex(",")]
                                                             + ",nan")),
          "without features", accepted=True),
    Entry("features-extra-column", "features", _edit_text("features.csv", _add_column),
          "column 'label' has no numbers; not a feature", accepted=True),
    Entry("features-empty", "features", _edit_text("features.csv", lambda t: t.splitlines()[0]),
          "no rows"),
]  # fmt: skip


def _challenge(edit: Callable[[dict], None]) -> Callable[[Path], Path]:
    return _edit_json("challenge_set.json", lambda d: edit(d["playlists"][0]))


CHALLENGES = [
    Entry("challenge-unknown-uris", "challenge",
          _challenge(lambda p: p["tracks"].append({"pos": 2, "track_uri": "nowhere:1"})
                     or p.update(num_samples=3)),
          "not in the track index", accepted=True, exceptions={"read_challenge": "accepted"}),
    Entry("challenge-duplicate-seeds", "challenge",
          _challenge(lambda p: p["tracks"].append(dict(p["tracks"][0], pos=2))
                     or p.update(num_samples=3)),
          "pid 1000: seed corpus:track:01 appears twice"),
    Entry("challenge-num-samples", "challenge", _challenge(lambda p: p.update(num_samples=5)),
          "pid 1000: num_samples 5 but 2 tracks"),
]  # fmt: skip


# --- run folders ---------------------------------------------------------------------------------


def base_run(folder: Path) -> Path:
    """A valid run folder of the base dataset (hand-made embeddings, weights of a model)."""
    import pandas as pd

    from musig.data import load_dataset
    from musig.runs import RunContents, save_run

    data = folder / "data"
    if not data.is_dir():
        base_dataset(data)
    ds = load_dataset(data)
    n = ds.num_tracks
    rng = np.random.default_rng(0)
    rec = RunContents(
        method="content",
        config={},
        seed=0,
        graph=None,
        graph_key=None,
        tracks=pd.DataFrame(
            {c: ds.tracks[c] for c in ("track_uri", "track_name", "artist_name", "genre")}
        ),  # fmt: skip
        dataset_fingerprint=ds.fingerprint,
        split=None,
        arrays={
            "embeddings": rng.normal(size=(n, 8)).astype(np.float32),
            "mask": np.ones(n, bool),
            "popularity": ds.popularity.astype(np.float32),
        },
        weights={"layer.weight": rng.normal(size=(4, 4)).astype(np.float32)},
    )
    return save_run(folder / "run", rec)


def _edit_run(edit: Callable[[Path], None]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        run = base_run(folder)
        edit(run)
        return run

    return make


def _truncate(file: str) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        data = (run / file).read_bytes()
        (run / file).write_bytes(data[: len(data) // 2])

    return edit


def _rewrite_arrays(change: Callable[[dict], None], file: str = "arrays.safetensors"):
    def edit(run: Path) -> None:
        from safetensors.numpy import load, save

        arrays = load((run / file).read_bytes())
        change(arrays)
        (run / file).write_bytes(save(arrays))

    return edit


def _edit_meta(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        meta = json.loads((run / "run.json").read_text())
        change(meta)
        (run / "run.json").write_text(json.dumps(meta))

    return edit


def _pickled(run: Path) -> None:
    import pickle

    (run / "arrays.safetensors").write_bytes(pickle.dumps({"embeddings": [1.0, 2.0]}))


def _nan_weights(arrays: dict) -> None:
    arrays["layer.weight"][1, 2] = np.nan


RUNS = [
    Entry("run-truncated-arrays", "run", _edit_run(_truncate("arrays.safetensors")),
          "arrays.safetensors: not a readable safetensors file"),
    Entry("run-shape-changed", "run",
          _edit_run(_rewrite_arrays(lambda a: a.update(embeddings=a["embeddings"][:-3]))),
          "embeddings has 21 rows but the run has 24 tracks"),
    Entry("run-nan-embeddings", "run",
          _edit_run(_rewrite_arrays(lambda a: a["embeddings"].__setitem__((2, 3), np.nan))),
          "embeddings has NaN or infinite values"),
    Entry("run-nan-weights", "run", _edit_run(_rewrite_arrays(_nan_weights, "model.safetensors")),
          "model.safetensors: layer.weight has NaN or infinite values"),
    Entry("run-other-dataset", "run",
          _edit_run(_edit_meta(lambda m: m["provenance"].update(dataset_fingerprint="f" * 16))),
          "trained on another dataset", exceptions={"cli export": "accepted"}),
    Entry("run-future-format", "run", _edit_run(_edit_meta(lambda m: m.update(format_version=99))),
          "run format version 99 is not supported"),
    Entry("run-pickle", "run", _edit_run(_pickled),
          "arrays.safetensors: not a readable safetensors file"),
]  # fmt: skip

RUN_NAMES = [
    Entry(f"run name {name!r}", "run_name", lambda _folder, n=name: n, "use letters, digits")
    for name in ("../x", "/etc/passwd", "a/../../b", ".hidden", "")
]

ENTRIES: list[Entry] = AUDIO + SLICES + CATALOGS + FEATURES + CHALLENGES + RUNS + RUN_NAMES
assert len({e.name for e in ENTRIES}) == len(ENTRIES), "entry names must be unique"


def write_corpus(out: Path) -> list[dict]:
    """Write every entry under ``out/<kind>/<name>/``; returns the manifest rows."""
    rows = []
    for e in ENTRIES:
        folder = out / e.kind / re.sub(r"[^\w-]+", "_", e.name)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        made = e.make(folder)
        rows.append({"name": e.name, "kind": e.kind, "path": str(made), "expect": e.expect,
                     "accepted": e.accepted, "unreadable": e.unreadable})  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(rows, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.corpus.corpus OUT")
    print(f"wrote {len(write_corpus(Path(sys.argv[1])))} entries to {sys.argv[1]}")

"""How long does a music library take to scan and embed, the first time and the second?

    python -m benchmarks.bench_library --run RUN [--n 2000] [--jobs 2] [--data sample_data]

Writes N distinct 30 s clips (tracks 0..N-1 of the sample world, each 6 s render tiled to 30 s
and resampled to 44.1 kHz) into a temporary folder, a quarter each as WAV, FLAC, Ogg Vorbis
(128 kb/s) and MP3 (128 kb/s), in album folders of 10; then times
``python -m musig library add DIR --run RUN --jobs J`` twice, as a user would run it (process
start, imports and loading the run included). The first scan decodes, analyses and embeds every
file; the second finds nothing changed. Generating the clips is timed apart.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from musig.library.formats import ENCODINGS, write_encoded

MIX = ("wav", "flac", "vorbis-128", "mp3-128")


def write_clip(world: Path, root: Path, i: int, seconds: float = 30.0, sr: int = 44100) -> None:
    """Track ``i`` of the world as a ``seconds`` clip in format ``MIX[i % 4]``."""
    import librosa

    from musig.synth import render_track

    y, y_sr = render_track(world, f"synth:track:{i:05d}")
    y = np.tile(y, int(np.ceil(seconds * y_sr / len(y))))[: int(seconds * y_sr)]
    y = librosa.resample(y, orig_sr=y_sr, target_sr=sr, res_type="soxr_hq")
    folder = root / f"album{i // 10:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    write_encoded(folder / f"{i % 10:02d} track {i:05d}", y, sr, ENCODINGS[MIX[i % len(MIX)]])


def _write(args: tuple) -> None:
    write_clip(*args)


def timed_add(root: Path, run: Path, jobs: int) -> tuple[float, str]:
    """Wall time and output of one ``musig library add``."""
    cmd = [sys.executable, "-m", "musig", "-q", "library", "add", str(root), "--run", str(run)]
    start = time.perf_counter()
    out = subprocess.run(
        [*cmd, "--jobs", str(jobs)], check=True, capture_output=True, text=True
    ).stdout
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path)
    ap.add_argument("--data", default="sample_data", type=Path)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    world = (args.data / "world.json").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "music"
        start = time.perf_counter()
        with cf.ProcessPoolExecutor(args.jobs) as ex:
            list(ex.map(_write, [(world, root, i) for i in range(args.n)], chunksize=8))
        size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        print(
            f"wrote {args.n} clips of 30 s ({', '.join(MIX)}; {size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - start:.0f} s"
        )
        first, out = timed_add(root, args.run, args.jobs)
        print(f"first scan (decode, features, embed): {first:.1f} s  [{out.splitlines()[0]}]")
        print("   " + "\n   ".join(out.splitlines()[1:]))
        second, out = timed_add(root, args.run, args.jobs)
        print(f"second scan (nothing changed): {second:.1f} s  [{out.splitlines()[0]}]")


if __name__ == "__main__":
    main()

"""Does the same song in another format land in the same place?

    python -m benchmarks.bench_codecs --run RUN [--data sample_data] [--seconds 30]

Renders one clip per genre of the sample world at 44.1 kHz (the world's own generator, so the
clips differ in instrument, drums, noise and brightness) and two harder ones that the world does
not make — a chiptune (pulse-wave lead, triangle bass, noise drums, full band) and a world clip
with bright hi-hat noise above 7 kHz — writes each as WAV and in every
encoding of :data:`musig.library.formats.ENCODINGS` (libsndfile's encoders; no AAC encoder here)
and prints, against the WAV copy, (a) the cosine of the feature vectors scaled with the run's
scaler and (b) the cosine of the run's inductive embeddings. RUN must be an audio run (musig,
sage, content) trained with the current extractor.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from musig.audio import EXTRACTOR_VERSION, extract_file
from musig.features import FeatureScaler
from musig.library.formats import ENCODINGS, write_encoded
from musig.runs import load_run
from musig.synth import world_config, world_truth
from musig.synth.render import _styles, render_track


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two float (M, D) arrays: (M,)."""
    num = (a * b).sum(axis=1)
    return num / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def clips(data: Path) -> list[tuple[str, str]]:
    """One track URI per genre and a label naming its style (genre, instrument, drums)."""
    tracks = pd.read_csv(data / "tracks.csv", dtype=str, keep_default_na=False)
    cfg = world_config(data / "world.json")
    styles, truth = _styles(cfg), world_truth(cfg)
    out = []
    for genre, rows in tracks[tracks["genre"] != ""].groupby("genre", sort=True):
        uri = rows["track_uri"].iloc[0]
        style = styles[truth.harmony_genre[truth.artist[int(uri.rsplit(":", 1)[1])]]]
        out.append((uri, f"{genre} ({style['instrument']}{', arp' if style['arp'] else ''})"))
    return out


def chiptune(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    """float32 (n,): 25 % pulse lead on sixteenths at 150 BPM, triangle bass, noise hits."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    step = 60 / 150 / 4
    notes = rng.choice([60, 63, 67, 70, 72, 75, 79], size=int(seconds / step) + 1)
    idx = (t / step).astype(int)
    lead = np.sign(np.sin(2 * np.pi * np.cumsum(440 * 2 ** ((notes[idx] - 69) / 12)) / sr) + 0.5)
    bass_phase = np.cumsum(440 * 2 ** ((notes[(idx // 8) * 8] - 93) / 12)) / sr
    bass = 2 * np.abs(2 * (bass_phase % 1) - 1) - 1
    hits = np.sign(rng.standard_normal(len(t))) * np.exp(-((t % (2 * step)) / 0.03))
    y = 0.3 * lead + 0.3 * bass + 0.2 * hits
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


def with_hats(y: np.ndarray, sr: int, seed: int = 1) -> np.ndarray:
    """float32 (n,): ``y`` plus high-passed (7 kHz) noise hats on every eighth at 120 BPM."""
    from scipy.signal import butter, sosfilt

    noise = np.random.default_rng(seed).standard_normal(len(y))
    hat = sosfilt(butter(4, 7000, "hp", fs=sr, output="sos"), noise)
    out = y + 0.15 * hat * np.exp(-((np.arange(len(y)) / sr % 0.25) / 0.05))
    return (0.89 * out / np.abs(out).max()).astype(np.float32)


def signals(data: Path, seconds: float, sr: int) -> dict[str, np.ndarray]:
    """Label -> float32 (n,) clip at ``sr``: one per genre, then the two hard ones."""
    cfg = replace(world_config(data / "world.json"), sr=sr, clip_seconds=seconds)
    out = {label: render_track(cfg, uri)[0] for uri, label in clips(data)}
    first = next(iter(out))
    out["chiptune"] = chiptune(sr, seconds)
    out[f"{first.split()[0]} + hi-hats"] = with_hats(out[first], sr)
    return out


def measure(run_path: Path, data: Path, seconds: float, sr: int = 44100) -> pd.DataFrame:
    """One row per clip and encoding: kb/s, feature cosine and embedding cosine to the WAV."""
    import mutagen

    run = load_run(run_path)
    version = run.meta["features"].get("extractor_version")
    if version != EXTRACTOR_VERSION:
        raise SystemExit(
            f"{run_path} was trained on extractor {version}, this is {EXTRACTOR_VERSION}"
        )
    scaler = FeatureScaler.from_dict(run.meta["features"]["scaler"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for c, (label, y) in enumerate(signals(data, seconds, sr).items()):
            raw = {}
            for name, enc in ENCODINGS.items():
                path = write_encoded(Path(tmp) / f"{c:02d}-{name}", y, sr, enc)
                raw[name] = extract_file(path)
                info = mutagen.File(path).info
                kbps = path.stat().st_size * 8 / info.length / 1000
                rows.append({"clip": label, "encoding": name, "kbps": kbps})
            names = list(raw)
            X = np.stack([raw[n] for n in names])  # (E, F)
            Z = scaler.transform(X)
            emb = np.stack([e.embedding for e in run.embed_features(X)])  # (E, D)
            ref = names.index("wav")
            feat_cos = _cos(Z, Z[[ref] * len(names)])
            emb_cos = _cos(emb, emb[[ref] * len(names)])
            for row, f, e in zip(rows[-len(names) :], feat_cos, emb_cos, strict=True):
                row.update(feature_cos=float(f), embedding_cos=float(e))
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path)
    ap.add_argument("--data", default="sample_data", type=Path)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--per-clip", action="store_true", help="also print every clip's cosines")
    args = ap.parse_args()
    df = measure(args.run, args.data, args.seconds)
    df = df[df["encoding"] != "wav"]
    order = [n for n in ENCODINGS if n != "wav"]
    summary = df.groupby("encoding", sort=False).agg(
        kbps=("kbps", "median"),
        feature_min=("feature_cos", "min"),
        feature_median=("feature_cos", "median"),
        embedding_min=("embedding_cos", "min"),
        embedding_median=("embedding_cos", "median"),
    )
    print(
        f"extractor {EXTRACTOR_VERSION}, run {args.run}: cosine to the WAV copy over "
        f"{df['clip'].nunique()} clips of {args.seconds:g} s at 44.1 kHz"
    )
    print(summary.loc[order].round(3).to_string())
    if args.per_clip:
        wide = df.pivot(index="clip", columns="encoding", values="embedding_cos")[order]
        print("\nembedding cosine per clip")
        print(wide.round(3).to_string())


if __name__ == "__main__":
    main()

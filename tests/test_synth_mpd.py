"""The MPD profile: an MPD-shaped long tail, every MPD field, determinism, content, the oracle."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from musig import synth
from musig.cli import main as cli_main
from musig.data import load_dataset
from musig.features import load_feature_table
from musig.synth import mpd_sample
from musig.synth.mpd import universe

WORLD = synth.MpdConfig(num_playlists=2000, seed=3)
# A small universe and narrow heads: fast enough to write twice and to sample exactly.
TINY = synth.MpdConfig(
    num_playlists=600, seed=1, slice_size=100, universe_tracks=400_000, head_size=1024,
    tail_size=16_384,
)  # fmt: skip
PLAYLIST_KEYS = {
    "name", "collaborative", "pid", "modified_at", "num_tracks", "num_albums", "num_followers",
    "tracks", "num_edits", "duration_ms", "num_artists",
}  # fmt: skip
TRACK_KEYS = {
    "pos": int, "artist_name": str, "track_uri": str, "artist_uri": str, "track_name": str,
    "album_uri": str, "duration_ms": int, "album_name": str,
}  # fmt: skip


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mpd") / "w"
    return synth.generate_mpd_world(out, WORLD, workers=2, num_example_files=2, progress=False)


@pytest.fixture(scope="module")
def ds(world):
    return load_dataset(world)


def test_lengths_and_long_tail_are_mpd_shaped(ds, world):
    lengths = np.diff(ds.playlist_indptr)
    assert lengths.min() >= 5 and lengths.max() <= 250
    assert 58 <= lengths.mean() <= 75 and 40 <= np.median(lengths) <= 58  # MPD: 66.3, 49
    pop = ds.popularity
    warm = pop[pop > 0]
    assert np.median(warm) <= 2 and (warm == 1).mean() > 0.4 and (warm <= 5).mean() > 0.8
    assert warm.max() > 10 * np.median(warm)  # and a head of hits
    # Cold tracks: in the catalog, in no playlist, -inf popularity in the truth.
    cold = pop == 0
    assert 0.05 < cold.mean() < 0.09
    log_pop = np.load(world / "truth" / "log_popularity.npy")
    assert np.array_equal(np.isinf(log_pop), cold)
    assert 0.05 < (ds.tracks["genre"] == "").mean() < 0.15
    catalog = pd.read_csv(world / "tracks.csv", dtype=str, keep_default_na=False)
    assert ds.num_tracks == len(catalog)  # every track, cold ones too, is in tracks.csv


def test_slices_hold_every_mpd_field_with_mpd_types(world):
    slices = sorted((world / "data").glob("mpd.slice.*.json.gz"))
    assert [p.name for p in slices] == ["mpd.slice.0-999.json.gz", "mpd.slice.1000-1999.json.gz"]
    doc = json.loads(gzip.decompress(slices[1].read_bytes()))
    assert doc["info"]["slice"] == "1000-1999" and doc["info"]["version"] == "v1"
    playlists = doc["playlists"]
    assert [p["pid"] for p in playlists] == list(range(1000, 2000))
    catalog = pd.read_csv(world / "tracks.csv", keep_default_na=False).set_index("track_uri")
    described = 0
    for pl in playlists:
        assert PLAYLIST_KEYS <= set(pl) <= PLAYLIST_KEYS | {"description"}
        described += "description" in pl
        assert isinstance(pl["name"], str) and pl["name"]
        assert pl["collaborative"] in ("true", "false")
        for key in PLAYLIST_KEYS - {"name", "collaborative", "tracks"}:
            assert isinstance(pl[key], int) and pl[key] >= 0, key
        tracks = pl["tracks"]
        assert pl["num_tracks"] == len(tracks) >= 5
        assert pl["num_albums"] == len({t["album_uri"] for t in tracks})
        assert pl["num_artists"] == len({t["artist_uri"] for t in tracks})
        assert pl["duration_ms"] == sum(t["duration_ms"] for t in tracks)
        assert 1_262_304_000 <= pl["modified_at"] < 1_509_494_400 and pl["modified_at"] % 86400 == 0
    assert described < 100
    t = playlists[0]["tracks"][3]
    assert {k: type(v) for k, v in t.items()} == TRACK_KEYS and t["pos"] == 3
    row = catalog.loc[t["track_uri"]]
    assert (row.artist_name, row.album_uri, row.duration_ms) == (
        t["artist_name"], t["album_uri"], t["duration_ms"],
    )  # fmt: skip


def test_same_seed_same_bytes_for_any_number_of_workers(tmp_path):
    one = synth.generate_mpd_world(tmp_path / "a", TINY, workers=1, num_example_files=1,
                                   progress=False)  # fmt: skip
    two = synth.generate_mpd_world(tmp_path / "b", TINY, workers=2, num_example_files=1,
                                   progress=False)  # fmt: skip
    a, b = _files(one), _files(two)
    assert a == b and len([k for k in a if k.startswith("data/")]) == 6
    other = synth.generate_mpd_world(tmp_path / "c", replace(TINY, seed=2), workers=2,
                                     num_example_files=0, progress=False)  # fmt: skip
    assert _files(other)["data/mpd.slice.0-99.json.gz"] != a["data/mpd.slice.0-99.json.gz"]


def test_sampler_is_close_to_exact_gumbel_top_k():
    # Same plans (tastes, lengths), exact Gumbel top-k over the whole universe as reference.
    uni, tab = universe(TINY), mpd_sample.scene_tables(TINY)
    unit = uni.unit.astype(np.float32)

    def fit(sample) -> tuple[float, float]:
        coh, bias = [], []
        for sl in range(3):
            plan = mpd_sample.slice_plan(TINY, uni, sl)
            length, tracks = sample(sl)
            rows = np.repeat(np.arange(len(length)), length)
            k = mpd_sample._kernel(plan, unit[tracks][:, None], rows)[:, 0]
            coh.append(k.mean())
            bias.append(uni.bias[tracks].mean())
        return float(np.mean(coh)), float(np.mean(bias))

    approx = fit(lambda sl: mpd_sample.sample_slice(TINY, uni, tab, sl))
    exact = fit(lambda sl: mpd_sample.exact_slice(TINY, uni, sl))
    # The importance-sampled tail leans to popular tracks a little (module docstring).
    assert abs(approx[0] - exact[0]) < 0.03 * abs(exact[0])  # mean b cos(taste, z)
    assert abs(approx[1] - exact[1]) < 0.3  # mean log popularity


def _demean(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    out = a.astype(np.float64).copy()
    for k in np.unique(g):
        out[g == k] -= out[g == k].mean(0)
    return out


def test_features_table_carries_audible_dims_and_not_hidden_ones(world):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_predict

    table = load_feature_table(world)
    assert list(table.columns) == ["track_uri", *json.loads((world / "world.json").read_text())[
        "feature_columns"]]  # fmt: skip
    z = np.load(world / "truth" / "z.npy")
    genre = np.load(world / "truth" / "genre.npy")
    rows = np.random.default_rng(0).choice(len(z), 6000, replace=False)
    x = table.drop(columns="track_uri").to_numpy(np.float64)[rows]
    x = (x - x.mean(0)) / x.std(0)
    # Beyond genre (both sides demeaned per genre), as the calibration measures it.
    xd, zd = _demean(x, genre[rows]), _demean(z[rows], genre[rows])
    pred = cross_val_predict(Ridge(1.0), xd, zd, cv=5)
    r2 = 1 - ((zd - pred) ** 2).sum(0) / (zd**2).sum(0)
    audible, hidden = r2[: WORLD.audible_dims], r2[WORLD.audible_dims :]
    assert audible[3] > 0.75 and audible[1] > 0.5 and audible[6] > 0.5  # grit, brightness, register
    assert audible.mean() > 0.3 and hidden.max() < 0.03


def test_oracle_ranks_a_playlists_own_tracks_high(world, ds):
    n = ds.num_tracks
    one = synth.log_probs(world, 7)
    batch = synth.log_probs(world, [7, 1500, 33])
    assert one.dtype == np.float32 and one.shape == (n,) and batch.shape == (3, n)
    np.testing.assert_allclose(batch[0], one, rtol=1e-5, atol=1e-4)  # BLAS blocks by batch size
    assert np.array_equal(np.isneginf(one), ds.popularity == 0)  # cold tracks
    pids = np.arange(0, 2000, 50)
    lp = synth.log_probs(world, pids)
    pos = {int(p): i for i, p in enumerate(ds.pids)}
    pct = []
    for row, pid in zip(lp, pids, strict=True):
        own = ds.playlist(pos[int(pid)])
        pct.append((row[own][:, None] > row[None, ds.popularity > 0]).mean())
    assert np.mean(pct) > 0.95  # a playlist's tracks sit in the top 5 % of the warm catalog
    with pytest.raises(ValueError, match="pids"):
        synth.log_probs(world, [2000])


def test_example_clips_rerender_and_cli_checks(world, capsys):
    wavs = sorted((world / "audio").glob("*.wav"))
    assert len(wavs) == 2
    written, sr = sf.read(wavs[0], dtype="float32")
    y, sr2 = synth.render_track(world / "world.json", f"synth:track:{wavs[0].stem}")
    assert sr == sr2 and np.allclose(written, y, atol=1.01 / 32768)
    with pytest.raises(ValueError, match="not a track"):
        synth.render_track(world, "synth:track:9999999")
    assert cli_main(["generate", "--profile", "mpd", "--tracks", "10", "--out", "x"]) == 2
    assert "--tracks" in capsys.readouterr().err


def test_small_long_tail_world_end_to_end(world, ds, tmp_path, capsys):
    """The scale paths on a small long-tail world: the acoustic kNN by the approximate index
    (threshold forced below the catalog), the MPD's download layout with playlists only, and
    MUSIG trained over the approximate relation."""
    graph = tmp_path / "graph"
    forced = ["--set", "graph.exact_knn_max=1000"]
    assert cli_main(["-q", "graph", "--data", str(world), "--out", str(graph), *forced]) == 0
    assert ds.num_tracks > 1000  # so the index, not the exact search, built the relation
    assert "acoustic" in capsys.readouterr().out
    run = tmp_path / "musig"
    steps = ["--set", "steps=20", "--set", "eval_every=10", "--no-map"]
    args = ["-q", "train", "--data", str(world), "--method", "musig", "--out", str(run)]
    assert cli_main([*args, "--graph", str(graph), *forced, *steps]) == 0
    assert (run / "run.json").is_file()

    download = tmp_path / "download"  # as from the MPD's site: data/ and nothing else
    (download / "data").mkdir(parents=True)
    for f in sorted((world / "data").iterdir())[:2]:
        (download / "data" / f.name).write_bytes(f.read_bytes())
    train = ["-q", "train", "--data", str(download)]
    assert cli_main([*train, "--method", "als", "--out", str(tmp_path / "als"), "--no-map"]) == 0
    assert cli_main([*train, "--method", "content", "--out", str(tmp_path / "c")]) == 2
    assert "features" in capsys.readouterr().err

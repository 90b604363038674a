import json

import numpy as np
import pandas as pd
import pytest

from musig.data import load_dataset
from musig.split import (
    RECSYS18_SCENARIOS,
    Scenario,
    SplitConfig,
    _assign_scenarios,
    make_split,
    validation_split,
)
from musig.writer import write_dataset

N_CATALOG = 80
N_PLAYLISTS = 60


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """60 playlists of 2-45 tracks over 80 catalog tracks plus 3 playlist-only tracks."""
    rng = np.random.default_rng(123)
    uris = [f"spotify:track:t{i:03d}" for i in range(N_CATALOG)]
    tracks = pd.DataFrame(
        {
            "track_uri": uris,
            "track_name": [f"song {i}" for i in range(N_CATALOG)],
            "artist_name": [f"artist {i % 7}" for i in range(N_CATALOG)],
            "duration_ms": [180_000 + i for i in range(N_CATALOG)],
            "genre": [["rock", "jazz", ""][i % 3] for i in range(N_CATALOG)],
            "audio": [f"audio/t{i:03d}.wav" if i < 2 else "" for i in range(N_CATALOG)],
        }
    )
    only = [f"spotify:track:only{i}" for i in range(3)]
    playlists = []
    for p in range(N_PLAYLISTS):
        n = int(rng.integers(2, 46))
        items = [uris[j] for j in rng.choice(N_CATALOG, size=n, replace=False)]
        if p % 10 == 0:
            items.insert(1, items[0])  # a repeated track
        if p < 3:
            items.append(only[p])
        name = "" if p % 9 == 4 else f"mix {p}"
        playlists.append({"pid": 1000 + p, "name": name, "tracks": items})
    root = tmp_path_factory.mktemp("src") / "ds"
    write_dataset(
        root,
        tracks,
        playlists,
        slice_size=25,
        extra_files={
            "features.csv": b"track_uri,f0\nspotify:track:t000,1.0\n",
            "world.json": b"{}",
            "audio/t000.wav": b"RIFF0",
            "audio/t001.wav": b"RIFF1",
            "cache/features-v1.npz": b"npz",
        },
    )
    return load_dataset(root)


CFG = SplitConfig(seed=7, num_test_playlists=20, cold_fraction=0.1, min_holdouts=5)


@pytest.fixture(scope="module")
def split(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("split") / "s"
    info = make_split(source, out, CFG)
    return info, load_dataset(out)


def _pid_row(ds):
    return {int(p): i for i, p in enumerate(ds.pids)}


def _cold(ds):
    return set((ds.root / "cold_tracks.txt").read_text().split())


def test_track_index_identical_to_source(source, split):
    _, sp = split
    assert sp.tracks["track_uri"].tolist() == source.tracks["track_uri"].tolist()
    assert sp.tracks["genre"].tolist() == source.tracks["genre"].tolist()
    assert sp.tracks["in_catalog"].all()  # playlist-only tracks became (blank) rows
    assert sp.tracks["genre"].iloc[-3:].tolist() == ["", "", ""]


def test_test_playlists_absent_from_training(source, split):
    info, sp = split
    test_pids = {c.pid for c in sp.challenge}
    assert len(test_pids) == info["num_test_playlists"] == 20
    assert test_pids.isdisjoint(set(sp.pids.tolist()))
    assert test_pids | set(sp.pids.tolist()) <= set(source.pids.tolist())
    assert set(sp.truth) == test_pids


def test_cold_tracks_absent_from_training_and_seeds(source, split):
    info, sp = split
    cold = _cold(sp)
    # 10 % of the 83 tracks in playlists that come from tracks.csv -> round(0.1 * K)
    k = int(((source.popularity > 0) & source.tracks["in_catalog"].to_numpy()).sum())
    assert len(cold) == info["num_cold_tracks"] == round(0.1 * k) > 0
    assert not any(u.startswith("spotify:track:only") for u in cold)
    uris = sp.tracks["track_uri"].to_numpy()
    assert cold.isdisjoint(set(uris[sp.playlist_tracks]))
    for c in sp.challenge:
        assert cold.isdisjoint(c.seed_uris)
    # Cold tracks do show up as held-out tracks, so cold-start recall is measurable.
    assert any(cold & set(t) for t in sp.truth.values())


def test_seeds_plus_holdouts_is_original_playlist(source, split):
    _, sp = split
    src_uris = source.tracks["track_uri"].to_numpy()
    row = _pid_row(source)
    cold = _cold(sp)
    for c in sp.challenge:
        original = list(dict.fromkeys(src_uris[source.playlist(row[c.pid])]))  # dedup, in order
        held = sp.truth[c.pid]
        assert set(c.seed_uris).isdisjoint(held)
        assert sorted(c.seed_uris + held) == sorted(original)
        assert set(original) & cold <= set(held)  # cold tracks only ever held out
        assert len(held) == len(set(held)) == c.num_holdouts >= CFG.min_holdouts
        assert c.num_samples == len(c.seed_uris)
        assert c.num_tracks == c.num_samples + c.num_holdouts


def test_scenarios_match_split_json(source, split):
    info, sp = split
    on_disk = json.loads((sp.root / "split.json").read_text())
    assert on_disk["source"]["fingerprint"] == source.fingerprint
    assert on_disk["scenarios"] == info["scenarios"]
    by_pid = {c.pid: c for c in sp.challenge}
    src_uris = source.tracks["track_uri"].to_numpy()
    row = _pid_row(source)
    cold = _cold(sp)
    counts = [s["num_playlists"] for s in info["scenarios"]]
    assert sum(counts) == len(sp.challenge)
    assert max(counts) - min(counts) <= 1  # balanced: 20 over the supported scenarios
    # Playlists are at most 47 long: the 100-seed scenarios cannot be served.
    assert {"title_first100", "title_random100"} <= set(info["unused_scenarios"])
    for s in info["scenarios"]:
        assert len(s["pids"]) == s["num_playlists"]
        for pid in s["pids"]:
            c = by_pid[pid]
            assert c.num_samples == s["num_samples"]
            assert (c.name is not None) == s["with_title"]
            if s["with_title"]:
                assert c.name == source.playlist_names[row[pid]] != ""
            if not s["shuffled"]:
                # first k distinct non-cold tracks
                original = dict.fromkeys(src_uris[source.playlist(row[pid])])
                warm = [u for u in original if u not in cold]
                assert c.seed_uris == warm[: s["num_samples"]]


def test_training_playlists_are_the_rest_minus_cold(source, split):
    info, sp = split
    cold = _cold(sp)
    src_uris = source.tracks["track_uri"].to_numpy()
    sp_uris = sp.tracks["track_uri"].to_numpy()
    test_pids = {c.pid for c in sp.challenge}
    sp_row = _pid_row(sp)
    kept = dropped = 0
    for i, pid in enumerate(source.pids.tolist()):
        if pid in test_pids:
            continue
        expected = [u for u in src_uris[source.playlist(i)] if u not in cold]
        if len(set(expected)) < 2:
            assert pid not in sp_row
            dropped += 1
        else:
            assert sp_uris[sp.playlist(sp_row[pid])].tolist() == expected
            kept += 1
    assert (kept, dropped) == (info["num_train_playlists"], info["num_dropped_playlists"])


def test_content_files_copied(split):
    _, sp = split
    for rel in ("features.csv", "world.json", "audio/t000.wav", "audio/t001.wav"):
        assert (sp.root / rel).is_file()
    assert (sp.root / "cache/features-v1.npz").read_bytes() == b"npz"
    assert not (sp.root / "validation").exists()


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_deterministic_with_seed(source, split, tmp_path):
    _, sp = split
    make_split(source, tmp_path / "again", CFG)
    assert _files(tmp_path / "again") == _files(sp.root)
    other = make_split(source, tmp_path / "other", SplitConfig(**{**CFG.__dict__, "seed": 8}))
    assert _files(tmp_path / "other") != _files(sp.root)
    assert other["num_test_playlists"] == 20


def test_validation_split_only_from_training(source, split, tmp_path):
    _, sp = split
    cfg = SplitConfig(seed=7, num_val_playlists=8, cold_fraction=0.1)
    val_info = validation_split(sp, tmp_path / "val", cfg)
    val = load_dataset(tmp_path / "val")
    assert val_info["kind"] == "validation" and val_info["config"]["seed"] == 8
    assert val.tracks["track_uri"].tolist() == source.tracks["track_uri"].tolist()
    val_pids = {c.pid for c in val.challenge}
    assert len(val_pids) == 8
    assert val_pids <= set(sp.pids.tolist())  # carved from the split's training playlists
    test_pids = {c.pid for c in sp.challenge}
    assert test_pids.isdisjoint(set(val.pids.tolist()) | val_pids)
    # No test held-out cold track sneaks into validation training or seeds.
    uris = val.tracks["track_uri"].to_numpy()
    seen = set(uris[val.playlist_tracks]) | {u for c in val.challenge for u in c.seed_uris}
    assert _cold(sp).isdisjoint(seen)
    assert _cold(val).isdisjoint(seen)


def test_make_split_writes_validation_folder(source, tmp_path):
    cfg = SplitConfig(seed=1, num_test_playlists=10, num_val_playlists=5, cold_fraction=0.05)
    make_split(source, tmp_path / "s", cfg)
    sp, val = load_dataset(tmp_path / "s"), load_dataset(tmp_path / "s" / "validation")
    assert len(val.challenge) == 5
    assert {c.pid for c in val.challenge} <= set(sp.pids.tolist())
    assert (tmp_path / "s" / "validation" / "audio" / "t000.wav").is_file()


def test_fraction_and_errors(source, tmp_path):
    info = make_split(source, tmp_path / "f", SplitConfig(num_test_playlists=0.25))
    assert info["num_test_playlists"] == 15  # round(0.25 * 60)
    only_long = SplitConfig(scenarios=[Scenario("first100", 100, False, False)])
    with pytest.raises(ValueError, match="no playlist supports"):
        make_split(source, tmp_path / "g", only_long)
    assert not (tmp_path / "g").exists()  # nothing half-written
    with pytest.raises(ValueError, match="cold_fraction"):
        SplitConfig(cold_fraction=1.5)
    with pytest.raises(ValueError, match="shows nothing"):
        SplitConfig(scenarios=[("blind", 0, False, False)])
    with pytest.warns(UserWarning, match="only"):
        make_split(source, tmp_path / "h", SplitConfig(num_test_playlists=59))


def test_assign_scenarios_balanced():
    # 3 scenarios over 12 playlists: s0 supported by all, s1 and s2 (identical support) by 0-2.
    support = np.zeros((3, 12), bool)
    support[0] = True
    support[1, :3] = support[2, :3] = True
    assigned = _assign_scenarios(support, n_test=9, rank=np.arange(12))
    # s1/s2 share playlists 0-2: ceil(3 / 2) = 2 for s1, then 1 left for s2;
    # s0 gets the shortfall: 9 - 2 - 1 = 6, lowest ranks first (3..8).
    assert assigned.tolist() == [1, 1, 2, 0, 0, 0, 0, 0, 0, -1, -1, -1]
    # Plenty of support: an equal share each.
    counts = np.bincount(_assign_scenarios(np.ones((4, 100), bool), 10, np.arange(100)) + 1)
    assert counts.tolist() == [90, 3, 3, 2, 2]


def test_default_scenarios_are_recsys18():
    assert len(RECSYS18_SCENARIOS) == 10
    assert [s.num_samples for s in RECSYS18_SCENARIOS] == [0, 1, 5, 5, 10, 10, 25, 25, 100, 100]
    assert sum(s.shuffled for s in RECSYS18_SCENARIOS) == 2
    assert sum(not s.with_title for s in RECSYS18_SCENARIOS) == 2

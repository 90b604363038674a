import numpy as np
import pytest

from musig.mpd import ChallengePlaylist
from musig.submission import complete_challenge, write_submission

EMB = np.array(
    [[1, 0], [1, 0.1], [0.9, 0.2], [0, 1], [-1, 0], [0, -1], [0.1, 1], [-0.1, 1]], np.float32
)
# Track 7 is a catalog track in no training playlist (popularity 0) that the method embeds.
POP = np.array([5, 4, 3, 9, 1, 2, 6, 0])
BY_POPULARITY = [3, 6, 0, 1, 2, 5, 4, 7]


def _uri(i: int) -> str:
    return f"spotify:track:{i:03d}"


def _playlist(pid: int, seeds: list[str], name: str | None = "mix") -> ChallengePlaylist:
    return ChallengePlaylist(pid, name, 5, len(seeds), len(seeds) + 5, seeds)


CHALLENGE = [
    _playlist(10, [_uri(0), _uri(1)]),
    _playlist(11, []),  # title only
    _playlist(12, ["spotify:track:unknown", _uri(7)]),
    _playlist(13, ["spotify:track:gone"], name=None),  # no usable seed
]


@pytest.fixture
def run(make_run):
    return make_run(EMB, POP)


def test_complete_challenge(run):
    with pytest.warns(UserWarning, match="2 seed track"):
        recs = complete_challenge(run, CHALLENGE, k=3)
    assert list(recs) == [10, 11, 12, 13]
    # Around (1, 0.05): track 2 is closest, then 6 and 3 (both near the y axis).
    assert recs[10] == [_uri(i) for i in (2, 6, 3)]
    assert recs[11] == [_uri(i) for i in BY_POPULARITY[:3]]
    # The cold seed (track 7) is used: its acoustic neighbours, not the popularity order.
    assert recs[12] == [_uri(i) for i in (3, 6, 2)]
    assert recs[13] == [_uri(i) for i in BY_POPULARITY[:3]]


def test_submission_file_format(run, tmp_path):
    out = tmp_path / "sub" / "submission.csv"
    with pytest.warns(UserWarning, match="not in the run's catalog"):
        n = write_submission(run, CHALLENGE, out, team="team x", email="x@example.org", k=4)
    assert n == len(CHALLENGE)
    lines = out.read_text().splitlines()
    assert lines[0] == "team_info,team x,x@example.org"
    assert len(lines) == 1 + len(CHALLENGE)
    rows = {}
    for line in lines[1:]:
        pid, *uris = line.split(", ")
        rows[int(pid)] = uris
    assert sorted(rows) == [10, 11, 12, 13]
    for pl in CHALLENGE:
        uris = rows[pl.pid]
        assert len(uris) == len(set(uris)) == 4
        assert not set(uris) & set(pl.seed_uris)  # seeds never recommended
        assert all(u.startswith("spotify:track:") for u in uris)
    assert rows[11] == [_uri(i) for i in BY_POPULARITY[:4]]


def test_k_larger_than_catalog(run, tmp_path):
    out = tmp_path / "submission.csv"
    write_submission(run, CHALLENGE[:2], out, team="t", email="e", k=500)
    rows = [line.split(", ") for line in out.read_text().splitlines()[1:]]
    # Every row has the same width: the catalog minus the most seeds of any playlist.
    assert [len(r) - 1 for r in rows] == [len(EMB) - 2, len(EMB) - 2]
    assert set(rows[0][1:]) == {_uri(i) for i in range(2, 8)}


def test_popularity_run(make_run, tmp_path):
    run = make_run(None, POP, method="popularity")
    recs = complete_challenge(run, CHALLENGE[:2], k=3)
    assert recs[10] == [_uri(i) for i in (3, 6, 2)]  # seeds 0 and 1 skipped
    assert recs[11] == [_uri(i) for i in BY_POPULARITY[:3]]


def test_commas_refused(run, tmp_path):
    with pytest.raises(ValueError, match="commas"):
        write_submission(run, CHALLENGE, tmp_path / "s.csv", team="a,b", email="e")
    assert not (tmp_path / "s.csv").exists()

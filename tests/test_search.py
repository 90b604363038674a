"""Track search by name: words anywhere in name or artist, any case, best ranked first."""

from __future__ import annotations

import time

import numpy as np
import pytest

from musig.search import TrackSearch


@pytest.fixture(scope="module")
def small():
    names = ["Blue Monday", "Monday Morning", "blue moon", "Ünïcode Song", "Red", "Moon River"]
    artists = ["New Order", "Fleetwood", "Sinatra", "Ümlaut", "Blue Band", "Mancini"]
    return TrackSearch(names, artists, np.array([5, 9, 5, 1, 0, 7]))


def test_words_match_name_or_artist_in_any_case(small):
    assert small.find("monday").tolist() == [1, 0]  # popularity 9 before 5
    assert small.find("BLUE").tolist() == [0, 2, 4]  # ties (5, 5) by id; the artist matches too
    assert small.find("blue moon").tolist() == [2]  # every word must match
    assert small.find("moon sinatra").tolist() == [2]  # across name and artist
    assert small.find("ünï").tolist() == [3]
    assert small.find("").tolist() == [] and small.find("   ").tolist() == []
    assert small.find("zzz").tolist() == []


def test_limit_keeps_the_best_ranked(small):
    assert small.find("o", limit=2).tolist() == [1, 5]
    ranks = np.array([3, 3, 3, 3, 2, 3])
    tied = TrackSearch(["x"] * 6, ["y"] * 6, ranks)
    assert tied.find("x", limit=3).tolist() == [0, 1, 2]  # equal ranks: lowest ids
    assert tied.find("x", limit=0).tolist() == []


def test_a_large_catalog_is_searched_in_well_under_a_second():
    rng = np.random.default_rng(0)
    syllables = np.array(["ka", "lo", "mi", "ra", "ne", "tu", "zo", "bi", "fa", "el"])
    n = 200_000
    words = syllables[rng.integers(0, len(syllables), (n, 4))]
    names = [a + b + " " + c + d for a, b, c, d in words]
    search = TrackSearch(names, ["artist"] * n, rng.random(n))
    start = time.perf_counter()
    ids = search.find("kalo")
    took = time.perf_counter() - start
    assert len(ids) == 50 and all("kalo" in names[i] for i in ids)
    assert np.all(np.diff(search._rank[ids]) <= 0)
    assert took < 1.0, took

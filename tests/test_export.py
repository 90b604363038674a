import numpy as np
import pandas as pd
import pytest

from musig.export import embedding_frame, export_run

EMB = np.arange(15, dtype=np.float32).reshape(5, 3) / 7.0
MASK = np.array([True, False, True, True, False])
POP = np.array([3, 1, 0, 2, 5])


@pytest.fixture
def run(make_run):
    # A tab and a newline in track names: the TSV must still have one line per vector.
    names = ["song 0", "bad\tname", "two\nlines", "song 3", "song 4"]
    return make_run(EMB, POP, MASK, names=names)


def test_embedding_frame_has_only_embedded_tracks(run):
    frame = embedding_frame(run)
    assert frame.columns.tolist() == [
        "track_uri",
        "track_name",
        "artist_name",
        "genre",
        "e0",
        "e1",
        "e2",
    ]
    assert frame["track_uri"].tolist() == [run.track_uris[i] for i in (0, 2, 3)]
    np.testing.assert_array_equal(frame[["e0", "e1", "e2"]].to_numpy(), EMB[MASK])


def test_parquet(run, tmp_path):
    out = export_run(run, tmp_path / "sub" / "emb.parquet", "parquet")
    frame = pd.read_parquet(out)
    assert len(frame) == MASK.sum()
    assert frame["track_name"].tolist() == ["song 0", "two\nlines", "song 3"]
    assert frame["e0"].dtype == np.float32
    np.testing.assert_array_equal(frame[["e0", "e1", "e2"]].to_numpy(), EMB[MASK])


def test_tsv_for_the_embedding_projector(run, tmp_path):
    out = export_run(run, tmp_path / "projector", "tsv")
    vectors = np.loadtxt(out / "vectors.tsv", delimiter="\t", ndmin=2)
    assert vectors.shape == (MASK.sum(), 3)
    np.testing.assert_allclose(vectors, EMB[MASK], atol=1e-6)
    lines = (out / "metadata.tsv").read_text().splitlines()
    assert lines[0] == "track_uri\ttrack_name\tartist_name\tgenre"
    assert len(lines) == 1 + MASK.sum()  # header + one row per vector, same order
    assert all(len(line.split("\t")) == 4 for line in lines)
    assert lines[1].split("\t")[:2] == [run.track_uris[0], "song 0"]
    assert lines[2].split("\t")[1] == "two lines"


def test_tsv_replaces_an_old_export_but_not_other_folders(run, tmp_path):
    out = export_run(run, tmp_path / "projector", "tsv")
    (out / "vectors.tsv").write_text("stale\n")
    export_run(run, out, "tsv")
    assert len((out / "vectors.tsv").read_text().splitlines()) == MASK.sum()

    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a TSV export"):
        export_run(run, precious, "tsv")
    assert (precious / "thesis.txt").read_text() == "keep"


def test_errors(run, make_run, tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'csv'"):
        export_run(run, tmp_path / "x.csv", "csv")
    with pytest.raises(ValueError, match="is a folder"):
        export_run(run, tmp_path, "parquet")
    popularity = make_run(None, POP, method="popularity")
    with pytest.raises(ValueError, match="'popularity' has no embeddings"):
        export_run(popularity, tmp_path / "p.parquet", "parquet")
    assert not (tmp_path / "p.parquet").exists()

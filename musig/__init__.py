"""musig: multi-task graph-based inductive representations of music tracks (MUSIG).

Public API (imports are deferred so ``import musig`` does no work):
    load_dataset(path) -> Dataset            dataset folder (MPD slices, tracks.csv, ...)
    train_run(data, method, out, ...) -> Path  train a method into a run folder
    load_run(path, dataset=None) -> Run      embeddings, recommend(), embed_audio()
"""

from musig._version import __version__

__all__ = ["load_dataset", "load_run", "train_run", "__version__"]


def __getattr__(name):
    if name == "load_dataset":
        from musig.data import load_dataset

        return load_dataset
    if name == "load_run":
        from musig.runs import load_run

        return load_run
    if name == "train_run":
        from musig.pipeline import train_run

        return train_run
    raise AttributeError(f"module 'musig' has no attribute {name!r}")

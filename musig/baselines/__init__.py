"""Baselines compared with MUSIG; every one produces the shared embedding artefact.

``BASELINES`` maps a method name to ``(ConfigClass, fit)``, where ``fit(ctx, cfg)`` returns a
``musig.methods.MethodResult``. Heavy dependencies (implicit, gensim) are imported inside ``fit``.
"""

from __future__ import annotations

from collections.abc import Callable

from musig.baselines import als, content, deepwalk, item2vec, node2vec, popularity

BASELINES: dict[str, tuple[type, Callable]] = {
    "popularity": (popularity.PopularityConfig, popularity.fit),
    "als": (als.ALSConfig, als.fit),
    "item2vec": (item2vec.Item2VecConfig, item2vec.fit),
    "deepwalk": (deepwalk.DeepWalkConfig, deepwalk.fit),
    "node2vec": (node2vec.Node2VecConfig, node2vec.fit),
    "content": (content.ContentConfig, content.fit),
}

__all__ = ["BASELINES"]

"""Baselines compared with MUSIG, one module each; every one produces the shared embedding
artefact through ``fit(ctx, cfg, callback=None)`` (:mod:`musig.fitting`) and is registered in
:mod:`musig.methods`. Heavy dependencies (implicit, gensim) are imported inside ``fit``.
"""

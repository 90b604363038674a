"""glibc heap settings under which a long training run keeps a flat memory footprint.

torch allocates every tensor 64-byte aligned (``posix_memalign``). glibc serves such a request
by splitting a small chunk off the front of a larger one, and its per-thread cache (tcache) keeps
those small chunks as if they were in use: the large chunks around them never coalesce, so the
tensors a training step frees leave holes that the next step's tensors, of other sizes, do not
fit. Measured with ``python -m benchmarks.bench_memory`` (MUSIG on 100k playlists, 200 steps):
resident memory 7.1 GB and rising by about 1 GB every 100 steps with the cache, 3.7 GB and flat
without it. ``malloc_trim`` from the training loop also bounds it, but crashed the two-process
DDP tests (glibc 2.36, gloo's threads allocating meanwhile); a tunable is read once, at start.

``python -m musig`` restarts itself with :data:`TUNABLES` (:mod:`musig.__main__`); a
``GLIBC_TUNABLES`` that sets ``tcache_count`` already is left as it is (``...=7``: glibc's
default back). A server that trains in its own process (the app) takes them from its start
command, as the README shows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# The cache off; and with it, thresholds that keep freed memory in the heap for reuse instead of
# handing it back and faulting it in again the next step (without them a step took 0.55 s
# instead of 0.41 s): arrays from 32 MB on are mapped on their own (glibc's largest default),
# up to 1 GB free at the heap's top is kept, and the heap grows 64 MB at a time.
TUNABLES = (
    "glibc.malloc.tcache_count=0:glibc.malloc.mmap_threshold=33554432"
    ":glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864"
)


def heap_env(environ: Mapping[str, str]) -> dict[str, str] | None:
    """``environ`` with :data:`TUNABLES` added to ``GLIBC_TUNABLES``; None when the C library is
    not glibc or ``tcache_count`` is set already."""
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # not a glibc system
        return None
    have = environ.get("GLIBC_TUNABLES", "")
    if not libc.startswith("glibc") or "glibc.malloc.tcache_count" in have:
        return None
    return {**environ, "GLIBC_TUNABLES": f"{have}:{TUNABLES}" if have else TUNABLES}

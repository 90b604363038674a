"""Check that two ``evaluate`` outputs of the same split agree exactly (same seed, fresh runs).

    python -m benchmarks.same_numbers results/sample results/sample_again

Prints, per method present in both, the largest absolute difference over every overall and
per-scenario metric and the cold-start recall, and exits non-zero if any differs.
"""

from __future__ import annotations

import argparse
import json
from math import inf
from pathlib import Path


def _leaves(tree, prefix=""):
    """(path, number) pairs of a nested results dict."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f"{prefix}/{k}")
    elif isinstance(tree, int | float):
        yield prefix, float(tree)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    args = p.parse_args()
    a, b = (json.loads((d / "results.json").read_text()) for d in (args.a, args.b))
    worst = 0.0
    for method in [m for m in a["methods"] if m in b["methods"]]:
        pairs = [
            (x, y)
            for part in ("overall", "per_scenario", "cold_start")
            for (_, x), (_, y) in zip(
                _leaves(a[part][method]), _leaves(b[part][method]), strict=True
            )
        ]
        # Both NaN (no cold tracks held out) counts as equal; NaN against a number does not.
        diffs = [
            0.0 if x != x and y != y else abs(x - y) if x == x and y == y else inf for x, y in pairs
        ]
        print(f"{method:>26}: {len(diffs)} numbers, max |difference| {max(diffs):.2e}")
        worst = max(worst, max(diffs))
    print("identical" if worst == 0 else "DIFFERENT")
    return int(worst != 0)


if __name__ == "__main__":
    raise SystemExit(main())
